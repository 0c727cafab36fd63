"""Where each summary sentence comes from, so that a reader can check it.

A paper's passages are its sentences as the models read them (the training data's style),
with where they are (section heading, index among the paper's sentences) and how the paper
writes them (its own casing and punctuation). A key sentence is its own source. A written
sentence's sources are the one or two passages that hold the most of its content words and
numbers; it is unsupported when together they hold less than UNSUPPORTED_BELOW of them.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass

from nltk.stem.porter import PorterStemmer

from data.ingest import Document, Section
from data.sentences import split_sentences
from data.words import PLACEHOLDER
from summarizer.readable import readable

# What counts as text to summarize (see usable_sentences): "words" longer than MAX_WORD_CHARS
# are not prose, and runs longer than MAX_SENTENCE_WORDS are cut into pieces.
MAX_WORD_CHARS = 40
MAX_SENTENCE_WORDS = 80

# A written sentence is unsupported when its sources hold less than this share of its content
# words. Chosen on the 100 + 100 validation papers, where it best separates the reference
# abstracts' sentences matched against their own paper (92.5% supported) from the same
# sentences matched against paper i + 7 (6.4%): python -m benchmarks.support_threshold.
UNSUPPORTED_BELOW = 0.35
# A second source is kept only when it adds at least this share of the sentence's content words.
SECOND_SOURCE_GAIN = 0.15

# Function words carry no claim; they are left out of the support score.
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for",
    "with", "from", "as", "into", "onto", "than", "then", "that", "this", "these", "those",
    "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does",
    "did", "not", "no", "nor", "it", "its", "we", "our", "us", "they", "their", "them", "he",
    "she", "his", "her", "which", "who", "whom", "whose", "what", "when", "where", "while",
    "there", "here", "also", "can", "could", "may", "might", "must", "shall", "should", "will",
    "would", "such", "so", "very", "more", "most", "less", "other", "others", "each", "both",
    "all", "any", "some", "one", "only", "same", "between", "among", "over", "under", "about",
    "after", "before", "during", "through", "however", "thus", "hence", "therefore", "i", "e",
    "g", "et", "al", "using", "used", "use", "based", "show", "shows", "shown", "found",
    "study", "results", "result", "paper", "present", "presented"
})  # fmt: skip
_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Passage:
    """One sentence of the paper."""

    index: int  # position among the paper's sentences (document_sentences' order)
    heading: str  # its section's heading ("" when the section has none)
    text: str  # as the paper writes it
    model_text: str  # as the models read it (the training data's style)


@dataclass
class Source:
    """A passage that supports a summary sentence."""

    section: str
    index: int
    text: str
    support: float  # share of the summary sentence's content words that this passage holds


@dataclass
class SentenceSources:
    """A summary sentence and the passages it comes from."""

    sentence: str
    sources: list[Source]
    support: float  # share of its content words its sources hold together (1.0: quoted)
    supported: bool


# ---------------------------------------------------------------------- the paper's passages
def passages(
    document: Document, sections: list[Section] | None = None, repeats: bool = False
) -> list[Passage]:
    """The sentences of a document's sections (all by default): a section boundary always
    ends a sentence, a title standing alone is not a sentence, and repeats are dropped; or,
    with `repeats`, kept in their place with the index of their first occurrence (the whole
    text, to read, with a passage marked wherever it stands)."""
    title = (document.title or "").strip()
    found: dict[str, Passage] = {}
    kept: list[Passage] = []
    for section in document.sections if sections is None else sections:
        if not section.text.strip() or section.text.strip() == title:
            continue
        pieces = usable_sentences(split_sentences(document.model_text([section])))
        for model_text, text in zip(pieces, as_written(section.text, pieces), strict=True):
            first = found.get(model_text)
            if first is None:
                first = found[model_text] = Passage(len(found), section.heading, text, model_text)
                kept.append(first)
            elif repeats:
                kept.append(Passage(first.index, section.heading, text, model_text))
    return kept


def first_occurrences(paper: list[Passage]) -> list[Passage]:
    """`passages(..., repeats=True)` without the repeats: `passages(...)`."""
    seen: set[int] = set()
    first = []
    for passage in paper:
        if passage.index not in seen:
            seen.add(passage.index)
            first.append(passage)
    return first


def paper_passages(sentences: list[str]) -> list[Passage]:
    """Passages of a paper that is only a list of sentences in the models' style (a Cohan
    record's article, as evaluate reads it): no headings, written as read."""
    return [Passage(i, "", s, s) for i, s in enumerate(sentences)]


def document_sentences(document: Document, sections: list[Section] | None = None) -> list[str]:
    """The paper's sentences as the models read them (see `passages`)."""
    return [p.model_text for p in passages(document, sections)]


def usable_sentences(sentences: list[str]) -> list[str]:
    """Sentences a summary may quote: "words" longer than MAX_WORD_CHARS dropped (a line of
    base64 or a URL is not prose), runs longer than MAX_SENTENCE_WORDS cut into pieces (text
    without sentence ends would otherwise be one "sentence" that ignores every length), and
    pieces without a word that holds a letter (only symbols) left out."""
    usable = []
    for sentence in sentences:
        words = [w for w in sentence.split() if len(w) <= MAX_WORD_CHARS]
        for start in range(0, len(words), MAX_SENTENCE_WORDS):
            piece = words[start : start + MAX_SENTENCE_WORDS]
            if any(has_letter(w) for w in piece):
                usable.append(" ".join(piece))
    return usable


def has_letter(word: str) -> bool:
    return any(c.isalpha() for c in word)


