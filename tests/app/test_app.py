"""The Streamlit page, driven headless with AppTest against a fake Summarizer that records
what it was asked (the real model is exercised in test_app_browser.py)."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
import streamlit as st
import torch
from fpdf import FPDF
from streamlit.testing.v1 import AppTest

from summarizer import api
from summarizer.api import GenerationSettings, SectionSummary, SummaryResult
from summarizer.paths import REPO_ROOT
from summarizer.sources import Passage, SentenceSources, Source

TAB_UPLOAD = "Upload a file"
APP = str(REPO_ROOT / "app" / "streamlit_app.py")

PAPER = """Attention over long documents

Abstract
We study summarization of long scientific papers with sparse transformers.

Introduction
Long inputs are costly for dense attention, so we use locality-sensitive hashing.
"""


class FakeSummarizer:
    """Records each request; the summary names the document so sessions can be told apart."""

    max_input_tokens = 4096
    defaults = GenerationSettings()
    salience = None  # no salience model: abstractive summaries only
    rewriter = None  # no sentence rewriter: no rewritten key sentences
    modes = api.Summarizer.modes  # the real rule, from the two above
    missing = api.Summarizer.missing
    warning = ""
    instances: ClassVar[list[FakeSummarizer]] = []  # one per model load

    def __init__(self):
        self.calls: list[dict] = []

    @classmethod
    def from_pretrained(cls, path=None):
        cls.instances.append(cls())
        return cls.instances[-1]

    def summarize(self, source, settings, *, name=None, per_section=False, progress=None):
        self.calls.append(
            {
                "source": source,
                "settings": settings,
                "name": name,
                "per_section": per_section,
                "threads": torch.get_num_threads(),  # in the thread that runs the request
            }
        )
        document = api.load(source, name)  # the real ingestion: IngestError for bad input
        if progress is not None:
            progress("read", 1, 1)
            progress("encode", 0, 1)
            for done in range(1, 4):
                progress("generate", done, 3)
        sections = (
            [SectionSummary("Introduction", "Hashing makes it cheap.")] if per_section else []
        )
        return SummaryResult(
            summary=f"A summary of <b>{document.title}</b>.\nIt was read as {document.kind}.",
            name=document.name,
            kind=document.kind,
            title=document.title,
            section_headings=["Abstract", "Introduction"],
            input_tokens=5000,
            used_tokens=4096,
            shortened=True,
            shortening="kept the abstract and the start of each section",
            seconds={"read": 0.01, "encode": 0.2, "generate": 1.5, "total": 1.71},
            section_summaries=sections,
            warning=self.warning,
            sources=[
                SentenceSources(
                    f"A summary of <b>{document.title}</b>.",
                    [Source("Introduction", 1, "Long inputs are *costly*.", 0.8)],
                    0.8,
                    True,
                ),
                SentenceSources(f"It was read as {document.kind}.", [], 0.0, False),
            ],
            paper=[
                Passage(0, "Abstract", "We study <i>summarization</i>.", ""),
                Passage(1, "Introduction", "Long inputs are *costly*.", ""),
            ],
        )


@pytest.fixture
def fake(tmp_path, monkeypatch) -> type[FakeSummarizer]:
    """A model directory the app accepts, and the fake in place of the real Summarizer."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    (model_dir / "model.safetensors").write_bytes(b"")
    monkeypatch.setenv("SUMMARIZER_MODEL", str(model_dir))
    monkeypatch.setattr(api, "Summarizer", FakeSummarizer)
    FakeSummarizer.instances = []
    st.cache_resource.clear()
    yield FakeSummarizer
    st.cache_resource.clear()


def start() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception, app.exception
    return app


def summarize(app: AppTest) -> AppTest:
    app.button(key="summarize").click().run()
    assert not app.exception, app.exception
    return app


def shown_summary(app: AppTest) -> str:
    return "\n".join(t.value for t in app.text)


def test_app_says_clearly_when_no_model_is_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_MODEL", str(tmp_path / "nothing-here"))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert len(app.warning) == 1
    message = app.warning[0].value
    assert "No summarization model is installed yet" in message
    assert "nothing-here" in message and "SUMMARIZER_MODEL" in message


def test_paste_summarize_shows_summary_what_was_read_and_downloads(fake):
    app = start()
    assert "up to 50 MB" in app.file_uploader[0].label  # .streamlit/config.toml
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    assert not app.error
    summary = shown_summary(app)
    # Literal text: the paper's markup is not interpreted.
    assert "A summary of <b>Attention over long documents</b>." in summary
    assert "It was read as text." in summary
    assert app.subheader[0].value.replace("\\", "") == "Attention over long documents"
    captions = " ".join(c.value for c in app.caption).replace("\\", "")
    assert "pasted text" in captions and "2 sections" in captions
    assert "5,000 tokens, shortened: kept the abstract and the start" in captions
    assert "Took 1.7 s (read 0.0 s · encode 0.2 s · generate 1.5 s)" in captions
    assert [b.label for b in app.download_button] == ["Download .txt", "Download .md"]
    assert app.status[0].state == "complete"
    assert not isinstance(fake.instances[-1].calls[-1]["source"], str)  # never taken as a path


