"""The rewritten mode: key sentences, each written again by a sentence rewriter."""

import json
import shutil
import zlib

import pytest

import summarizer.api as api
from summarizer.api import CONDITIONING_FILE, EXPERIMENTAL, Summarizer
from summarizer.paths import REWRITER_DIR, is_rewriter_dir
from summarizer.rewriter import PICK_FACTOR, Rewriter, splices
from summarizer.settings import GenerationSettings, read_model_settings
from tests.model_fixtures import salience_preferring, save_tiny_model, trained_tiny_model

GREEDY = GenerationSettings(length=32, num_beams=1, no_repeat_ngram_size=0, mode="rewritten")
# Eight sentences of 8 words; the salience model prefers those that say "sparse".
PAPER = " ".join(
    [
        "Sparse layers are fast on long inputs.",
        "Dense layers are slow on long inputs.",
        "Sparse attention saves memory at every depth.",
        "Our lab moved to a new building.",
        "Sparse models train faster on small machines.",
        "The weather was fine all week long.",
        "Sparse decoding needs only a few rows.",
        "We thank the reviewers for their comments.",
    ]
)


class FirstWords:
    """A rewriter that keeps the first `n` words of each sentence, and records its calls."""

    def __init__(self, n: int = 3):
        self.n = n
        self.calls = []

    def rewrite(self, sentences, settings, paper=None):
        self.calls.append(sentences)
        return [" ".join(s.split()[: self.n]) + " ." for s in sentences]


class Echo:
    """A rewriter that gives each sentence back whole."""

    def rewrite(self, sentences, settings, paper=None):
        return list(sentences)


@pytest.fixture(scope="module")
def tiny():
    return trained_tiny_model()


@pytest.fixture
def rewrite_every_sentence(monkeypatch):
    """PAPER's sentences are 9 tokens, under REWRITE_ABOVE: have each of them rewritten."""
    monkeypatch.setattr(api, "REWRITE_ABOVE", 0)


def test_each_key_sentence_is_rewritten_in_order(tiny, rewrite_every_sentence):
    model, tokenizer = tiny
    rewriter = FirstWords()
    summarizer = Summarizer(model, tokenizer, salience=salience_preferring("sparse"))
    summarizer.rewriter = rewriter
    stages = []
    settings = GREEDY.with_overrides(length=24)
    result = summarizer.summarize(PAPER, settings, progress=lambda *s: stages.append(s))
    # length 24 tokens -> 18 words of key sentences; x PICK_FACTOR = 36 words: 4 sentences
    assert settings.max_words == 18 and round(PICK_FACTOR * 18) == 36
    assert rewriter.calls == [
        [
            "sparse layers are fast on long inputs .",
            "sparse attention saves memory at every depth .",
            "sparse models train faster on small machines .",
            "sparse decoding needs only a few rows .",
        ]
    ]
    assert result.summary.splitlines() == [
        "Sparse layers are.",
        "Sparse attention saves.",
        "Sparse models train.",
        "Sparse decoding needs.",
    ]
    # Each line's source is the key sentence it was written from.
    assert [s.sources[0].text for s in result.sources] == [
        "Sparse layers are fast on long inputs.",
        "Sparse attention saves memory at every depth.",
        "Sparse models train faster on small machines.",
        "Sparse decoding needs only a few rows.",
    ]
    assert "rewrite" in result.seconds and "generate" not in result.seconds
    assert ("rewrite", 0, 4) in stages and ("rewrite", 4, 4) in stages
    assert result.warning == EXPERIMENTAL  # the rewriter's conditioning was never measured
    summarizer.rewriter_gap = 3.0
    assert summarizer.summarize(PAPER, GREEDY).warning == ""


def test_the_most_salient_rewrites_fill_the_budget_in_document_order(tiny, rewrite_every_sentence):
    model, tokenizer = tiny
    salience = salience_preferring("sparse")
    decoding = zlib.crc32(b"decoding") % salience.config.hash_buckets
    salience.words.weight.data[decoding] = 20.0  # the sentence that says it comes first
    summarizer = Summarizer(model, tokenizer, salience=salience)
    summarizer.rewriter = Echo()
    settings = GREEDY.with_overrides(length=24)  # 18 words: two sentences of 8
    assert summarizer.summarize(PAPER, settings).summary.splitlines() == [
        "Sparse layers are fast on long inputs.",
        "Sparse decoding needs only a few rows.",
    ]


