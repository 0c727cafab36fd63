"""A tiny model saved the way the shipped one is, for tests of the Summarizer, the batch CLI and
the app. The plumbing is real, and so is the model's dependence on its input: it is trained
for a few seconds to copy the opening words of what it reads (with the copy head, which learns
that quickly). An untrained model writes its start token forever, so tests comparing its
summaries would compare empty strings, and tests of "each caller gets its own summary" could
not fail."""

from __future__ import annotations

import functools
import random
import string
import zlib
from pathlib import Path

import torch
from torch import nn

from summarizer import TerraformerConfig, TerraformerForConditionalGeneration
from summarizer.model.tokenizer import train_tokenizer
from summarizer.salience import SalienceModel
from summarizer.seed import set_seed
from tests.cohan_fixtures import WORDS

COPY_STEPS = 300  # enough for greedy decoding to reproduce an input's first words


def save_tiny_model(path: Path, max_input_tokens: int = 96) -> Path:
    """Write the tiny Terraformer + tokenizer to `path` (save_pretrained format); return it."""
    model, tokenizer = trained_tiny_model()
    model.config.max_input_tokens = max_input_tokens
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@functools.cache
def trained_tiny_model():
    """The tiny model and its tokenizer, trained once per test process."""
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=60)) for _ in range(200)]
    tokenizer = train_tokenizer(texts, vocab_size=320)
    # Words the tokenizer never saw come apart into letters. Copying texts where half the words
    # are made up teaches the model to copy those pieces too: after 300 steps it copies the
    # first 12 tokens of 15-16 in 20 texts of made-up words (0 without them; 19 in 20 texts of
    # WORDS either way; session 25, two seeds).
    texts += [" ".join(made_up_word(rng) if rng.random() < 0.5 else rng.choice(WORDS)
                       for _ in range(40)) for _ in range(600)]  # fmt: skip
    set_seed(0)
    config = TerraformerConfig.preset(
        "tiny",
        vocab_size=len(tokenizer),
        encoder_attention="full",
        decoder_attention="full",
        copy_attention=True,
        dropout=0.0,
        ff_dropout=0.0,
    )
    model = TerraformerForConditionalGeneration(config)
    learn_to_copy(model, tokenizer, texts, COPY_STEPS)
    return model, tokenizer


def made_up_word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9)))


def learn_to_copy(model, tokenizer, texts: list[str], steps: int) -> None:
    """Train `model` to write the first 12 tokens of its input (then eval mode)."""
    batch = tokenizer(texts, truncation=True, max_length=32, padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    labels = ids[:, :12].masked_fill(mask[:, :12] == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        rows = torch.randint(0, len(ids), (16,), generator=generator)
        loss = model(input_ids=ids[rows], attention_mask=mask[rows], labels=labels[rows]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def salience_preferring(word: str) -> SalienceModel:
    """A salience model that only cares whether a sentence says `word`."""
    model = SalienceModel()
    nn.init.zeros_(model.mlp[-1].weight)
    nn.init.zeros_(model.mlp[-1].bias)
    model.words.weight.data[zlib.crc32(word.encode()) % model.config.hash_buckets] = 10.0
    return model.eval()
