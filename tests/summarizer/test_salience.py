"""The sentence-salience model: oracle labels, features, training, picking, saving."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from nltk.stem import porter
from rouge_score import tokenize

from eval.oracle import oracle_indices, rouge_tokens
from summarizer import salience
from summarizer.cli import main
from summarizer.salience import (
    FEATURES,
    SalienceConfig,
    SalienceModel,
    pick,
    sentence_inputs,
)
from summarizer.training.salience import SalienceTraining, train_salience
from tests.cohan_fixtures import WORDS

CUE = "in this paper we propose"
TERMS = [w for w in WORDS if w != "."]  # so each sentence stays one sentence


def cued_record(i: int, rng: random.Random) -> dict:
    """A paper of random sentences; its abstract repeats the two that carry the cue phrase,
    placed anywhere, so only the words (not the position) tell the summary sentences."""
    sentences = [" ".join(rng.choices(TERMS, k=rng.randint(8, 14))) + " ." for _ in range(16)]
    for j in rng.sample(range(16), 2):
        sentences[j] = f"{CUE} {sentences[j]}"
    abstract = [s for s in sentences if s.startswith(CUE)]
    return {
        "article_id": f"cued-{i}",
        "article_text": sentences,
        "abstract_text": [f"<S> {s} </S>" for s in abstract],
        "section_names": [],
        "sections": [],
    }


def test_rouge_tokens_are_rouge_scores():
    text = "Sparse attention LEARNS faster; the models' summaries (2021) are @xmath3 better."
    assert rouge_tokens(text) == tokenize.tokenize(text, porter.PorterStemmer())


def test_oracle_picks_the_sentences_the_reference_repeats():
    sentences = [
        "the weather was cold and grey all week .",
        "sparse attention halves the cost of long inputs .",
        "our students enjoyed the lectures .",
        "reversible layers keep memory flat with depth .",
    ]
    reference = "sparse attention halves the cost of long inputs . reversible layers keep memory"
    assert oracle_indices(sentences, reference) == [1, 3]
    assert oracle_indices(sentences, "nothing in common here") == []


def test_sentence_inputs_describe_each_sentence():
    sentences = ["a b c d .", "a b e f g h .", "x y z .", "a b c q ."]
    batch = sentence_inputs(sentences, SalienceConfig())
    assert batch.features.shape == (4, len(FEATURES))
    assert np.isfinite(batch.features).all()
    assert list(batch.features[:, 0]) == [0, 1 / 3, 2 / 3, 1]  # relative position
    centrality = batch.features[:, FEATURES.index("LexRank centrality x sentences")]
    assert centrality.sum() == pytest.approx(4)
    assert centrality[2] == centrality.min()  # shares no word with the others
    assert list(batch.offsets) == sorted(batch.offsets) and batch.offsets[0] == 0
    assert len(batch.hashes) >= sum(len(s.split()) for s in sentences)


def test_pick_keeps_the_budget_document_order_and_no_repeats():
    sentences = [f"{w} sentence {w} has number {w} ." for w in "abcdef"]  # 7 tokens each
    sentences[4] = sentences[1].replace(" .", " again .")  # says what sentence 1 says
    scores = np.array([0.0, 5.0, 1.0, 4.0, 4.5, 3.0])
    assert pick(sentences, scores, max_words=14) == [sentences[1], sentences[3]]
    assert pick(sentences, scores, max_words=15) == [sentences[1], sentences[3]]  # 21 > 16.5
    assert pick(sentences, scores, max_words=20) == [sentences[1], sentences[3], sentences[5]]
    assert pick([], np.zeros(0), 10) == []
    fragments = ["( fig . 2 ) .", "this sentence is long enough to be kept .", "and ) ."]
    assert pick(fragments, np.array([9.0, 1.0, 8.0]), 20) == [fragments[1]]
    assert pick(fragments[::2], np.array([1.0, 2.0]), 3) == ["and ) ."]  # nothing longer
    # Cohan's bibliography debris, which the readable text drops, is no word.
    debris = "@noop * * , @noop , @noop @startlink @noop * * , @noop , @noop @endlink ."
    math = "the energy @xmath0 is @xmath1 @xcite ."  # formulas are
    assert pick([debris, math, fragments[1]], np.array([9.0, 8.0, 1.0]), 30) == [math, fragments[1]]


def write_cued(path, n: int):
    rng = random.Random(0)
    path.write_text("\n".join(json.dumps(cued_record(i, rng)) for i in range(n)) + "\n")
    return str(path)


def test_training_learns_what_the_oracle_marks(tmp_path):
    data = write_cued(tmp_path / "train.jsonl", 60)
    settings = SalienceTraining(
        data=[data], out=str(tmp_path / "m"), epochs=15, batch_sentences=64, workers=1
    )
    result = train_salience(settings)
    assert result["documents"] == 60 and result["sentences"] == 60 * 16
    assert result["loss"][-1] < 0.5 * result["loss"][0]
    model = SalienceModel.load(tmp_path / "m")
    found = 0
    for k in range(10):  # unseen papers: are the two cued sentences the two best?
        sentences = cued_record(100 + k, random.Random(k))["article_text"]
        top = np.argsort(-model.score(sentences))[:2]
        found += all(sentences[i].startswith(CUE) for i in top)
    assert found >= 9


def test_train_salience_command_writes_the_model(tmp_path, capsys):
    data = write_cued(tmp_path / "train.jsonl", 8)
    out = tmp_path / "model"
    code = main(["train-salience", "--data", data, "--out", str(out), "--epochs", "1",
                 "--workers", "2"])  # fmt: skip
    assert code == 0
    assert "trained on 8 papers (128 sentences)" in capsys.readouterr().out
    sentences = cued_record(0, random.Random(5))["article_text"]
    assert len(SalienceModel.load(out).score(sentences)) == len(sentences)


def test_long_documents_are_scored_in_blocks(monkeypatch):
    model = SalienceModel()
    for p in model.parameters():
        p.data.normal_()
    sentences = [f"sentence {i} says {w} ." for i, w in enumerate(TERMS * 2)]
    monkeypatch.setattr(salience, "BLOCK_SENTENCES", 10)
    scores = model.score(sentences)
    assert scores.shape == (len(sentences),)
    assert np.allclose(scores[:10], model.score(sentences[:10]))
    assert np.allclose(scores[20:30], model.score(sentences[20:30]))


def test_saved_model_scores_the_same_and_rejects_other_features(tmp_path):
    model = SalienceModel()
    for p in model.parameters():
        p.data.normal_()
    model.save(tmp_path)
    sentences = ["sparse attention is fast .", "we measure it .", "memory stays flat ."]
    assert np.allclose(SalienceModel.load(tmp_path).score(sentences), model.score(sentences))
    meta = json.loads((tmp_path / "salience.json").read_text())
    meta["features"] = meta["features"][:-1]
    (tmp_path / "salience.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"trained on other features.*train-salience"):
        SalienceModel.load(tmp_path)
    for broken in ("{not json", json.dumps({"features": list(FEATURES)})):
        (tmp_path / "salience.json").write_text(broken)
        with pytest.raises(ValueError, match=r"Unreadable salience model.*train-salience"):
            SalienceModel.load(tmp_path)
    SalienceModel(SalienceConfig(hidden=8)).save(tmp_path / "other")
    (tmp_path / "salience.json").write_text((tmp_path / "other" / "salience.json").read_text())
    with pytest.raises(ValueError, match="Unreadable salience model"):  # weights do not fit
        SalienceModel.load(tmp_path)


def test_train_salience_without_documents_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "bad.jsonl").write_text('{"article_text": []}\nnot json\n')
    code = main(["train-salience", "--data", str(tmp_path / "bad.jsonl"), "--out",
                 str(tmp_path / "m")])  # fmt: skip
    assert code == 2
    assert "No usable documents" in capsys.readouterr().err
