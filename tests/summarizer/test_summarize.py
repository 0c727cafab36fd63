"""The Summarizer API and readable output, with a tiny random model (noise summaries, real
plumbing)."""

import threading
import time
from dataclasses import replace

import pytest
import torch

from data.ingest import Document, IngestError, Section
from summarizer.api import (
    LENGTHS,
    GenerationSettings,
    ModelNotFoundError,
    Summarizer,
    extractive_summary,
)
from summarizer.readable import MATH, readable, without_unfinished_sentence
from summarizer.salience import SalienceModel
from summarizer.selection import share_budget
from summarizer.sources import document_sentences
from tests.model_fixtures import salience_preferring, save_tiny_model

GREEDY = GenerationSettings(length=12, num_beams=1, no_repeat_ngram_size=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model"), max_input_tokens=96)


@pytest.fixture(scope="module")
def summarizer(model_dir):
    return Summarizer.from_pretrained(model_dir)


def paper(n_sections: int, sentences_each: int) -> Document:
    """Sentence j of section i reads "the model i data j ." (words the tiny tokenizer knows,
    so each sentence is a few tokens)."""
    sections = [
        Section(f"Section {i}", " ".join(f"The model {i} data {j}." for j in range(sentences_each)))
        for i in range(n_sections)
    ]
    return Document(name="paper.txt", kind="text", title="A paper", sections=sections)


# ---------------------------------------------------------------------- readable output
def test_readable_drops_citations_marks_math_and_attaches_punctuation():
    text = (
        "we show that the model ( see @xcite ) works , with @xmath0 @xmath1 tokens . "
        "it is n't bad @xcite .\nin this paper i study `` sparse '' layers [ @xcite , @xcite ] ;"
        " they are 10 % faster than locality - sensitive x - rays"
    )
    assert readable(text).splitlines() == [
        "We show that the model works, with [math] tokens.",
        "It isn't bad.",
        'In this paper I study "sparse" layers; they are 10% faster than locality-sensitive'
        " x-rays.",
    ]
    assert "@x" not in readable(text) and MATH in readable(text)


def test_readable_drops_what_is_left_of_an_at_sign_but_an_email_address():
    text = (
        "@noop * * , @noop , @startlink @noop * * .\n"  # Cohan's LaTeX debris: no sentence
        "a total of @xnum cells and @ mice , as in @xcite .\n"
        "write to lab@uni.org for @xmath3 data ."
    )
    assert readable(text).splitlines() == [
        "A total of cells and mice, as in.",
        "Write to lab@uni.org for [math] data.",
    ]


def test_readable_drops_latex_debris_and_unpaired_brackets():
    # as the shipped model wrote them, and as Cohan's sentences can begin
    text = (
        "our results show how to the double } \\ diagrams .\n"
        "a dressing scheme for particle hole ] .\n"
        ") ] we demonstrate the method , as in ( fig . [ fig1 ] ( a ) ) .\n"
        "stacking the _ rosat _ all - sky survey , as lee_1 did _ .\n"
        'the spectra of the two sources.,title="fig:",width=321 a width of 3 nm .\n'
        "versatility grows with @xmath2,scaledwidth=50.0%,height=4cm ."
    )
    assert readable(text).splitlines() == [
        "Our results show how to the double diagrams.",
        "A dressing scheme for particle hole.",
        "We demonstrate the method, as in (fig. [fig1] (a)).",
        "Stacking the rosat all-sky survey, as lee_1 did.",  # Cohan's emphasis marks dropped
        "The spectra of the two sources. a width of 3 nm.",  # figure options dropped, not prose
        "Versatility grows with [math].",
    ]


def test_readable_gives_nothing_for_text_without_words():
    assert readable("") == ""
    assert readable("@xcite . @xmath3 , .\n ( ) @xnum") == ""


def test_a_summary_cut_by_its_length_ends_on_its_last_whole_sentence(summarizer, monkeypatch):
    """A decoder stopped by the length limit was mid-sentence; `readable` would close that
    fragment with a period as if it were whole ("This.")."""
    written = "the model data . the model"
    ids = summarizer.tokenizer(written, add_special_tokens=False)["input_ids"]
    start, end = (
        summarizer.model.config.decoder_start_token_id,
        summarizer.model.config.eos_token_id,
    )
    for tokens, expected in (
        ([start, *ids], "The model data."),
        ([start, *ids, end], "The model data.\nThe model."),
    ):
        monkeypatch.setattr(summarizer.model, "generate", lambda t=tokens, **_: torch.tensor([t]))
        settings = replace(GREEDY, paper_words=False)
        assert summarizer.summarize("The model data. The data model.", settings).summary == expected
    # A lone sentence stays, whole or not: better than no summary.
    assert without_unfinished_sentence("the model") == "the model"


# ---------------------------------------------------------------------- loading
def test_missing_model_says_how_to_get_one(tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="SUMMARIZER_MODEL"):
        Summarizer.from_pretrained(tmp_path / "none")
    monkeypatch.setenv("SUMMARIZER_MODEL", str(tmp_path / "also-none"))
    with pytest.raises(ModelNotFoundError, match="also-none"):
        Summarizer.from_pretrained()


def test_default_path_comes_from_the_environment(model_dir, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_MODEL", str(model_dir))
    assert Summarizer.from_pretrained().max_input_tokens == 96


# ---------------------------------------------------------------------- summarizing
def test_summarize_pasted_text_reports_what_it_read(summarizer):
    stages = []
    result = summarizer.summarize(
        "The model reads a paper. It writes a summary.",
        GREEDY,
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    assert result.name == "pasted text" and not result.shortened and result.shortening == ""
    expected = summarizer.count_tokens("the model reads a paper . it writes a summary .")
    assert result.input_tokens == result.used_tokens == expected
    assert {"read", "encode", "generate", "total"} <= set(result.seconds)
    assert isinstance(result.summary, str) and "@x" not in result.summary
    generated = [done for stage, done, total in stages if stage == "generate"]
    assert generated == sorted(generated) and generated[-1] == 12
    assert {stage for stage, *_ in stages} == {"read", "encode", "generate"}


def test_summary_equals_plain_generate_on_the_same_input(summarizer):
    """Encoding once up front (for the progress report) must not change the output."""
    document = paper(1, 3)
    written = []
    generate = summarizer.model.generate
    summarizer.model.generate = lambda **kwargs: written.append(generate(**kwargs)) or written[-1]
    try:
        result = summarizer.summarize(document, GREEDY)
    finally:
        del summarizer.model.generate
    text = summarizer.select_input(document).text
    ids = summarizer.tokenizer(text, return_tensors="pt")["input_ids"]
    out = summarizer.model.generate(input_ids=ids, max_new_tokens=12, num_beams=1)
    assert torch.equal(written[0], out) and out.shape[1] > 4  # the same tokens, and some
    plain = summarizer.tokenizer.decode(out[0], skip_special_tokens=True)
    assert result.summary == readable(plain) and result.summary


def test_long_document_is_shortened_section_by_section_and_says_so(summarizer):
    document = paper(4, 30)
    selection = summarizer.select_input(document)
    assert selection.input_tokens > summarizer.max_input_tokens
    assert selection.used_tokens <= summarizer.max_input_tokens - 1
    longest = max(summarizer.count_each([f"the model 3 data {j} ." for j in range(30)]))
    assert selection.used_tokens > summarizer.max_input_tokens - 1 - longest  # budget filled
    assert summarizer.count_tokens(selection.text) == selection.used_tokens
    for i in range(4):  # every section keeps its opening sentence
        assert f"the model {i} data 0 ." in selection.text
    assert "the model 0 data 29 ." not in selection.text
    result = summarizer.summarize(document, GREEDY)
    assert result.shortened and "4 of 4 sections" in result.shortening
    assert result.used_tokens == selection.used_tokens


def test_a_larger_input_limit_reads_more(summarizer):
    document = paper(4, 30)
    result = summarizer.summarize(document, GREEDY, max_input_tokens=10_000)
    assert not result.shortened and result.used_tokens == result.input_tokens > 96
    with pytest.raises(ValueError, match="max_input_tokens"):
        summarizer.summarize(document, GREEDY, max_input_tokens=4)


def test_text_without_headings_keeps_its_opening(summarizer):
    selection = summarizer.select_input(paper(1, 60))
    assert selection.text.startswith("the model 0 data 0 .")
    assert "no section headings" in selection.shortening


def test_share_budget_gives_the_first_section_half_and_redistributes():
    assert share_budget([10, 10], 100) == [10, 10]  # everything fits
    shares = share_budget([500, 20, 500, 500], 200)
    assert shares[0] == 100 and shares[1] == 20 and sum(shares) == 200
    assert share_budget([500], 100) == [100]
    assert share_budget([30, 500], 100) == [30, 70]


def test_per_section_summaries(summarizer):
    result = summarizer.summarize(paper(3, 30), GREEDY, per_section=True)
    assert [s.heading for s in result.section_summaries] == ["Section 0", "Section 1", "Section 2"]
    assert "sections" in result.seconds


@pytest.mark.parametrize(
    "change",
    [{"length": "huge"}, {"length": 0}, {"num_beams": 0}, {"length_penalty": 0.0},
     {"no_repeat_ngram_size": -1}, {"min_new_tokens": -1}, {"repetition_penalty": 0.5},
     {"mode": "poetic"}],
)  # fmt: skip
def test_bad_settings_say_what_to_change(summarizer, change):
    with pytest.raises(ValueError, match=next(iter(change)).split("_")[0]):
        summarizer.summarize("Some text here.", GREEDY, **change)


def test_named_lengths_set_the_token_budget():
    assert GenerationSettings(length="short").max_new_tokens == LENGTHS["short"]
    assert GenerationSettings(length=77).max_new_tokens == 77


def test_a_minimum_longer_than_the_length_is_capped_at_the_length(summarizer, monkeypatch):
    # A model whose default minimum is long still writes a short summary when asked to.
    asked, penalties = [], []
    real_generate = summarizer.model.generate

    def spy(**kwargs):
        asked.append((kwargs["min_new_tokens"], kwargs["max_new_tokens"]))
        penalties.append(kwargs["repetition_penalty"])
        return real_generate(**kwargs)

    monkeypatch.setattr(summarizer.model, "generate", spy)
    summarizer.summarize(paper(2, 30), replace(GREEDY, length=12, min_new_tokens=160))
    summarizer.summarize(
        paper(2, 30), replace(GREEDY, length=40, min_new_tokens=30, repetition_penalty=1.3)
    )
    assert asked == [(12, 12), (30, 40)]
    assert penalties == [1.0, 1.3]  # the repetition penalty reaches the decoder too


def test_unreadable_input_raises_ingest_error(summarizer, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(IngestError):
        summarizer.summarize(str(empty), GREEDY)
    with pytest.raises(IngestError):
        summarizer.summarize(b"%PDF-1.4 garbage", GREEDY, name="broken.pdf")


def test_concurrent_callers_get_their_own_results(summarizer):
    # Texts in the fixture's own words, which it copies on every CPU tried; with words it never
    # saw ("Paper number 2 studies topic 2"), an AVX2 machine's fixture wrote nearly the same
    # text for all four.
    texts = [
        "Sparse attention model layer token summary paper.",
        "We show that decoding speed memory loss.",
        "Long document encoder decoder training data.",
        "The method result data loss speed token.",
    ]
    expected = [summarizer.summarize(t, GREEDY).summary for t in texts]
    got = [None] * len(texts)

    def work(i):
        got[i] = summarizer.summarize(texts[i], GREEDY).summary

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected
    assert all(expected) and len(set(expected)) == len(texts)  # mixed-up results would show


def test_extractive_summary_picks_document_sentences():
    text = (
        "Sparse layers are fast. Dense layers are slow. Sparse attention saves memory. "
        "Sparse layers are fast."
    )
    summary = extractive_summary(text, max_words=12)
    assert len(summary.splitlines()) == len(set(summary.splitlines()))
    assert summary and all(
        line.rstrip(".").lower() in text.lower() for line in summary.splitlines()
    )


# ---------------------------------------------------------------------- extractive mode
EXTRACTABLE = (
    "Dense layers are slow on long inputs. Sparse layers are fast on long inputs. "
    "Our lab moved last year. Sparse attention saves memory at every depth. "
    "The weather was fine."
)


def test_extractive_mode_gives_the_most_salient_sentences_in_order(summarizer):
    extractive = Summarizer(
        summarizer.model, summarizer.tokenizer, salience=salience_preferring("sparse")
    )
    assert GenerationSettings(length=21).max_words == 16  # 8 words a sentence (with the ".")
    result = extractive.summarize(EXTRACTABLE, mode="extractive", length=21)
    assert result.summary.splitlines() == [
        "Sparse layers are fast on long inputs.",
        "Sparse attention saves memory at every depth.",
    ]
    assert not result.shortened and result.used_tokens == result.input_tokens > 0
    assert "extract" in result.seconds and "generate" not in result.seconds
    budget = GenerationSettings(length=11).max_words  # 8 words: one sentence
    one = extractive.summarize(EXTRACTABLE, mode="extractive", length=11).summary
    assert budget == 8 and one.splitlines() == ["Sparse layers are fast on long inputs."]
    # A budget no sentence fits (6 words < 8): the best sentence, cut to the budget.
    cut = extractive.summarize(EXTRACTABLE, mode="extractive", length=8).summary
    assert cut.splitlines() == ["Sparse layers are fast on long."]


def test_extractive_mode_summarizes_sections_too(summarizer):
    extractive = Summarizer(
        summarizer.model, summarizer.tokenizer, salience=salience_preferring("data")
    )
    document = paper(n_sections=3, sentences_each=30)
    result = extractive.summarize(document, mode="extractive", per_section=True)
    assert [s.heading for s in result.section_summaries] == ["Section 0", "Section 1", "Section 2"]
    for i, section in enumerate(result.section_summaries):
        assert section.summary and all(
            line.startswith(f"The model {i} data") for line in section.summary.splitlines()
        )


def test_document_sentences_end_at_sections_and_skip_a_lone_title():
    sections = [
        Section("", "A title"),
        Section("Intro", "No end mark here"),
        Section("Next", "Second part. Third part. Second part."),
    ]
    document = Document(name="p.txt", kind="text", title="A title", sections=sections)
    assert document_sentences(document) == ["no end mark here", "second part .", "third part ."]
    assert document_sentences(document, sections[2:]) == ["second part .", "third part ."]


def test_extractive_mode_without_a_salience_model_says_how_to_get_one(summarizer):
    assert summarizer.salience is None and summarizer.defaults.mode == "abstractive"
    with pytest.raises(ValueError, match="train-salience"):
        summarizer.summarize(EXTRACTABLE, mode="extractive")


# ---------------------------------------------------------------------- experimental label
def test_written_summaries_are_experimental_until_conditioning_is_measured(model_dir, tmp_path):
    import json
    import shutil

    from summarizer.api import CONDITIONING_FILE, EXPERIMENTAL

    text = "The model reads a paper. It writes a summary."
    unmeasured = Summarizer.from_pretrained(model_dir)
    result = unmeasured.summarize(text, GREEDY)
    assert result.warning == EXPERIMENTAL
    assert EXPERIMENTAL in result.to_markdown() and EXPERIMENTAL in result.to_text()

    for gap, warned in ((0.0003, True), (1.4, False)):
        measured = shutil.copytree(model_dir, tmp_path / f"gap-{gap}")
        (measured / CONDITIONING_FILE).write_text(json.dumps({"gap": gap}))
        result = Summarizer.from_pretrained(measured).summarize(text, GREEDY)
        assert (result.warning == EXPERIMENTAL) is warned
        assert (EXPERIMENTAL in result.to_markdown()) is warned


def test_written_summaries_say_when_the_model_was_rated_not_yet_fluent(model_dir, tmp_path):
    import json
    import shutil

    from summarizer.api import CONDITIONING_FILE, EXPERIMENTAL, FLUENCY_FILE

    text = "The model reads a paper. It writes a summary."
    for share, noted in ((0.3, True), (0.85, False), ("bad", False), (None, False)):
        folder = shutil.copytree(model_dir, tmp_path / f"fluency-{share}")
        (folder / CONDITIONING_FILE).write_text(json.dumps({"gap": 1.4}))
        if share is not None:
            (folder / FLUENCY_FILE).write_text(json.dumps({"share": share}))
        summarizer = Summarizer.from_pretrained(folder)
        summarizer.salience = summarizer.salience or SalienceModel()
        result = summarizer.summarize(text, GREEDY)
        assert ("Not yet fluent: rated by hand, 30%" in result.warning) is noted, share
        assert result.warning in result.to_markdown() and result.warning in result.to_text()
        extractive = summarizer.summarize(text, replace(GREEDY, mode="extractive"))
        assert extractive.warning == ""  # the paper's own sentences
    (folder / FLUENCY_FILE).write_text(json.dumps({"share": 0.3}))
    (folder / CONDITIONING_FILE).unlink()  # not shown to read its input: that comes first
    assert Summarizer.from_pretrained(folder).summarize(text, GREEDY).warning == EXPERIMENTAL


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("mode", ["abstractive", "extractive"])
@pytest.mark.parametrize(
    "text",
    [
        "Hello",
        "∑ ∫ ∂ √ ≈ ≠ ± × ÷ ∞ " * 400,  # only math symbols
        "x" * 2_000_000,  # one unbroken 2 MB line
    ],
    ids=["one word", "math symbols", "2 MB line"],
)
def test_input_without_sentences_is_refused_with_a_clear_message(summarizer, text, mode):
    salience = summarizer.salience
    summarizer.salience = SalienceModel()  # any salience model: extractive mode is allowed
    try:
        with pytest.raises(IngestError, match="nothing to summarize"):
            summarizer.summarize(text, replace(GREEDY, mode=mode))
    finally:
        summarizer.salience = salience


def test_a_long_pasted_line_is_text_not_a_path(summarizer):
    """One line of 256+ characters without a "/" is no file name the system accepts
    (ENAMETOOLONG); it used to escape as an OSError instead of being summarized."""
    line = "Sparse layers are fast on long inputs and they save memory. " * 6
    assert len(line) > 300 and "/" not in line
    result = summarizer.summarize(line, GREEDY)
    assert result.kind == "text" and result.input_tokens > 0


def test_text_without_sentence_ends_still_respects_the_length(summarizer):
    words = " ".join(f"term{i % 50} data" for i in range(4000))  # 8,000 words, no full stop
    salience = summarizer.salience
    summarizer.salience = SalienceModel()
    try:
        result = summarizer.summarize(words, replace(GREEDY, mode="extractive", length=40))
    finally:
        summarizer.salience = salience
    assert 0 < len(result.summary.split()) <= 1.1 * 30  # 40 tokens: a 30-word budget


def test_acronyms_keep_the_spelling_of_the_source():
    from summarizer.readable import with_source_spelling

    source = (
        "Lattice QCD and mRNA. The QCD vacuum; HD 163899 pulsates. Qcd is rare.\n"
        "RESULTS\nThe results of the STARS survey show that stars pulsate."
    )
    text = readable("lattice qcd predicts the mrna level of hd stars .")
    assert with_source_spelling(text, source) == (
        "Lattice QCD predicts the mRNA level of HD stars."
    )
    assert with_source_spelling("A plain sentence.", source) == "A plain sentence."
    # Written in capitals in a heading but in lower case elsewhere: left alone.
    assert with_source_spelling("Results on stars.", source) == "Results on stars."


def test_waiting_for_the_model_is_reported_and_timed(summarizer):
    stages, results = [], []
    summarizer._lock.acquire()  # another caller is writing
    worker = threading.Thread(
        target=lambda: results.append(
            summarizer.summarize(EXTRACTABLE, GREEDY, progress=lambda *s: stages.append(s))
        )
    )
    worker.start()
    deadline = time.time() + 30
    while ("wait", 0, 1) not in stages and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert ("wait", 0, 1) in stages and not any(s[0] == "encode" for s in stages)
    summarizer._lock.release()
    worker.join()
    assert results[0].seconds["wait"] >= 0.1
    alone = summarizer.summarize(EXTRACTABLE, GREEDY, progress=lambda *s: stages.append(s))
    assert "wait" not in alone.seconds
