"""The Summarizer: a paper in (text, path or uploaded bytes), a readable summary out.

    summarizer = Summarizer.from_pretrained()            # the shipped default model
    result = summarizer.summarize("paper.pdf", GenerationSettings(length="short"))
    print(result.summary)

One `Summarizer` may be shared by many threads (the web app's sessions): generation is
serialized by a lock, everything else is per call.

Three modes: "abstractive" (the Terraformer writes the summary), "extractive" (the model
folder's salience model picks the paper's most salient sentences; see summarizer/salience.py)
and "rewritten" (those sentences, each written again by the folder's sentence rewriter; see
summarizer/rewriter.py). A model folder's generation_config names its default mode
(`summary_mode`).

Documents longer than the model's input limit are shortened section by section (see
`select_input`), and the result says how; nothing is cut silently.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from data.ingest import Document, IngestError, Section, read_document, read_pasted
from summarizer.extractive import lexrank, take_in_order
from summarizer.model.modeling import TerraformerForConditionalGeneration
from summarizer.model.tokenizer import load_tokenizer
from summarizer.paths import (
    CONDITIONING_FILE,
    FLUENCY_FILE,
    MODEL_ENV_VAR,
    REWRITER_DIR,
    default_model_dir,
    is_model_dir,
    is_rewriter_dir,
    is_salience_dir,
)
from summarizer.readable import readable, with_source_spelling, without_unfinished_sentence
from summarizer.rewriter import PICK_FACTOR, REWRITE_ABOVE, Rewriter
from summarizer.salience import SalienceModel, whole_sentences
from summarizer.selection import InputSelector, Selection
from summarizer.settings import (
    LENGTHS,
    GenerationSettings,
    missing_for_mode,
    read_model_settings,
)
from summarizer.sources import (
    Passage,
    SentenceSources,
    document_sentences,
    find_sources,
    first_occurrences,
    has_letter,
    passages,
    quoted_sources,
)
from summarizer.vocabulary import PaperWords, token_pieces

log = logging.getLogger(__name__)

# The LexRank comparison (`extractive_summary`) reads at most this many sentences.
LEXRANK_MAX_SENTENCES = 2000
THREADS_ENV_VAR = "SUMMARIZER_THREADS"  # see serving_threads
# progress(stage, done, total): stage is "read", "extract" (key sentences), "wait" (another
# caller is using the model; reported only then), "encode", "generate" (done = tokens written
# so far, total = the most it may write), "rewrite" (done = key sentences rewritten, total =
# those picked) or "sections" (done = sections summarized).
Progress = Callable[[str, int, int], None]
# The stages SummaryResult.seconds times, in the order they run; besides them it has "total",
# and "sections" or "sources" when those were asked for.
STAGES = ("read", "extract", "wait", "encode", "generate", "rewrite")

# A model folder's measured conditioning gap (CONDITIONING_FILE, written by `python -m
# benchmarks.conditioning --out DIR/conditioning.json`): how much lower the loss of a paper's
# abstract is when the model reads that paper than when it reads another one, in nats per token.
# Written summaries are labelled experimental unless it is at least MIN_CONDITIONING_GAP.
MIN_CONDITIONING_GAP = 1.0
EXPERIMENTAL = (
    "Experimental: this model's written summaries have not been shown to depend on the paper "
    "(its loss on an abstract is about the same whichever paper it reads), so this text may "
    "not describe this paper; use key sentences for a summary of it."
)

# A model folder's fluency, rated by hand (FLUENCY_FILE, written by `python -m eval.rating score
# SHEET --system LABEL --out DIR/fluency.json`): the share of the model's written sentences that
# read as complete, grammatical sentences. Written summaries of a model measured below
# MIN_FLUENT_SHARE say so wherever they are shown (the key sentences and human abstracts: 88%).
MIN_FLUENT_SHARE = 0.8
NOT_YET_FLUENT = (
    "Not yet fluent: rated by hand, {share:.0%} of this model's written sentences read as "
    "complete sentences. The text is about this paper and in its terms, but check it against "
    "the paper; key sentences are the paper's own words."
)

# What counts as text to summarize: a document needs at least one sentence of
# MIN_SENTENCE_WORDS words with letters (see also summarizer.sources.usable_sentences).
MIN_SENTENCE_WORDS = 3
NOTHING_TO_SUMMARIZE = (
    "{name}: nothing to summarize: no sentence of at least 3 words was found in it (too short, "
    "or not prose, e.g. only formulas or symbols)"
)

# Sections shorter than this (in tokens) get no summary of their own.
MIN_SECTION_TOKENS = 64


class ModelNotFoundError(FileNotFoundError):
    """No model directory where one was expected; the message says how to get one."""


@dataclass
class SectionSummary:
    heading: str
    summary: str


@dataclass
class SummaryResult:
    """What `Summarizer.summarize` returns. `summary` is readable text, one sentence a line."""

    summary: str
    name: str  # file name, or "pasted text"
    kind: str  # pdf | text | markdown | latex | cohan
    title: str | None
    section_headings: list[str]
    input_tokens: int  # the whole document, in model tokens
    used_tokens: int  # what the encoder read
    shortened: bool
    shortening: str  # how the document was shortened, in words; "" when it was not
    seconds: dict[str, float] = field(default_factory=dict)  # read, encode, generate, total
    section_summaries: list[SectionSummary] = field(default_factory=list)
    warning: str = ""  # e.g. EXPERIMENTAL: shown wherever the summary is shown
    # Each line of `summary` with the passages of the paper it comes from (summarizer.sources).
    sources: list[SentenceSources] = field(default_factory=list)
    # The paper's whole text as passages, repeated sentences too (a repeat has its first
    # occurrence's index), for showing it with the sources marked; not in to_dict.
    paper: list[Passage] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "paper"}

    def to_text(self) -> str:
        parts = [self.title or self.name, ""]
        if self.warning:
            parts += [self.warning, ""]
        parts.append(self.summary)
        for s in self.section_summaries:
            parts += ["", s.heading or "(untitled section)", s.summary]
        return "\n".join(parts).strip() + "\n"

    def to_markdown(self) -> str:
        parts = [f"# {self.title or self.name}", ""]
        if self.warning:
            parts += [f"> {self.warning}", ""]
        if self.sources:
            paragraph, notes = self.with_references()
            parts += [paragraph, "", *notes]
        else:
            parts.append(" ".join(self.summary.splitlines()))
        if self.section_summaries:
            parts += ["", "## By section"]
            for s in self.section_summaries:
                parts += ["", f"### {s.heading or '(untitled section)'}", ""]
                parts.append(" ".join(s.summary.splitlines()))
        if self.shortened:
            parts += ["", f"*{self.shortening}*"]
        return "\n".join(parts).strip() + "\n"

    def with_references(self) -> tuple[str, list[str]]:
        """The summary as one paragraph in which each sentence is followed by footnote
        references to its sources (numbered in order of first use) or marked unsupported,
        and the footnotes: where each source is in the paper, and what it says."""
        numbers: dict[int, int] = {}  # passage index -> footnote number
        sentences, notes = [], []
        for s in self.sources:
            if not s.supported:
                sentences.append(f"{s.sentence} *(unsupported)*")
                continue
            refs = []
            for x in s.sources:
                if x.index not in numbers:
                    numbers[x.index] = len(numbers) + 1
                    where = f"sentence {x.index + 1}"
                    if x.section:
                        where = f"{x.section}, {where}"
                    notes.append(f'[^{numbers[x.index]}]: {where}: "{x.text}"')
                refs.append(f"[^{numbers[x.index]}]")
            sentences.append(s.sentence + "".join(refs))
        return " ".join(sentences), notes


def serving_threads() -> int:
    """How many threads a server computes on: $SUMMARIZER_THREADS, else every core but one,
    which is left to the server's own thread (it sends the page its updates while the model
    runs, and torch's threads all wait for whichever one it stalls)."""
    value = os.environ.get(THREADS_ENV_VAR, "").strip()
    if not value:
        return max(1, len(os.sched_getaffinity(0)) - 1)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV_VAR} must be a whole number of threads, not {value!r}")
    return int(value)


