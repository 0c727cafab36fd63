"""Long-document summarization of scientific papers with a Terraformer encoder-decoder."""

from transformers import AutoConfig, AutoModelForSeq2SeqLM

from summarizer.configuration import PRESETS, TerraformerConfig
from summarizer.modeling import TerraformerForConditionalGeneration

# Registration happens on import, so AutoModelForSeq2SeqLM.from_pretrained(dir) works offline
# for any directory written by save_pretrained.
AutoConfig.register(TerraformerConfig.model_type, TerraformerConfig, exist_ok=True)
AutoModelForSeq2SeqLM.register(
    TerraformerConfig, TerraformerForConditionalGeneration, exist_ok=True
)

__all__ = ["PRESETS", "TerraformerConfig", "TerraformerForConditionalGeneration"]
