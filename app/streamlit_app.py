"""Streamlit page: paste or upload a paper, get its summary. UI only; the model lives in
`summarizer`. Run with `streamlit run app/streamlit_app.py`.

One `Summarizer` is loaded per model directory and shared by every browser session
(`st.cache_resource`); each session keeps its own last result in `st.session_state`, so
reruns (toggling the LexRank comparison, downloading) never lose or mix results.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from streamlit.runtime.uploaded_file_manager import UploadedFile

from data.ingest import MAX_BYTES, PASTED, Document, IngestError, read_pasted
from summarizer import api
from summarizer.allocator import keep_freed_memory
from summarizer.api import SummaryResult
from summarizer.paths import MODEL_ENV_VAR, default_model_dir, is_model_dir
from summarizer.settings import LENGTHS, GenerationSettings, length_tokens
from summarizer.sources import as_html

log = logging.getLogger(__name__)

NO_MODEL_HELP = f"""
**No summarization model is installed yet.**

The app looks for a model in `{{path}}` (set `{MODEL_ENV_VAR}` to use another directory
written by `save_pretrained`). The default model ships in git, so `git checkout
checkpoints/default` restores it; or train one on the arXiv/PubMed data and export it:

```
python -m summarizer train --config configs/default-cpu.toml --out runs/default
python -m summarizer export --run runs/default --out checkpoints/default
```

