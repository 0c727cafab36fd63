"""The model in checkpoints/default, as a user gets it: loads, has its salience model and
sentence rewriter, and summarizes in every mode."""

from __future__ import annotations

import pytest

from data.normalize import cohan_style
from data.sentences import split_sentences
from summarizer.api import Summarizer
from summarizer.paths import REPO_ROOT, default_model_dir
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
    # Rated by hand (fluency.json, model card "Fluency, rated by hand"): shown with its rating.
    assert result.warning.startswith("Not yet fluent: rated by hand, 30%")


def test_shipped_rewriter_rewrites_key_sentences_from_their_sources(shipped, monkeypatch):
    from summarizer.api import MIN_CONDITIONING_GAP
    from summarizer.rewriter import PICK_FACTOR

    monkeypatch.setattr("summarizer.api.REWRITE_ABOVE", 0)  # every key sentence, long or not

    assert shipped.modes == ["extractive", "rewritten", "abstractive"]
    assert shipped.rewriter_gap >= MIN_CONDITIONING_GAP  # rewriter/conditioning.json
    result = shipped.summarize(PAPER, mode="rewritten", length="short")
    assert result.warning == "" and "rewrite" in result.seconds
    picked = shipped.salience.extract(
        split_sentences(cohan_style(PAPER)), round(PICK_FACTOR * 72)
    )  # what "short" (72 words) hands the rewriter
    lines = result.summary.splitlines()
    assert lines and len(result.summary.split()) <= sum(len(s.split()) for s in picked)
    assert all(s.supported for s in result.sources)  # each mostly its source's words


def test_shipped_terraformer_reads_its_paper(tmp_path, monkeypatch):
    """The loss of an abstract is clearly lower when the model reads that abstract's paper
    than another one (benchmarks/conditioning.py on 4 + 4 validation papers), and its
    recorded gap lets its written summaries go out without the experimental label."""
    import json

    from benchmarks.conditioning import main as conditioning
    from summarizer.api import MIN_CONDITIONING_GAP, read_conditioning_gap

    shared = REPO_ROOT.parent / "shared" / "data"
    data = [str(shared / source / "val.jsonl.gz") for source in ("arxiv", "pubmed")]
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "conditioning.json"
    model = str(default_model_dir())
    assert conditioning(["--model", model, "--data", *data, "--limit", "4", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["gap"] >= MIN_CONDITIONING_GAP
    assert read_conditioning_gap(default_model_dir()) >= MIN_CONDITIONING_GAP


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
            [-11.1262, -12.4933, -12.1872, -11.1158],
            [-10.9617, -11.2858, -8.4497, -10.9316],
            [-14.3959, -11.6814, -14.3719, -14.3918],
        ]
    )
    torch.testing.assert_close(logits[0, :3, :4], expected, atol=2e-3, rtol=0)
    assert logits[0].argmax(-1).tolist() == [402, 4372, 2784, 9930, 11518, 10724]
