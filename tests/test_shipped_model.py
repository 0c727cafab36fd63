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