def test_result_survives_reruns_and_lexrank_is_shown_beside_it(fake):
    app = start()
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    app.toggle(key="lexrank").set_value(True).run()
    assert not app.exception and not app.error
    assert len(fake.instances[-1].calls) == 1  # toggling did not summarize again
    texts = [t.value for t in app.text]
    assert any(t.startswith("A summary of") for t in texts)
    assert any("costly for dense attention" in t for t in texts)  # a LexRank sentence
    assert len(app.columns) >= 2


def test_settings_change_the_request(fake):
    app = start()
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"] == FakeSummarizer.defaults

    app.segmented_control(key="length").set_value("long")
    app.toggle(key="per_section").set_value(True)
    app.slider(key="num_beams").set_value(2)
    app.slider(key="no_repeat_ngram_size").set_value(0)
    app.slider(key="length_penalty").set_value(1.5)
    summarize(app)
    request = fake.instances[-1].calls[-1]
    assert request["settings"] == GenerationSettings(
        length="long", num_beams=2, no_repeat_ngram_size=0, length_penalty=1.5
    )
    assert request["per_section"] is True
    assert "Hashing makes it cheap." in shown_summary(app)

    app.number_input(key="max_new_tokens").set_value(64)
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"].length == 64


def test_the_length_starts_at_the_models_own_even_when_it_has_no_name(fake, monkeypatch):
    """A model exported with 224 new tokens (not short, medium or long) is offered that length
    and starts there, as the API and the batch command do."""
    monkeypatch.setattr(FakeSummarizer, "defaults", GenerationSettings(length=224))
    st.cache_resource.clear()
    app = start()
    control = app.segmented_control(key="length")
    assert control.options == ["Short", "Medium", "Long", "224 tokens"]
    assert control.value == 224
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"].length == 224
    app.segmented_control(key="length").set_value("short")
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"].length == "short"


def test_summary_types_follow_what_the_model_folder_holds(fake, monkeypatch):
    """Key sentences with a salience model; rewritten ones with a sentence rewriter too."""
    app = start()
    assert app.segmented_control(key="mode").options == ["Written by the model"]
    assert not any("Key sentences come from" in c.value for c in app.caption)

    monkeypatch.setattr(FakeSummarizer, "salience", object())
    monkeypatch.setattr(FakeSummarizer, "defaults", GenerationSettings(mode="extractive"))
    st.cache_resource.clear()
    app = start()
    control = app.segmented_control(key="mode")
    assert control.options == ["Key sentences", "Written by the model"]
    assert control.value == "extractive"  # the model's default
    assert any("Key sentences come from the whole paper" in c.value for c in app.caption)
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"].mode == "extractive"
    assert any("key sentences of the paper" in m.value for m in app.markdown)
    app.segmented_control(key="mode").set_value("abstractive")
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"].mode == "abstractive"
    assert any("written by the Terraformer" in m.value for m in app.markdown)

    monkeypatch.setattr(FakeSummarizer, "rewriter", object())
    st.cache_resource.clear()
    app = start()
    control = app.segmented_control(key="mode")
    assert control.options == ["Key sentences", "Key sentences, rewritten", "Written by the model"]
    app.text_area(key="pasted_text").input(PAPER)
    control.set_value("rewritten")
    summarize(app)
    assert fake.instances[-1].calls[-1]["settings"].mode == "rewritten"
    assert any("the long ones rewritten by the Terraformer" in m.value for m in app.markdown)


def test_upload_is_summarized_with_its_name(fake, tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, PAPER, new_x="LMARGIN", new_y="NEXT")
    app = start()
    app.session_state["input_tab"] = TAB_UPLOAD
    app.file_uploader(key="uploaded_file").set_value(
        ("paper.pdf", bytes(pdf.output()), "application/pdf")
    )
    summarize(app)
    assert not app.error
    request = fake.instances[-1].calls[-1]
    assert request["source"].startswith(b"%PDF") and request["name"] == "paper.pdf"
    assert "It was read as pdf." in shown_summary(app)


def test_bad_upload_shows_a_friendly_error_not_a_traceback(fake):
    app = start()
    app.session_state["input_tab"] = TAB_UPLOAD
    app.file_uploader(key="uploaded_file").set_value(
        ("broken.pdf", b"%PDF-1.4\n\x00\x01 truncated", "application/pdf")
    )
    summarize(app)
    assert len(app.error) == 1
    message = app.error[0].value
    assert message and "Traceback" not in message and "Something went wrong" not in message
    assert not app.code and not app.text  # no details, no summary


def test_empty_input_asks_for_text(fake):
    app = start()
    summarize(app)
    assert "Paste the text of a paper first" in app.error[0].value
    app.session_state["input_tab"] = TAB_UPLOAD
    summarize(app)
    assert "Choose a file to upload first" in app.error[0].value
    assert not fake.instances[-1].calls