def as_written(raw: str, sentences: list[str]) -> list[str]:
    """Each of `sentences` (consecutive pieces of `raw` in the models' style) as `raw` writes
    it. Each sentence is found by its first few words, searched on from where the previous
    one was found; it runs to where the next one starts. A sentence whose words cannot be
    found (e.g. one that is all formulas) is given in the models' style."""
    raw = " ".join(unicodedata.normalize("NFKC", raw).split())
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in raw)  # same indices
    starts: list[int | None] = []
    cursor = 0
    for sentence in sentences:
        words = _anchor_words(sentence)
        match = None
        if words:
            pattern = r"[^a-z0-9]*".join(re.escape(w) for w in words)
            match = re.compile(pattern).search(lowered, cursor, cursor + 4 * len(sentence) + 200)
        starts.append(match.start() if match else None)
        if match:
            cursor = match.end()
    out = []
    for i, (sentence, start) in enumerate(zip(sentences, starts, strict=True)):
        end = next((s for s in starts[i + 1 :] if s is not None), len(raw))
        out.append(raw[start:end].strip() if start is not None and end > start else sentence)
    return out


def _anchor_words(sentence: str) -> list[str]:
    """The first run of up to four words of `sentence` that are not placeholders."""
    run: list[str] = []
    for word in sentence.split():
        if PLACEHOLDER.fullmatch(word) or not re.search(r"[a-z0-9]", word):
            if run and PLACEHOLDER.fullmatch(word):
                break
            continue
        run.extend(re.findall(r"[a-z0-9]+", word))
        if len(run) >= 4:
            break
    return run[:4]


# ---------------------------------------------------------------------- support
@functools.cache
def stem(word: str) -> str:
    return _STEMMER.stem(word)


_STEMMER = PorterStemmer()


def content_words(text: str) -> frozenset[str]:
    """Stemmed words and numbers of `text` that carry content (not function words)."""
    tokens = _TOKEN.findall(PLACEHOLDER.sub(" ", text.lower()))
    return frozenset(stem(t) for t in tokens if t not in STOPWORDS and (len(t) > 1 or t.isdigit()))


def find_sources(summary: str, paper: list[Passage]) -> list[SentenceSources]:
    """The sources of each line of a written `summary` among the paper's passages."""
    vocab = [content_words(p.model_text) for p in paper]
    return [sources_of(line, paper, vocab) for line in summary.splitlines() if line.strip()]


def sources_of(sentence: str, paper: list[Passage], vocab: list[frozenset[str]]) -> SentenceSources:
    """The passage holding the most of `sentence`'s content words, and a second one when it
    adds at least SECOND_SOURCE_GAIN of them."""
    wanted = content_words(sentence)
    if not wanted or not paper:
        return SentenceSources(sentence, [], 0.0, False)
    best = max(range(len(paper)), key=lambda i: (len(wanted & vocab[i]), -i))
    held = wanted & vocab[best]
    chosen = [best]
    second = max(range(len(paper)), key=lambda i: (len((wanted - held) & vocab[i]), -i))
    if len((wanted - held) & vocab[second]) >= SECOND_SOURCE_GAIN * len(wanted):
        chosen.append(second)
        held = held | (wanted & vocab[second])
    support = len(held) / len(wanted)
    sources = []
    for i in sorted(chosen):
        share = round(len(wanted & vocab[i]) / len(wanted), 4)
        if share > 0:  # a passage that holds none of its words is no source
            sources.append(Source(paper[i].heading, paper[i].index, paper[i].text, share))
    return SentenceSources(sentence, sources, round(support, 4), support >= UNSUPPORTED_BELOW)


def quoted_sources(chosen: list[str], paper: list[Passage]) -> list[SentenceSources]:
    """Key sentences, as picked from the paper's passages (their model text): each readable,
    with the passage it was taken from as its source. A sentence that is not a whole passage
    (the first one cut to a length no sentence fits) is matched like a written one."""
    by_text = {p.model_text: p for p in paper}
    vocab = None
    found = []
    for sentence in chosen:
        line = readable(sentence)
        if not line:
            continue
        passage = by_text.get(sentence)
        if passage is not None:
            source = Source(passage.heading, passage.index, passage.text, 1.0)
            found.append(SentenceSources(line, [source], 1.0, True))
        else:
            vocab = vocab or [content_words(p.model_text) for p in paper]
            found.append(sources_of(line, paper, vocab))
    return found


def as_html(paper: list[Passage], sources: list[SentenceSources]) -> str:
    """The paper as HTML, section by section, with every source passage marked and titled
    with the summary sentences it supports (numbered from 1). Everything is escaped."""
    cited: dict[int, list[int]] = {}
    for number, sentence in enumerate(sources, start=1):
        for source in sentence.sources if sentence.supported else []:
            cited.setdefault(source.index, []).append(number)
    parts: list[str] = []
    heading = None
    for passage in paper:
        if passage.heading != heading or not parts:
            if parts:
                parts.append("</p>")
            heading = passage.heading
            if heading:
                parts.append(f"<h4>{html.escape(heading)}</h4>")
            parts.append("<p>")
        text = html.escape(passage.text)
        if passage.index in cited:
            numbers = ", ".join(map(str, cited[passage.index]))
            parts.append(f'<mark title="Source of summary sentence {numbers}">{text} '
                         f"<sup>[{numbers}]</sup></mark>")  # fmt: skip
        else:
            parts.append(text)
    if parts:
        parts.append("</p>")
    return " ".join(parts)
