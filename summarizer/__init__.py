"""Long-document summarization of scientific papers with a Terraformer encoder-decoder.

`summarizer.model` is the Terraformer, `summarizer.training` makes models, and the modules here
are the product built on them: the `Summarizer` (api), extractive models, batch and the CLI.

The model classes are loaded on first use (importing them registers the model with
transformers' Auto classes), so that `python -m summarizer --help` does not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["PRESETS", "TerraformerConfig", "TerraformerForConditionalGeneration"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("summarizer.model"), name)
    raise AttributeError(f"module 'summarizer' has no attribute {name!r}")
