"""Long-document summarization of scientific papers with a Terraformer encoder-decoder.

`summarizer.model` is the Terraformer, `summarizer.training` makes models, and the modules here
are the product built on them: the `Summarizer` (api), extractive models, batch and the CLI.
"""

from summarizer.model import PRESETS, TerraformerConfig, TerraformerForConditionalGeneration

__all__ = ["PRESETS", "TerraformerConfig", "TerraformerForConditionalGeneration"]