def test_unexpected_failure_is_a_friendly_message_with_details(fake, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("CUDA exploded")

    monkeypatch.setattr(FakeSummarizer, "summarize", broken)
    app = start()
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    assert "Something went wrong" in app.error[0].value
    assert "CUDA exploded" not in app.error[0].value
    (details,) = [e for e in app.main.expander if e.label == "Details"]  # folded away
    assert "CUDA exploded" in details.code[0].value


def test_a_model_that_cannot_be_loaded_is_reported(fake, monkeypatch):
    def unloadable(cls, path=None):
        raise OSError("model.safetensors is truncated")

    monkeypatch.setattr(FakeSummarizer, "from_pretrained", classmethod(unloadable))
    app = start()
    assert "could not be loaded: model.safetensors is truncated" in app.error[0].value
    assert not app.button


def test_the_server_computes_on_the_threads_it_is_given(fake, monkeypatch):
    monkeypatch.delenv(api.THREADS_ENV_VAR, raising=False)
    assert api.serving_threads() == max(1, len(os.sched_getaffinity(0)) - 1)
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(api.THREADS_ENV_VAR, "3")
        app = start()
        app.text_area(key="pasted_text").input(PAPER)
        summarize(app)
        assert fake.instances[0].calls[0]["threads"] == 3
        st.cache_resource.clear()
        for bad in ("two", "0", "-1"):
            monkeypatch.setenv(api.THREADS_ENV_VAR, bad)
            app = AppTest.from_file(APP, default_timeout=30).run()
            assert not app.exception
            assert f"SUMMARIZER_THREADS must be a whole number of threads, not '{bad}'" in (
                app.error[0].value
            )
            assert not app.button
    finally:
        torch.set_num_threads(before)


def test_sessions_share_one_model_and_keep_their_own_results(fake):
    first, second = start(), start()
    first.text_area(key="pasted_text").input(PAPER.replace("Attention", "Graphs"))
    second.text_area(key="pasted_text").input(PAPER.replace("Attention", "Proteins"))
    summarize(first)
    summarize(second)
    first.run()
    assert len(fake.instances) == 1
    assert "Graphs over" in shown_summary(first) and "Proteins" not in shown_summary(first)
    assert "Proteins over" in shown_summary(second) and "Graphs" not in shown_summary(second)


def test_a_summary_with_a_warning_shows_it_on_the_page(fake, monkeypatch):
    app = start()
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    assert not app.warning  # no warning, none shown
    monkeypatch.setattr(FakeSummarizer, "warning", "Experimental: may not describe this paper.")
    summarize(app)
    assert [w.value for w in app.warning] == ["Experimental: may not describe this paper."]


def test_download_of_pasted_text_is_named_after_its_title(fake, monkeypatch):
    names = []
    real = st.download_button

    def recording(label, data, file_name=None, *args, **kwargs):
        names.append(file_name)
        return real(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    app = start()
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    stem = "Attention-over-long-documents-summary"
    assert names[-2:] == [f"{stem}.txt", f"{stem}.md"]


def test_each_sentence_opens_to_its_sources_and_the_paper_marks_them(fake):
    app = start()
    app.text_area(key="pasted_text").input(PAPER)
    summarize(app)
    labels = [e.label.replace("\\", "") for e in app.expander]
    assert "1. A summary of <b>Attention over long documents</b>." in labels
    assert "2. It was read as text. (unsupported)" in labels
    assert "Read the paper, with the sources marked" in labels
    assert any("1 of 2 unsupported" in m.value for m in app.markdown)
    captions = " ".join(c.value for c in app.caption).replace("\\", "")
    assert "Introduction · sentence 2 · holds 80% of this sentence's content words" in captions
    assert "Long inputs are *costly*." in shown_summary(app)  # the source, as literal text
    (paper,) = [e for e in app.get("html")]
    body = paper.proto.body
    assert "<mark" in body and "Long inputs are *costly*." in body and "<sup>[1]</sup>" in body
    assert "&lt;i&gt;summarization&lt;/i&gt;" in body  # the paper's markup is escaped


def test_progress_moves_the_bar_a_few_times_a_second_not_once_a_token():
    """Each move is a message to the browser; one a token made the page ~3x slower than the API
    (benchmarks/app_latency.py). Labels change with the stage; the last move is always shown."""
    from app import streamlit_app as page

    class Recorder:
        def __init__(self):
            self.calls = []

        def update(self, label, expanded):
            self.calls.append(label)

        def progress(self, value, text):
            self.calls.append((value, text))

    status, bar = Recorder(), Recorder()
    report = page.progress_reporter(status, bar)
    report("encode", 0, 1)
    for done in range(1, 201):  # far faster than PROGRESS_EVERY
        report("generate", done, 200)
    assert status.calls == ["Encoding the document…", "Writing the summary…"]
    assert len(bar.calls) == 3  # encoding, the first token, the last
    assert bar.calls[-1] == (1.0, "Writing the summary: 200 / 200 tokens")