def find_model_dir(path: str | os.PathLike | None = None) -> Path:
    """The model directory for `path` (None: $SUMMARIZER_MODEL or the shipped default);
    ModelNotFoundError, saying how to get one, when it holds no model."""
    model_dir = Path(path) if path is not None else default_model_dir()
    if not is_model_dir(model_dir):
        raise ModelNotFoundError(
            f"No model in {model_dir}. Train one (python -m summarizer train ...), or "
            f"set {MODEL_ENV_VAR} to a directory written by save_pretrained."
        )
    return model_dir


class Summarizer:
    """A trained model and its tokenizer, ready to summarize documents."""

    def __init__(
        self,
        model: TerraformerForConditionalGeneration,
        tokenizer,
        defaults: GenerationSettings | None = None,
        salience: SalienceModel | None = None,
        rewriter: Rewriter | None = None,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.defaults = defaults or GenerationSettings()
        self.salience = salience.eval() if salience is not None else None
        self.rewriter = rewriter
        # Measured conditioning gaps of the model and the rewriter (None: never measured); see
        # CONDITIONING_FILE.
        self.conditioning_gap: float | None = None
        self.rewriter_gap: float | None = None
        # Measured share of the model's written sentences that read fluently (None: never
        # rated); see FLUENCY_FILE.
        self.fluent_share: float | None = None
        self.max_input_tokens: int = model.config.max_input_tokens
        self.selector = InputSelector(tokenizer, self.max_input_tokens)
        if model.config.input_selection == "salient" and salience is None:
            raise ValueError(
                "This model was trained on the salience model's picks (input_selection = "
                "'salient') but has no salience model beside it; copy salience.json and "
                "salience.safetensors from the run that trained it into the model folder"
            )
        self._lock = threading.Lock()

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None) -> Summarizer:
        """Load a `save_pretrained` directory; None means $SUMMARIZER_MODEL or the shipped
        default model. Defaults come from its generation_config.json; a salience model in
        the folder (salience.safetensors) enables extractive summaries, and with a sentence
        rewriter beside it (a rewriter/ model folder) rewritten ones."""
        model_dir = find_model_dir(path)
        model = TerraformerForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32)
        tokenizer = load_tokenizer(model_dir)
        salience = SalienceModel.load(model_dir) if is_salience_dir(model_dir) else None
        defaults = read_model_settings(model_dir)
        rewriter = Rewriter.load(model_dir) if is_rewriter_dir(model_dir) else None
        log.info("loaded %s (%d input tokens)", model_dir, model.config.max_input_tokens)
        summarizer = cls(model, tokenizer, defaults, salience, rewriter)
        summarizer.conditioning_gap = read_conditioning_gap(model_dir)
        summarizer.fluent_share = read_fluent_share(model_dir)
        if rewriter is not None:
            summarizer.rewriter_gap = read_conditioning_gap(model_dir / REWRITER_DIR)
        return summarizer

    @property
    def modes(self) -> list[str]:
        """The modes this model can summarize in, the paper's own sentences first."""
        return [m for m in ("extractive", "rewritten", "abstractive") if not self.missing(m)]

    def missing(self, mode: str) -> str:
        """What this model lacks to summarize in `mode` ("" when nothing)."""
        return missing_for_mode(
            mode, salience=self.salience is not None, rewriter=self.rewriter is not None
        )

    def warning(self, mode: str) -> str:
        """What a summary in `mode` must be shown with: EXPERIMENTAL for text written by a
        model that was not measured to read its input, else NOT_YET_FLUENT for the model's own
        text when it was rated less fluent than MIN_FLUENT_SHARE."""
        if mode == "extractive":
            return ""
        gap = self.rewriter_gap if mode == "rewritten" else self.conditioning_gap
        if not measured_to_read(gap):
            return EXPERIMENTAL
        share = self.fluent_share
        if mode == "abstractive" and share is not None and share < MIN_FLUENT_SHARE:
            return NOT_YET_FLUENT.format(share=share)
        return ""

    # ------------------------------------------------------------------ summarizing
    def summarize(
        self,
        source: str | os.PathLike | bytes | Document,
        settings: GenerationSettings | None = None,
        *,
        name: str | None = None,
        per_section: bool = False,
        progress: Progress | None = None,
        max_input_tokens: int | None = None,
        **overrides,
    ) -> SummaryResult:
        """Summarize a document: pasted text, a path, an uploaded file's bytes (with its
        `name`) or a `Document`. `overrides` replace single settings, e.g. length="short".
        `max_input_tokens` (default: the length the model was trained on) is how much the
        encoder may read; longer documents are shortened to it.
        Raises data.ingest.IngestError for unreadable input, ValueError for bad settings."""
        settings = replace(settings or self.defaults, **overrides)
        settings.validate()
        if missing := self.missing(settings.mode):
            raise ValueError(f"This model cannot write {settings.mode} summaries: it has {missing}")
        limit = max_input_tokens or self.max_input_tokens
        if limit < 16:
            raise ValueError(f"max_input_tokens must be at least 16, got {limit}")
        report = progress or (lambda stage, done, total: None)
        start = time.perf_counter()
        report("read", 0, 1)
        document = load(source, name)
        whole = passages(document, repeats=True)  # split once, and read in the paper view
        paper = first_occurrences(whole)  # checked, extracted, and sources found in
        if not has_something_to_summarize([p.model_text for p in paper]):
            raise IngestError(NOTHING_TO_SUMMARIZE.format(name=document.name))
        extractive = settings.mode == "extractive"
        if settings.mode != "abstractive":  # picks from the whole paper
            total = self.count_tokens(document.model_text())
            selection = Selection("", total, total, "")
        else:
            selection = self.select_input(document, limit=limit, paper=paper)
        seconds = {"read": time.perf_counter() - start}
        report("read", 1, 1)

        if extractive:
            report("extract", 0, 1)
            sources, timing = self.extract(paper, settings.max_words)
            summary = "\n".join(s.sentence for s in sources)
            report("extract", 1, 1)
        elif settings.mode == "rewritten":
            summary, timing = self.rewrite(paper, settings, report)
        else:
            words = " ".join(p.model_text for p in paper)
            summary, timing = self.generate(selection.text, settings, report, limit, words)
        seconds.update(timing)
        sections = []
        if per_section:
            sections = self.summarize_sections(document, settings, report, limit)
            seconds["sections"] = time.perf_counter() - start - sum(seconds.values())
        seconds["total"] = time.perf_counter() - start
        source = " ".join([document.title or "", *(s.text for s in document.sections)])
        summary = with_source_spelling(summary, source)
        for section in sections:
            section.summary = with_source_spelling(section.summary, source)
        found = time.perf_counter()
        if extractive:
            for line, sentence in zip(summary.splitlines(), sources, strict=True):
                sentence.sentence = line
        else:
            sources = find_sources(summary, paper)
        seconds["sources"] = time.perf_counter() - found
        return SummaryResult(
            summary=summary,
            name=document.name,
            kind=document.kind,
            title=document.title,
            section_headings=[s.heading for s in document.sections if s.heading],
            input_tokens=selection.input_tokens,
            used_tokens=selection.used_tokens,
            shortened=bool(selection.shortening),
            shortening=selection.shortening,
            seconds=seconds,
            section_summaries=sections,
            warning=self.warning(settings.mode),
            sources=sources,
            paper=whole,
        )

    def summarize_sections(
        self, document: Document, settings: GenerationSettings, report: Progress, limit: int
    ) -> list[SectionSummary]:
        """A short summary of each section long enough to have one."""
        short = replace(settings, length=min(settings.max_new_tokens, LENGTHS["short"]))
        chosen = [s for s in document.sections if self.count_tokens(s.text) >= MIN_SECTION_TOKENS]
        results = []
        for i, section in enumerate(chosen):
            report("sections", i, len(chosen))
            if settings.mode == "extractive":
                sources, _ = self.extract(passages(document, [section]), short.max_words)
                summary = "\n".join(s.sentence for s in sources)
            elif settings.mode == "rewritten":
                summary, _ = self.rewrite(passages(document, [section]), short, lambda *a: None)
            else:
                selection = self.select_input(document, [section], limit)
                words = document.model_text([section])
                summary, _ = self.generate(selection.text, short, lambda *a: None, limit, words)
            results.append(SectionSummary(section.heading, summary))
        report("sections", len(chosen), len(chosen))
        return results

    def extract(
        self, paper: list[Passage], max_words: int
    ) -> tuple[list[SentenceSources], dict[str, float]]:
        """The salience model's pick of the paper's sentences: each readable, with itself as
        its source."""
        start = time.perf_counter()
        chosen = [sentence for sentence, _ in self.key_sentences(paper, max_words)]
        return quoted_sources(chosen, paper), {"extract": time.perf_counter() - start}

    def key_sentences(self, paper: list[Passage], max_words: int) -> list[tuple[str, float]]:
        """The salience model's pick of the paper's sentences (their model text), in document
        order, each with its salience score."""
        sentences = [p.model_text for p in paper]
        return self.salience.extract_scored(sentences, max_words) if sentences else []

    def rewrite(
        self, paper: list[Passage], settings: GenerationSettings, report: Progress
    ) -> tuple[str, dict[str, float]]:
        """The key sentences for PICK_FACTOR times the word budget, those longer than
        REWRITE_ABOVE tokens written again by the rewriter; of these (rewrites are shorter than
        their sources), the most salient that fill the budget, in document order. The
        readable summary and timings."""
        report("extract", 0, 1)
        start = time.perf_counter()
        scored = self.key_sentences(paper, round(PICK_FACTOR * settings.max_words))
        written = [" ".join(sentence.split()) for sentence, _ in scored]
        long = [i for i, sentence in enumerate(written) if len(sentence.split()) > REWRITE_ABOVE]
        report("extract", 1, 1)
        picked = time.perf_counter()
        allowed = " ".join(p.model_text for p in paper)  # the words the rewrites may use
        with self.model_turn(report) as waited:
            report("rewrite", 0, len(long))
            begun = time.perf_counter()
            rewrites = self.rewriter.rewrite([written[i] for i in long], settings, paper=allowed)
            done = time.perf_counter()
        for i, rewrite in zip(long, rewrites, strict=True):
            written[i] = rewrite
        report("rewrite", len(long), len(long))
        # Rewrites that came out as fragments ("In sec.") are passed over, as key sentences are.
        order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
        whole = whole_sentences(written)
        kept = take_in_order(written, order, settings.max_words, lambda i, _: whole[i])
        timing = {"extract": picked - start, "rewrite": done - begun}
        if waited >= 0.05:
            timing = {"wait": waited, **timing}
        return readable("\n".join(kept)), timing

    @contextlib.contextmanager
    def model_turn(self, report: Progress) -> Iterator[float]:
        """Hold the models for one caller at a time (generation is serialized), reporting
        "wait" when another caller holds them; yields how long the wait took, in seconds."""
        asked = time.perf_counter()
        if not self._lock.acquire(blocking=False):
            report("wait", 0, 1)
            self._lock.acquire()
        try:
            yield time.perf_counter() - asked
        finally:
            self._lock.release()

    def generate(
        self,
        text: str,
        settings: GenerationSettings,
        report: Progress,
        limit: int,
        paper: str | None = None,
    ) -> tuple[str, dict[str, float]]:
        """Encode `text` once, decode with the cache; the readable summary and timings.
        `paper`: the text whose words the summary may use (settings.paper_words; default
        `text`)."""
        # select_input keeps the text within the limit; truncation only guards the last token.
        ids = self.tokenizer(text, truncation=True, max_length=limit, return_tensors="pt")[
            "input_ids"
        ]  # (1, S)
        max_new = settings.max_new_tokens
        processors = LogitsProcessorList()
        if settings.paper_words:
            # The decoder's sequences start with one token, so they stop at 1 + max_new.
            pieces = token_pieces(self.tokenizer)
            constraint = PaperWords.for_paper(pieces, paper or text, 1 + max_new)
            processors.append(constraint)
        with self.model_turn(report) as waited:
            report("encode", 0, 1)
            t0 = time.perf_counter()
            with torch.inference_mode():
                encoded = self.model.get_encoder()(input_ids=ids)
                t1 = time.perf_counter()
                report("encode", 1, 1)
                report("generate", 0, max_new)
                out = self.model.generate(
                    input_ids=ids,
                    encoder_outputs=encoded,
                    stopping_criteria=StoppingCriteriaList([TokenCounter(report, max_new)]),
                    logits_processor=processors,
                    **settings.generate_kwargs(),
                )
            t2 = time.perf_counter()
        written = out.shape[1] - 1  # minus the decoder start token
        report("generate", max_new, max_new)
        text = self.tokenizer.decode(out[0], skip_special_tokens=True)
        if settings.paper_words:
            text = constraint.trim(text)
        if out[0, -1].item() != self.model.generation_config.eos_token_id:  # cut by the length
            text = without_unfinished_sentence(text)
        log.debug("%d input tokens, %d written", ids.shape[1], written)
        timing = {"encode": t1 - t0, "generate": t2 - t1}
        if waited >= 0.05:
            timing = {"wait": waited, **timing}
        return readable(text), timing

    # ------------------------------------------------------------------ long inputs
    def count_tokens(self, text: str) -> int:
        return self.selector.count_tokens(text)

    def count_each(self, sentences: list[str]) -> list[int]:
        return self.selector.count_each(sentences)

    def select_input(
        self,
        document: Document,
        sections: list[Section] | None = None,
        limit: int | None = None,
        paper: list[Passage] | None = None,
    ) -> Selection:
        """What the encoder reads of the document's `sections` (all by default), chosen as the
        model's training input was (summarizer.selection). `paper`: those sections' passages,
        when the caller has already split them."""
        sections = document.sections if sections is None else sections
        limit = limit or self.max_input_tokens
        if self.model.config.input_selection == "salient":
            paper = passages(document, sections) if paper is None else paper
            sentences = [p.model_text for p in paper]
            return self.selector.select_salient(sentences, self.salience, limit=limit)
        return self.selector.select_input(sections, limit)