def test_only_key_sentences_longer_than_rewrite_above_are_rewritten(tiny, monkeypatch):
    monkeypatch.setattr(api, "REWRITE_ABOVE", 9)  # PAPER's sentences have 9 tokens
    salience = salience_preferring("sparse")
    kind = zlib.crc32(b"kind") % salience.config.hash_buckets
    salience.words.weight.data[kind] = 20.0  # the long sentence, which says it, comes first
    summarizer = Summarizer(*tiny, salience=salience)
    summarizer.rewriter = rewriter = FirstWords(6)
    long = "Sparse layers of every kind are fast on long inputs of any length."
    paper = PAPER.replace("Sparse layers are fast on long inputs.", long)
    result = summarizer.summarize(paper, GREEDY.with_overrides(length=24))
    # the other key sentences were not handed to the rewriter, and stand as written
    assert rewriter.calls == [[" ".join(long.lower().split()).replace(".", " .")]]
    assert result.summary.splitlines() == [
        "Sparse layers of every kind are.",
        "Sparse attention saves memory at every depth.",
    ]


class Fragmenting:
    """A rewriter that cuts the sentence about decoding down to a fragment."""

    def rewrite(self, sentences, settings, paper=None):
        return ["sparse decoding ." if "decoding" in s else s for s in sentences]


def test_a_rewrite_that_came_out_as_a_fragment_is_passed_over(tiny, rewrite_every_sentence):
    model, tokenizer = tiny
    salience = salience_preferring("sparse")
    decoding = zlib.crc32(b"decoding") % salience.config.hash_buckets
    salience.words.weight.data[decoding] = 20.0  # the most salient, but its rewrite is cut
    summarizer = Summarizer(model, tokenizer, salience=salience)
    summarizer.rewriter = Fragmenting()
    assert summarizer.summarize(PAPER, GREEDY.with_overrides(length=24)).summary.splitlines() == [
        "Sparse layers are fast on long inputs.",
        "Sparse attention saves memory at every depth.",
    ]


def test_the_rewriter_writes_each_sentence_of_a_padded_batch_from_that_sentence(tiny, monkeypatch):
    """The tiny model copies the opening of what it reads: a rewrite that read another row, or
    its padding, would begin with another sentence's words. Every chosen beam is kept (no
    sentence is given back for being likelier), so what is compared is the model's text; only
    its first two words are, since how far the 300-step fixture copies depends on the CPU's
    arithmetic (an AVX-512 machine dropped "that", an AVX2 one repeats "attention")."""
    model, tokenizer = tiny
    monkeypatch.setattr(Rewriter, "unless_copying_is_likelier", lambda self, s, rewrites: rewrites)
    sentences = ["the model attention sparse layer .", "we show that decoding speed memory loss ."]
    rewriter = Rewriter(model, tokenizer)
    written = rewriter.rewrite(sentences, GREEDY)
    assert written == [rewriter.rewrite([s], GREEDY)[0] for s in sentences]  # as if alone
    for sentence, rewrite in zip(sentences, written, strict=True):
        assert rewrite.split()[:2] == sentence.split()[:2]
        assert rewrite != sentence  # written by the model, not its sentence given back


HEAD = "the cell is confined between a flat surface"
SENTENCE = (
    f"{HEAD} with strong anchoring ( fig . [ fig1 ] ) and a patterned surface , finding "
    "transitions between a homeotropic texture and a hybrid one ."
)


@pytest.mark.parametrize(
    ("rewrite", "spliced"),
    [
        (SENTENCE, False),
        (f"{HEAD} with strong anchoring .", False),  # the ending dropped
        (f"{HEAD} and a patterned surface .", False),  # 3 words and an aside
        (f"{HEAD} with strong anchoring and a patterned surface .", False),  # an aside
        (f"{HEAD} with strong anchoring ( fig . [ fig1 ] ) and a hybrid one .", True),
        ("the cell is confined between a homeotropic texture and a hybrid one .", True),
    ],
)
def test_a_rewrite_that_drops_a_middle_clause_splices_its_sentence(rewrite, spliced):
    assert bool(splices(SENTENCE, rewrite)) == spliced
    commas = "we , as in earlier work on these models , train it ."
    assert splices(commas, "we train it .") == []  # set off by commas
    assert splices("a ( b c ) d ) e f g .", "a e f g .") == ["( b c ) d )"]  # unbalanced


