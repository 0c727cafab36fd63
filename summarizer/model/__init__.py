"""The Terraformer itself: configuration, model, layers, parameter sizing and tokenizer.

Imports torch and Hugging Face libraries only; nothing here knows about documents or summaries.
"""

from transformers import AutoConfig, AutoModelForSeq2SeqLM

from summarizer.model.configuration import PRESETS, TerraformerConfig
from summarizer.model.modeling import TerraformerForConditionalGeneration

# Registration happens on import, so AutoModelForSeq2SeqLM.from_pretrained(dir) works offline
# for any directory written by save_pretrained.
AutoConfig.register(TerraformerConfig.model_type, TerraformerConfig, exist_ok=True)
AutoModelForSeq2SeqLM.register(
    TerraformerConfig, TerraformerForConditionalGeneration, exist_ok=True
)

__all__ = ["PRESETS", "TerraformerConfig", "TerraformerForConditionalGeneration"]