def measured_to_read(gap: float | None) -> bool:
    """Whether a measured conditioning gap shows that a model reads its input."""
    return gap is not None and gap >= MIN_CONDITIONING_GAP


def read_conditioning_gap(model_dir: Path) -> float | None:
    """The gap recorded in the model folder's CONDITIONING_FILE, or None."""
    return recorded_number(Path(model_dir) / CONDITIONING_FILE, "gap")


def read_fluent_share(model_dir: Path) -> float | None:
    """The share of fluent sentences recorded in the model folder's FLUENCY_FILE, or None."""
    share = recorded_number(Path(model_dir) / FLUENCY_FILE, "share")
    return share if share is not None and 0 <= share <= 1 else None


def recorded_number(path: Path, key: str) -> float | None:
    """The number under `key` in the JSON file at `path`; None when the file is missing or
    unreadable, or holds no number there (an unmeasured model is labelled as such)."""
    try:
        value = json.loads(path.read_text())[key]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class TokenCounter(StoppingCriteria):
    """Reports tokens written as generate() goes; never stops it."""

    def __init__(self, report: Progress, total: int):
        self.report = report
        self.total = total

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs):
        self.report("generate", min(input_ids.shape[1] - 1, self.total), self.total)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def load(source: str | os.PathLike | bytes | Document, name: str | None = None) -> Document:
    """The Document behind any source the Summarizer accepts. A str is a path when it names
    an existing file (one line, not too long), else it is pasted text."""
    if isinstance(source, Document):
        return source
    if isinstance(source, bytes | os.PathLike):
        return read_document(source, name)
    if isinstance(source, str):
        return read_document(source, name) if names_a_file(source) else read_pasted(source)
    raise TypeError(f"Cannot summarize a {type(source).__name__}; pass text, a path or bytes")


def names_a_file(text: str) -> bool:
    """Whether `text` is the path of an existing file: one line, not too long, and a name the
    system accepts (a pasted line of 256+ characters without a "/" is not: ENAMETOOLONG)."""
    if "\n" in text or len(text) >= 1024:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long, or one holding a NUL
        return False


def extractive_summary(
    source: str | os.PathLike | bytes | Document, name: str | None = None, max_words: int = 150
) -> str:
    """LexRank over the document's sentences (the first LEXRANK_MAX_SENTENCES: its similarity
    matrix grows with the square of their number), as readable text (for comparison)."""
    sentences = document_sentences(load(source, name))[:LEXRANK_MAX_SENTENCES]
    return readable("\n".join(lexrank(sentences, max_words))) if sentences else ""


def has_something_to_summarize(sentences: list[str]) -> bool:
    """At least one sentence of MIN_SENTENCE_WORDS words that hold letters."""
    return any(sum(map(has_letter, s.split())) >= MIN_SENTENCE_WORDS for s in sentences)