def test_a_splicing_rewrite_gives_way_to_the_next_beam_or_to_its_sentence(tiny, monkeypatch):
    model, tokenizer = tiny
    rewriter = Rewriter(model, tokenizer)
    beams = [
        "the cell is confined between a homeotropic texture and a hybrid one .",  # splices
        f"{HEAD} and a patterned surface .",
        "the cell is confined between a homeotropic texture and a hybrid one .",  # splices
        f"{HEAD} with a hybrid one .",  # splices
    ]
    asked = {}

    def generate(**kwargs):
        asked.update(kwargs)
        return tokenizer(beams, padding=True, return_tensors="pt")["input_ids"]

    monkeypatch.setattr(rewriter.model, "generate", generate)
    # Every chosen beam kept, so that only splicing decides (the likelihood rule: next test).
    monkeypatch.setattr(rewriter, "unless_copying_is_likelier", lambda given, rewrites: rewrites)
    settings = GenerationSettings(num_beams=2, paper_words=False, mode="rewritten")
    assert rewriter.rewrite([SENTENCE, SENTENCE], settings) == [beams[1], SENTENCE]
    assert asked["num_beams"] == asked["num_return_sequences"] == 2


def test_a_rewrite_is_kept_only_where_the_rewriter_finds_it_likelier_than_its_sentence(
    tiny, monkeypatch
):
    model, tokenizer = tiny
    rewriter = Rewriter(model, tokenizer)
    sure, unsure = f"{HEAD} with strong anchoring .", f"{HEAD} and a patterned surface ."
    likelihood = {sure: -1.0, unsure: -3.0, SENTENCE: -2.0, "": 0.0}
    monkeypatch.setattr(
        rewriter, "mean_log_probs", lambda given, targets: [likelihood[t] for t in targets]
    )
    kept = rewriter.unless_copying_is_likelier([SENTENCE] * 3, [sure, unsure, ""])
    assert kept == [sure, SENTENCE, SENTENCE]  # an empty rewrite never drops a key sentence
    # rewrite() applies the rule to the beam it chose
    ids = tokenizer([unsure, sure], padding=True, return_tensors="pt")["input_ids"]
    monkeypatch.setattr(rewriter.model, "generate", lambda **kwargs: ids)
    settings = GenerationSettings(num_beams=1, paper_words=False, mode="rewritten")
    assert rewriter.rewrite([SENTENCE, SENTENCE], settings) == [SENTENCE, sure]


def test_the_rewriter_scores_a_target_by_the_source_it_reads_row_by_row(tiny):
    """The tiny model writes the opening of what it reads: a sentence's own words are likelier
    given it than another sentence's, and a row's score does not depend on the batch's
    padding."""
    model, tokenizer = tiny
    rewriter = Rewriter(model, tokenizer)
    short = "the model attention sparse layer ."
    long = "we show that decoding speed memory loss is lower on long inputs ."
    pairs = [(short, short), (long, long), (short, long)]
    batched = rewriter.mean_log_probs([s for s, _ in pairs], [t for _, t in pairs])
    alone = [rewriter.mean_log_probs([s], [t])[0] for s, t in pairs]
    assert batched == pytest.approx(alone, abs=1e-4)
    assert batched[0] > batched[2]


def test_without_a_rewriter_the_mode_says_how_to_get_one(tiny):
    model, tokenizer = tiny
    summarizer = Summarizer(model, tokenizer, salience=salience_preferring("sparse"))
    assert summarizer.modes == ["extractive", "abstractive"]
    with pytest.raises(ValueError, match="export --run RUN --out MODEL/rewriter"):
        summarizer.summarize(PAPER, GREEDY)
    with pytest.raises(ValueError, match="train-salience"):
        Summarizer(model, tokenizer).summarize(PAPER, GREEDY)


def test_a_model_folder_with_a_rewriter_offers_the_mode_and_may_default_to_it(tmp_path):
    folder = save_tiny_model(tmp_path / "model")
    salience_preferring("sparse").save(folder)
    config = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(
        json.dumps({**config, "summary_mode": "rewritten"})
    )
    assert not is_rewriter_dir(folder)
    assert read_model_settings(folder).mode == "abstractive"  # asked for, but not available
    assert Summarizer.from_pretrained(folder).modes == ["extractive", "abstractive"]

    shutil.copytree(folder, tmp_path / "rewriter")
    shutil.move(tmp_path / "rewriter", folder / REWRITER_DIR)
    (folder / REWRITER_DIR / CONDITIONING_FILE).write_text(json.dumps({"gap": 2.5}))
    assert is_rewriter_dir(folder) and read_model_settings(folder).mode == "rewritten"
    summarizer = Summarizer.from_pretrained(folder)
    assert summarizer.modes == ["extractive", "rewritten", "abstractive"]
    assert summarizer.rewriter_gap == 2.5 and summarizer.conditioning_gap is None
    result = summarizer.summarize(PAPER, GREEDY)
    assert result.summary and result.warning == ""  # the rewriter's gap, not the model's
