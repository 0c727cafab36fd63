"""The sentence rewriter (Chen & Bansal 2018): a Terraformer trained on pairs of an article
sentence and the abstract sentence that holds most of it (eval/pairs.py,
configs/rewriter-cpu.toml) rewrites each key sentence as an abstract would say it.

It lives in a model folder's `rewriter/` subfolder, a model folder of its own (`export` writes
one); the Summarizer's "rewritten" mode picks the key sentences with the folder's salience
model and has the rewriter write each of them again.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import LogitsProcessorList

from summarizer.model.modeling import TerraformerForConditionalGeneration
from summarizer.model.tokenizer import load_tokenizer
from summarizer.paths import REWRITER_DIR
from summarizer.settings import GenerationSettings
from summarizer.vocabulary import PaperWords, token_pieces

# The most tokens one rewritten sentence may have (the training targets: at most 96).
MAX_SENTENCE_TOKENS = 96
# Rewrites are shorter than their sources (the training pairs: median 21 words against 33), so
# the rewritten mode picks key sentences for this many times its word budget.
PICK_FACTOR = 1.5


class Rewriter:
    """A sentence-rewriting model and its tokenizer."""

    def __init__(self, model: TerraformerForConditionalGeneration, tokenizer):
        self.model = model.eval()
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, model_dir: str | os.PathLike) -> Rewriter:
        """The rewriter of a model folder (its REWRITER_DIR)."""
        path = Path(model_dir) / REWRITER_DIR
        model = TerraformerForConditionalGeneration.from_pretrained(path, dtype=torch.float32)
        return cls(model, load_tokenizer(path))

    def rewrite(
        self, sentences: list[str], settings: GenerationSettings, paper: str | None = None
    ) -> list[str]:
        """Each sentence (the training data's style) rewritten, in the same order: one batch,
        searched with `settings`' beams, repeat and length penalties. With
        settings.paper_words, only words of `paper` (default: the sentences) and common
        words of abstracts, and only its numbers, are written. A rewrite may be empty."""
        if not sentences:
            return []
        batch = self.tokenizer(
            sentences,
            padding=True,
            truncation=True,
            max_length=self.model.config.max_input_tokens,
            return_tensors="pt",
        )
        processors = LogitsProcessorList()
        constraint = None
        if settings.paper_words:
            pieces = token_pieces(self.tokenizer)
            text = paper or " ".join(sentences)
            constraint = PaperWords.for_paper(pieces, text, 1 + MAX_SENTENCE_TOKENS)
            processors.append(constraint)
        search = {
            **settings.generate_kwargs(),
            "max_new_tokens": MAX_SENTENCE_TOKENS,
            "min_new_tokens": 0,  # the summary's minimum is not a sentence's
        }
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                logits_processor=processors,
                **search,
            )
        written = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        if constraint is not None:
            written = [constraint.trim(text) for text in written]
        return [" ".join(text.split()) for text in written]
