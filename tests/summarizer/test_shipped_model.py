"""The model in checkpoints/default, as a user gets it: loads, has its salience model, and
summarizes in both modes."""

from __future__ import annotations

import pytest

from data.normalize import cohan_style
from data.sentences import split_sentences
from summarizer.api import Summarizer
from summarizer.paths import default_model_dir
from summarizer.readable import readable

PAPER = """Sparse attention for long scientific documents

Introduction
Transformers read long documents slowly because attention compares every pair of tokens.
In this paper we propose a sparse attention scheme that hashes similar tokens into buckets.
We show that summaries of long scientific papers keep their quality while memory stays flat.

Method
Each token is hashed with random rotations, and attention runs within each bucket only.
Reversible layers recompute activations in the backward pass, so memory does not grow with depth.
The feed-forward layers activate one unit per block, which makes decoding faster.

Results
On arXiv and PubMed papers the model reads sixteen thousand tokens on one processor.
Our results show that the sparse model matches its dense twin in perplexity.
Decoding is faster than with dense layers of the same size.
"""


@pytest.fixture(scope="module")
def shipped() -> Summarizer:
    return Summarizer.from_pretrained()


def test_shipped_model_defaults_to_key_sentences(shipped):
    assert default_model_dir().name == "default"
    assert shipped.salience is not None and shipped.defaults.mode == "extractive"
    result = shipped.summarize(PAPER, length="short")
    chosen = result.summary.splitlines()
    sentences = [readable(s) for s in split_sentences(cohan_style(PAPER))]
    assert chosen and set(chosen) <= set(sentences)
    assert 40 <= len(result.summary.split()) <= 72 + 25  # the short budget, one sentence over
    assert not result.shortened and "extract" in result.seconds


def test_shipped_model_also_writes_abstractive_summaries(shipped):
    result = shipped.summarize(PAPER, mode="abstractive", length=24)
    assert result.summary.strip() and "generate" in result.seconds
    assert result.summary not in PAPER  # new text, not a copied sentence


def test_shipped_weights_give_the_recorded_logits():
    """A slice of the shipped model's logits, recorded when it was exported (transformers'
    `expected_slice` habit): numeric drift after a torch or transformers upgrade, or a change
    to the model code that alters what trained weights compute, fails here."""
    import torch

    from summarizer.model import TerraformerForConditionalGeneration

    model = TerraformerForConditionalGeneration.from_pretrained(
        default_model_dir(), dtype=torch.float32
    ).eval()
    ids = (torch.arange(40) * 397 % 16000 + 5)[None]
    targets = (torch.arange(6) * 1013 % 16000 + 5)[None]
    with torch.no_grad():
        logits = model(input_ids=ids, decoder_input_ids=targets).logits
    expected = torch.tensor(
        [
            [-3.7077, -0.5244, -0.2536, -3.7381],
            [-1.8472, 0.7022, 0.5205, -1.8545],
            [-3.0863, -0.7799, -2.3688, -3.1267],
        ]
    )
    torch.testing.assert_close(logits[0, :3, :4], expected, atol=2e-3, rtol=0)
    assert logits[0].argmax(-1).tolist() == [334, 1018, 261, 3044, 334, 334]
