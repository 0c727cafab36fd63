"""Extract, then abstract: the encoder reads the salience model's best sentences in document
order, in training (summarizer/training/inputs.py) exactly as at inference (the Summarizer,
evaluate, the conditioning benchmark), and a model trained so carries its salience model."""

import copy
import random

import pytest

from data.dataset import load_documents
from data.ingest import Document, Section
from data.sentences import split_sentences
from eval.oracle import oracle_indices
from summarizer.api import Summarizer
from summarizer.paths import is_salience_dir
from summarizer.salience import SalienceModel
from summarizer.selection import InputSelector
from summarizer.training.config import ConfigError, load_run_config
from summarizer.training.inputs import salient_articles, takes_oracle
from summarizer.training.train import train
from tests.cohan_fixtures import WORDS, write_cohan
from tests.model_fixtures import salience_preferring, trained_tiny_model


@pytest.fixture(scope="module")
def tokenizer():
    return trained_tiny_model()[1]


def filler(i: int) -> str:
    return f"the model {i} data {i} ."


# Sentences 0-39 are filler; 12, 25 and 37 say "sparse", the word the salience model wants.
SENTENCES = [filler(i) if i not in (12, 25, 37) else f"sparse layer {i} token ." for i in range(40)]


def test_the_best_sentences_that_fit_are_read_in_document_order(tokenizer):
    selector = InputSelector(tokenizer, max_input_tokens=90)
    selection = selector.select_salient(SENTENCES, salience_preferring("sparse"))
    chosen = [s for s in SENTENCES if s in selection.text]
    assert selection.text == " ".join(chosen)  # whole sentences, in document order
    assert all(f"sparse layer {i} token ." in chosen for i in (12, 25, 37))
    # Ties are broken towards the paper's start: the rest of the budget is its opening.
    fillers = [s for s in chosen if "sparse" not in s]
    assert fillers == [filler(i) for i in range(len(fillers))] and len(fillers) >= 2
    assert selection.used_tokens <= 89 and selection.input_tokens > 100
    assert "salience model" in selection.shortening

    everything = InputSelector(tokenizer, max_input_tokens=10_000)
    whole = everything.select_salient(SENTENCES, salience_preferring("sparse"))
    assert whole.text == " ".join(SENTENCES) and not whole.shortening


def test_sentences_named_first_go_before_the_salience_models_picks(tokenizer):
    selector = InputSelector(tokenizer, max_input_tokens=60)
    salience = salience_preferring("sparse")
    plain = selector.select_salient(SENTENCES, salience).text
    first = selector.select_salient(SENTENCES, salience, first=[30, 31]).text
    assert filler(30) not in plain and filler(30) in first and filler(31) in first
    assert first.index("sparse layer 12") < first.index(filler(30))  # document order kept


def test_a_salient_model_reads_the_salience_picks_in_the_summarizer(tokenizer):
    model = copy.deepcopy(trained_tiny_model()[0])
    model.config.max_input_tokens = 90
    model.config.input_selection = "salient"
    with pytest.raises(ValueError, match="salience model"):
        Summarizer(model, tokenizer)
    summarizer = Summarizer(model, tokenizer, salience=salience_preferring("sparse"))
    text = " ".join(s.capitalize() for s in SENTENCES)
    document = Document("p.txt", "text", "", [Section("", text)])
    selection = summarizer.select_input(document)
    assert "sparse layer 37 token ." in selection.text and filler(36) not in selection.text
    model.config.input_selection = "opening"  # the same model reading the paper's start
    assert "sparse layer 37" not in summarizer.select_input(document).text


def test_training_inputs_match_inference_and_the_oracle_share(tmp_path, tokenizer):
    docs, _ = load_documents(write_cohan(tmp_path / "train.jsonl", 8, seed=0))
    salience = salience_preferring("memory")
    selector = InputSelector(tokenizer, max_input_tokens=96)
    inference_like = salient_articles(docs, tokenizer, salience, 96, oracle_share=0.0)
    oracle_first = salient_articles(docs, tokenizer, salience, 96, oracle_share=1.0)
    for doc, plain, oracle_led in zip(docs, inference_like, oracle_first, strict=True):
        sentences = split_sentences(doc["article"])
        expected = selector.select_salient(sentences, salience).text
        assert plain["article"] == expected != doc["article"]
        oracle = [sentences[i] for i in oracle_indices(sentences, doc["abstract"])]
        assert all(s in oracle_led["article"] for s in oracle)
    assert oracle_first["article"] != inference_like["article"]
    ids = [f"paper-{random.Random(i).random()}" for i in range(2000)]
    assert 0.45 < sum(takes_oracle(i, 0.5) for i in ids) / len(ids) < 0.55


def test_another_input_length_reuses_the_scored_sentences(tmp_path, monkeypatch, tokenizer):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    docs, _ = load_documents(write_cohan(tmp_path / "train.jsonl", 6, seed=1))
    salience = salience_preferring("memory")
    scored = []
    score = salience.score
    monkeypatch.setattr(salience, "score", lambda sentences: scored.append(1) or score(sentences))
    short = salient_articles(docs, tokenizer, salience, 64, oracle_share=0.5)
    longer = salient_articles(docs, tokenizer, salience, 128, oracle_share=0.5)
    assert len(scored) == len(docs)  # once a paper, not once a length
    selector = InputSelector(tokenizer, max_input_tokens=128)
    for doc, a, b in zip(docs, short, longer, strict=True):
        assert len(a["article"]) < len(b["article"]) <= len(doc["article"])
        first = ()
        sentences = split_sentences(doc["article"])
        if takes_oracle(doc["id"], 0.5):
            first = oracle_indices(sentences, doc["abstract"])
        assert b["article"] == selector.select_salient(sentences, salience, first).text


def test_a_salient_run_saves_its_salience_model_with_each_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    salience_dir = tmp_path / "salience"
    SalienceModel().save(salience_dir)
    sets = [
        f'data.train=["{write_cohan(tmp_path / "train.jsonl", 8)}"]',
        f'data.validation=["{write_cohan(tmp_path / "val.jsonl", 2, seed=1)}"]',
        'data.input_selection="salient"',
        f'data.salience="{salience_dir}"',
        "data.max_input_tokens=48",
        "train.steps=2",
        "train.eval_every=0",
        "train.rouge_docs=0",
        "train.save_every=2",
    ]
    result = train(load_run_config("configs/tiny.toml", sets), tmp_path / "run")
    assert is_salience_dir(result.final_checkpoint)
    summarizer = Summarizer.from_pretrained(result.final_checkpoint)
    assert summarizer.model.config.input_selection == "salient"
    result = summarizer.summarize(" ".join(WORDS * 30), length=8)
    assert result.shortened and "salience model" in result.shortening

    with pytest.raises(ConfigError, match="no salience model"):
        load_run_config("configs/tiny.toml", [*sets[:2], 'data.input_selection="salient"',
                                              f'data.salience="{tmp_path}"'])  # fmt: skip
    with pytest.raises(ConfigError, match="input_selection"):
        load_run_config("configs/tiny.toml", ['data.input_selection="best"'])
