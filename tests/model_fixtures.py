"""A tiny, randomly initialized model saved the way the shipped one is, for tests of the
Summarizer, the batch CLI and the app. Its summaries are noise; the plumbing is real."""

from __future__ import annotations

import random
from pathlib import Path

from summarizer import TerraformerConfig, TerraformerForConditionalGeneration
from summarizer.model.tokenizer import train_tokenizer
from summarizer.seed import set_seed
from tests.cohan_fixtures import WORDS


def save_tiny_model(path: Path, max_input_tokens: int = 96) -> Path:
    """Write a tiny Terraformer + tokenizer to `path` (save_pretrained format); return it."""
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=60)) for _ in range(200)]
    tokenizer = train_tokenizer(texts, vocab_size=320)
    set_seed(0)
    config = TerraformerConfig.preset(
        "tiny", vocab_size=len(tokenizer), max_input_tokens=max_input_tokens
    )
    model = TerraformerForConditionalGeneration(config).eval()
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