or point `{MODEL_ENV_VAR}` at a trained checkpoint.
"""

FILE_TYPES = ["pdf", "txt", "md", "tex"]
TAB_PASTE, TAB_UPLOAD = "Paste text", "Upload a file"
LEXRANK_WORDS = 150
EMPTY_SUMMARY = "(The model wrote an empty summary. Try a longer length or other settings.)"
# The progress bar moves at most this often (seconds): each move is a message to the browser,
# and one a token made the page several times slower than the API on a 2-core machine.
PROGRESS_EVERY = 0.25
MODE_LABELS = {
    "extractive": "Key sentences",
    "rewritten": "Key sentences, rewritten",
    "abstractive": "Written by the model",
}
MODE_CAPTIONS = {
    "extractive": "key sentences of the paper, picked by the salience model",
    "rewritten": "key sentences of the paper, the long ones rewritten by the Terraformer",
    "abstractive": "written by the Terraformer",
}


@dataclass
class Request:
    """What one click on Summarize asks for."""

    source: str | bytes  # pasted text, or the uploaded file's bytes
    name: str | None  # the uploaded file's name; None for pasted text
    settings: GenerationSettings
    per_section: bool


# --- compute: thin calls into the summarizer package ---------------------------------------


@st.cache_resource(show_spinner="Loading the summarization model…")
def load_summarizer(model_dir: str, threads: int) -> api.Summarizer:
    """The one model every session shares (Summarizer.summarize is thread-safe), computing on
    `threads` threads (`api.serving_threads()`: $SUMMARIZER_THREADS, else all cores but one;
    the README's "Web app" section has the measurements behind that default)."""
    torch.set_num_threads(threads)
    keep_freed_memory()  # decoding 1-15% faster in paired runs: summarizer/allocator.py
    return api.Summarizer.from_pretrained(model_dir)


# --- formatting ------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=])")


def escape_markdown(text: str) -> str:
    """`text` as literal characters in st.markdown / st.caption (no links, LaTeX, directives)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def read_description(result: SummaryResult) -> str:
    """One line on what was read: sections, tokens, and whether and how it was shortened."""
    n = len(result.section_headings)
    sections = f"{n} section{'s' if n != 1 else ''}" if n else "no sections found"
    tokens = f"{result.input_tokens:,} tokens"
    if not result.shortened:
        return f"{sections}, {tokens}, read whole"
    how = result.shortening or f"the model read {result.used_tokens:,} of them"
    return f"{sections}, {tokens}, shortened: {how}"


def time_description(seconds: dict[str, float]) -> str:
    """'Took 3.2 s (read 0.1 s · encode 0.3 s · generate 2.8 s)'."""
    total = seconds.get("total", sum(seconds.values()))
    stages = [f"{stage} {seconds[stage]:.1f} s" for stage in api.STAGES if stage in seconds]
    return f"Took {total:.1f} s" + (f" ({' · '.join(stages)})" if stages else "")


def download_stem(result: SummaryResult) -> str:
    """The file's name, or for pasted text its title when one was found: "paper-summary"."""
    name = Path(result.name).stem
    if result.name == PASTED and result.title:
        name = " ".join(result.title.split()[:8])
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return f"{stem or 'paper'}-summary"


# --- UI ----------------------------------------------------------------------------------------


def upload_limit_mb() -> int:
    """The upload limit users are told about: server.maxUploadSize (.streamlit/config.toml),
    or the ingestion limit when that is lower."""
    return min(int(st.get_option("server.maxUploadSize")), MAX_BYTES // 2**20)


def settings_controls(
    defaults: GenerationSettings, modes: list[str]
) -> tuple[GenerationSettings, bool, bool]:
    """The sidebar: summary type (of the `modes` the model offers), length, per-section and
    LexRank switches, advanced decoding settings, starting from the model's own defaults."""
    # The named lengths, and the model's own when it is none of them, so that the page starts
    # where the API and the batch command do (e.g. a model exported with 224 new tokens).
    lengths = [*LENGTHS, *([] if defaults.length in LENGTHS else [defaults.length])]
    with st.sidebar:
        st.header("Settings")
        mode = st.segmented_control(
            "Summary",
            modes,
            default=defaults.mode if defaults.mode in modes else modes[0],
            required=True,
            format_func=MODE_LABELS.get,
            key="mode",
            help="Key sentences: the paper's own most salient sentences (the better summary by "
            "ROUGE on our validation papers). Rewritten: the key sentences, the long ones written "
            "again, shorter, by a Terraformer trained to shorten sentences (where the model has "
            "one). "
            "Written by the model: new text from the Terraformer's decoder, about the paper and "
            "in its terms, but not yet fluent: rated by hand, one sentence in three to five reads "
            "as a complete sentence, against nine in ten of the key sentences (a 15M-parameter "
            "model trained on two CPU cores; see the model card).",
        )
        length = st.segmented_control(
            "Summary length",
            lengths,
            default=defaults.length,
            required=True,
            format_func=length_label,
            key="length",
            help=", ".join(f"{length_label(v)}: up to {length_tokens(v)} tokens" for v in lengths),
        )
        per_section = st.toggle(
            "Summarize each section too", key="per_section", help="Slower: one summary a section."
        )
        lexrank = st.toggle(
            "Compare with LexRank",
            key="lexrank",
            help="Show an extractive LexRank summary (sentences picked from the paper) beside it.",
        )
        with st.expander("Advanced decoding (written summaries)"):
            num_beams = model_slider("Beams", 1, 8, defaults.num_beams, key="num_beams")
            no_repeat = model_slider(
                "No-repeat n-gram size",
                0,
                6,
                defaults.no_repeat_ngram_size,
                key="no_repeat_ngram_size",
                help="Never repeat a word sequence this long; 0 allows repeats.",
            )
            length_penalty = model_slider(
                "Length penalty",
                0.1,
                3.0,
                defaults.length_penalty,
                step=0.1,
                key="length_penalty",
                help="Above 1 favours longer beams, below 1 shorter ones.",
            )
            repetition_penalty = model_slider(
                "Repetition penalty",
                1.0,
                2.0,
                defaults.repetition_penalty,
                step=0.05,
                key="repetition_penalty",
                help="Above 1 makes words already written less likely; 1 turns it off.",
            )
            paper_words = st.toggle(
                "Only the paper's words",
                value=defaults.paper_words,
                key="paper_words",
                help="Write only words that the paper holds or that abstracts commonly use, "
                "and only the paper's numbers: no invented or broken words or numbers.",
            )
            max_tokens = st.number_input(
                "Max new tokens",
                min_value=8,
                max_value=1024,
                value=None,
                step=16,
                key="max_new_tokens",
                placeholder=f"from the length: {length_tokens(length)}",
                help="Overrides the summary length when set.",
            )
    settings = GenerationSettings(
        length=int(max_tokens) if max_tokens else length,
        mode=mode,
        num_beams=num_beams,
        no_repeat_ngram_size=no_repeat,
        length_penalty=float(length_penalty),
        repetition_penalty=float(repetition_penalty),
        min_new_tokens=defaults.min_new_tokens,  # the model's own; capped at the length
        paper_words=paper_words,
    )
    return settings, per_section, lexrank


def length_label(length: str | int) -> str:
    """A length as the page names it: "Medium", or "224 tokens" for a model's own."""
    return length.capitalize() if isinstance(length, str) else f"{length} tokens"


def model_slider(label: str, low, high, model_value, **options):
    """A sidebar slider over [low, high] that starts at the model's own value, brought into
    range (a model may ship a value the slider does not offer)."""
    return st.slider(label, low, high, min(max(model_value, low), high), **options)


def input_controls(
    max_input_tokens: int, key_sentences: bool
) -> tuple[str, str, UploadedFile | None]:
    """The Paste / Upload tabs, and what the model reads (`key_sentences`: whether it can pick
    them); returns (active tab, pasted text, uploaded file or None)."""
    paste, upload = st.tabs([TAB_PASTE, TAB_UPLOAD], key="input_tab", on_change="rerun")
    with paste:
        text = st.text_area(
            "Paper text",
            height=260,
            key="pasted_text",
            placeholder="Paste the paper here: title, abstract, sections…",
            label_visibility="collapsed",
        )
    with upload:
        uploaded = st.file_uploader(
            f"PDF, TXT, Markdown or LaTeX, up to {upload_limit_mb()} MB",
            type=FILE_TYPES,
            key="uploaded_file",
        )
    st.caption(
        ("Key sentences come from the whole paper. " if key_sentences else "")
        + f"Written summaries read up to {max_input_tokens:,} tokens; longer papers are "
        "shortened section by section (the result says how)."
    )
    active = st.session_state.get("input_tab") or TAB_PASTE
    return active, text or "", uploaded


def make_request(
    active_tab: str,
    text: str,
    uploaded: UploadedFile | None,
    settings: GenerationSettings,
    per_section: bool,
) -> Request | None:
    """The request for the active tab, or None after telling the user what is missing."""
    if active_tab == TAB_UPLOAD:
        if uploaded is None:
            st.error("Choose a file to upload first (PDF, TXT, MD or TEX).")
            return None
        return Request(uploaded.getvalue(), uploaded.name, settings, per_section)
    if not text.strip():
        st.error("Paste the text of a paper first, or upload a file in the other tab.")
        return None
    return Request(text, None, settings, per_section)


def document_source(request: Request) -> Document | bytes:
    """What the Summarizer reads. Pasted text goes in as a Document, so that a paste which
    happens to name a file on the server is never opened as a path."""
    if isinstance(request.source, str):
        return read_pasted(request.source)
    return request.source


def progress_reporter(status, bar, every: float = PROGRESS_EVERY):
    """A Summarizer progress callback that moves `bar` and relabels `status`: the label when
    the stage changes, the bar at most once every `every` seconds within a stage."""
    shown = {"label": None, "at": 0.0}

    def show(label: str, fraction: float, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if label != shown["label"]:
            status.update(label=label, expanded=True)
            shown["label"], force = label, True
        if force or now - shown["at"] >= every:
            bar.progress(fraction, text=text)
            shown["at"] = now

    def progress(stage: str, done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        if stage == "read" and done < total:
            show("Reading the document…", 0.0, "Reading the document…")
        elif stage == "read":
            show("Document read", 0.0, "Document read")
        elif stage == "extract":
            show("Picking the key sentences…", float(done >= total), "Picking the key sentences…")
        elif stage == "wait":  # the model writes one summary at a time
            show(
                "Waiting for the model…",
                0.0,
                "Waiting for the model: another summary is being written…",
            )
        elif stage == "encode":
            show("Encoding the document…", 0.0, "Encoding the document…")
        elif stage == "generate":
            text = f"Writing the summary: {done} / {total} tokens"
            show("Writing the summary…", fraction, text, force=done >= total)
        elif stage == "rewrite" and total:  # all at once: the bar only starts and ends
            text = f"Rewriting {total} long key sentences…"
            show("Rewriting the long key sentences…", fraction, text, force=True)
        elif stage == "sections":
            text = f"Summarizing sections: {done} / {total}"
            show("Summarizing the sections…", fraction, text, force=done >= total)

    return progress


def run_summary(summarizer, request: Request) -> None:
    """Summarize with visible progress; keep the result in the session, or show an error."""
    error = None
    with st.status("Reading the document…", expanded=True) as status:
        bar = st.progress(0.0, text="Reading the document…")
        try:
            result = summarizer.summarize(
                document_source(request),
                request.settings,
                name=request.name,
                per_section=request.per_section,
                progress=progress_reporter(status, bar),
            )
        except Exception as caught:
            error = caught
            status.update(label="Could not summarize this document", state="error")
        else:
            status.update(label="Summary written", state="complete", expanded=False)
        finally:
            return_freed_memory()
    if error is None:
        st.session_state["run"] = {"request": request, "result": result, "lexrank": None}
        return
    st.session_state.pop("run", None)  # an old summary under a new error would mislead
    if isinstance(error, IngestError | ValueError):  # unreadable input, or bad settings
        st.error(str(error))
    else:
        log.error("summarize failed", exc_info=error)
        show_unexpected(error)


def return_freed_memory() -> None:
    """Hand the memory a request freed back to the system. glibc keeps freed heap pages for
    reuse, so without this the server stays at its peak after a large upload (measured with
    benchmarks.app_latency --pdf-mb 21: 705 MiB five seconds after a request without this, 654 MiB
    with it, against 521 MiB before the first)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def show_unexpected(error: BaseException) -> None:
    st.error(
        "Something went wrong while summarizing. Try again, or try another document; "
        "if it keeps happening, please report it with the details below."
    )
    with st.expander("Details"):
        st.code("".join(traceback.format_exception(error)), language=None)


def lexrank_summary(run: dict) -> str | None:
    """The LexRank summary of the session's document, computed once and kept."""
    if run["lexrank"] is None:
        request = run["request"]
        try:
            with st.spinner("Picking LexRank sentences…"):
                run["lexrank"] = api.extractive_summary(
                    document_source(request), name=request.name, max_words=LEXRANK_WORDS
                )
        except Exception as error:
            log.exception("LexRank failed")
            st.error(f"The LexRank comparison failed: {error}")
            return None
    return run["lexrank"]


def show_text(text: str, key: str | None = None) -> None:
    """Model or paper text, shown literally (never as Markdown or HTML)."""
    with st.container(key=key):
        st.text(text, width="stretch")


def show_result(run: dict, lexrank: bool) -> None:
    result: SummaryResult = run["result"]
    st.divider()
    heading = result.title or result.name
    st.subheader(escape_markdown(heading), anchor=False)
    st.caption(escape_markdown(f"{result.name} · {read_description(result)}"))
    if result.warning:
        st.warning(result.warning)
    if result.section_headings:
        with st.expander(f"Sections found ({len(result.section_headings)})"):
            st.text("\n".join(result.section_headings))

    if lexrank:
        ours, theirs = st.columns(2, gap="large")
        with ours:
            st.markdown(f"**Summary** ({MODE_CAPTIONS[run['request'].settings.mode]})")
            show_text(result.summary or EMPTY_SUMMARY, key="summary_text")
        with theirs:
            st.markdown(f"**LexRank** (extractive, ~{LEXRANK_WORDS} words)")
            text = lexrank_summary(run)
            if text is not None:
                show_text(text or "(no sentences found)", key="lexrank_text")
    else:
        st.markdown(f"**Summary** ({MODE_CAPTIONS[run['request'].settings.mode]})")
        show_text(result.summary or EMPTY_SUMMARY, key="summary_text")

    show_sources(result)

    if result.section_summaries:
        with st.expander(f"Section summaries ({len(result.section_summaries)})", expanded=True):
            for section in result.section_summaries:
                st.markdown(f"**{escape_markdown(section.heading)}**")
                show_text(section.summary or "(empty)")

    st.caption(time_description(result.seconds))
    stem = download_stem(result)
    with st.container(horizontal=True):
        st.download_button(
            "Download .txt",
            result.to_text(),
            f"{stem}.txt",
            "text/plain",
            icon=":material/download:",
        )
        st.download_button(
            "Download .md",
            result.to_markdown(),
            f"{stem}.md",
            "text/markdown",
            icon=":material/download:",
        )


def show_sources(result: SummaryResult) -> None:
    """Each summary sentence, expandable to the passages of the paper it comes from, and the
    whole paper with those passages marked."""
    if not result.sources:
        return
    unsupported = sum(not s.supported for s in result.sources)
    st.markdown(
        f"**Where each sentence comes from** ({unsupported} of {len(result.sources)} "
        f"unsupported by the paper)"
        if unsupported
        else "**Where each sentence comes from**"
    )
    for number, sentence in enumerate(result.sources, start=1):
        label = f"{number}. {sentence.sentence}"
        if not sentence.supported:
            label += " (unsupported)"
        icon = ":material/format_quote:" if sentence.supported else ":material/help:"
        with st.expander(escape_markdown(label), icon=icon):
            if not sentence.supported:
                st.caption(
                    "No passage of the paper holds enough of this sentence's words"
                    + (": the closest are below." if sentence.sources else ".")
                )
            for source in sentence.sources:
                where = source.section or "untitled section"
                st.caption(
                    escape_markdown(
                        f"{where} · sentence {source.index + 1} · holds {source.support:.0%} "
                        f"of this sentence's content words"
                    )
                )
                show_text(source.text)
    if result.paper:
        with st.expander("Read the paper, with the sources marked", icon=":material/article:"):
            st.html(f'<div class="paper">{as_html(result.paper, result.sources)}</div>')


def main() -> None:
    st.set_page_config(page_title="Paper summarizer", page_icon="📄", layout="wide")
    st.title("Paper summarizer")
    st.caption(
        "Paste or upload a scientific paper and get a summary: its key sentences, picked by a "
        "salience model trained on arXiv and PubMed, or new text written by a Terraformer model "
        "that reads long documents."
    )
    model_dir = default_model_dir()
    if not is_model_dir(model_dir):
        st.warning(NO_MODEL_HELP.format(path=model_dir))
        return
    try:
        threads = api.serving_threads()
    except ValueError as error:
        st.error(str(error))
        return
    try:
        summarizer = load_summarizer(str(model_dir), threads)
    except Exception as error:
        log.exception("loading the model failed")
        st.error(f"The model in `{model_dir}` could not be loaded: {error}")
        return

    modes = summarizer.modes
    settings, per_section, lexrank = settings_controls(summarizer.defaults, modes)
    active, text, uploaded = input_controls(summarizer.max_input_tokens, "extractive" in modes)
    if st.button("Summarize", type="primary", key="summarize", icon=":material/summarize:"):
        request = make_request(active, text, uploaded, settings, per_section)
        if request is not None:
            run_summary(summarizer, request)
    run = st.session_state.get("run")
    if run is not None:
        show_result(run, lexrank)


# `streamlit run` (and AppTest) run this file as __main__; tests may import its functions.
if __name__ == "__main__":
    main()
