"""The one text normalization, used for training data and for documents at inference.

The training data is Cohan et al.'s style: lower-cased, tokenized, with `@xmath<n>` and
`@xcite` placeholders. Normalizing Cohan text changes nothing but spacing and stray control
characters; normalizing other text brings it closer to that style. Idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0]+")
_SENTENCE_TAGS = re.compile(r"</?S>")


def normalize_text(text: str) -> str:
    """One line of normalized text: NFKC (expands ligatures such as 'ﬁ'), control and
    zero-width characters removed, whitespace collapsed, lower-cased."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip().lower()


def normalize_sentences(sentences: Iterable[str]) -> list[str]:
    """Normalized, non-empty sentences; Cohan's `<S> ... </S>` tags removed."""
    cleaned = (normalize_text(_SENTENCE_TAGS.sub(" ", s)) for s in sentences)
    return [s for s in cleaned if s]


def join_article(sentences: Iterable[str]) -> str:
    """The article as the encoder reads it: one line."""
    return " ".join(normalize_sentences(sentences))


def join_summary(sentences: Iterable[str]) -> str:
    """A summary as the decoder writes it: one sentence per line, which is also the format
    summary-level ROUGE (ROUGE-Lsum) expects."""
    return "\n".join(normalize_sentences(sentences))


# --- Readable text -> Cohan style -------------------------------------------------------------
# Documents users bring (PDF, LaTeX, Markdown, text) are cased, untokenized and full of math and
# citations; the model only ever saw Cohan et al.'s style. `cohan_style` closes that gap with
# the conventions measured on the real Cohan records in ../shared/data (see its README).

_MATH_ENVS = r"equation|align|alignat|flalign|eqnarray|gather|multline|displaymath|math"
# One alternation, so that formulas are numbered in document order; environments come first so
# that a `$` inside an equation environment is not taken for inline math.
LATEX_MATH = re.compile(
    "|".join(
        [
            rf"\\begin\{{(?P<env>{_MATH_ENVS})\*?\}}(?P<m1>.*?)\\end\{{(?P=env)\*?\}}",
            r"\$\$(?P<m2>.+?)\$\$",
            r"\\\[(?P<m3>.+?)\\\]",
            r"\\\((?P<m4>.+?)\\\)",
            # Pandoc's rule for inline $...$: no space just inside the dollars and no digit
            # right after the closing one, so "costs $5 and $10" stays text.
            r"(?<![\\$\w])\$(?=[^\s$])(?P<m5>(?:[^$\\]|\\.)+?)(?<=\S)(?<!\\)\$(?![\d$])",
        ]
    ),
    re.S,
)
_PLACEHOLDER_MATH = re.compile(r"@xmath(\d+)")

_LATEX_CITE = re.compile(r"~?\\(?:no)?cite[a-zA-Z]*\*?(?:\s*\[[^\]]*\]){0,2}\s*\{[^}]*\}")
# [1], [2-5], [3, 7], [1–3; 9]: digits right inside the brackets (Cohan's own "[ 13 ]" and
# intervals such as [0, 1] are not citations).
_NUMERIC_CITE = re.compile(r"\[[1-9]\d{0,3}[a-z]?(?:\s*[-–—,;]\s*\d{1,4}[a-z]?)*\]")
_NAME = r"(?:(?:van|von|de|der|den|du|la|le|di|da)\s+)*[A-Z][\w'’\-]+"
_AUTHORS = rf"{_NAME}(?:\s+et\s+al\.?|(?:,?\s+(?:and|&)\s+{_NAME}))?"
_YEAR = r"(?:1[89]|20)\d{2}[a-z]?"
_YEARS = rf"{_YEAR}(?:\s*,\s*{_YEAR})*"
# (Smith et al., 2010), (Smith and Jones 2011; Lee, 2019a), (see Smith, 2010)
_PAREN_CITE = re.compile(
    rf"\((?:(?:see|e\.g\.|cf\.|i\.e\.)[,]?\s+)?{_AUTHORS},?\s+{_YEARS}"
    rf"(?:\s*[;,]\s*(?:{_AUTHORS},?\s+)?{_YEARS})*\)"
)
# Smith et al. (2010) -> smith et al. @xcite
_NARRATIVE_CITE = re.compile(rf"(\bet\s+al\.?|\b[A-Z][\w'’\-]+)\s*\(({_YEARS})\)")

_QUOTES = str.maketrans({"“": " `` ", "”": " '' ", "„": " `` ", "‘": " ` ", "’": "'", "‚": ","})
# Abbreviations that keep their period in Cohan's data: initials ("j."), dotted forms
# ("i.e.", "e.g.", "u.s."), and "vs.". Everything else ("fig.", "et al.", "etc.") is split.
_KEEP_PERIOD = re.compile(r"(?:[a-z]|(?:[a-z]\.)+[a-z]|vs)\.?", re.I)
_WORD_END_PERIOD = re.compile(r"(?<=[^\s.])\.(?=$|\s|['\"`)\]}])")
_BRACKET_PAIRS = {"(": ")", "[": "]", "{": "}"}
_INNER_BRACKETS = re.compile(r"([(\[{])([^()\[\]{}]*)([)\]}])")
_OPEN_MARK = {"(": "\ue000", "[": "\ue001", "{": "\ue002"}
_CLOSE_MARK = {")": "\ue003", "]": "\ue004", "}": "\ue005"}
_FROM_MARK = {v: k for k, v in {**_OPEN_MARK, **_CLOSE_MARK}.items()}


def cohan_style(text: str, math_numbers: dict[str, int] | None = None) -> str:
    """Readable text in the training data's style, on one line: LaTeX math -> `@xmath<n>`
    (numbered in order of appearance, the same formula the same number, after any placeholders
    already present), citations (LaTeX `\\cite`, `[1]`, `[2-5]`, `(Smith et al., 2010)`) ->
    `@xcite`, PTB-like tokenization as in Cohan's records, then `normalize_text`.

    Text already in Cohan's style (lower-cased, punctuation already split off) is only passed
    through `normalize_text`, so real records come out unchanged; the function is idempotent.

    Pass the same `math_numbers` dict (formula -> number) for the parts of one document so that
    its numbering runs on across them, as in Cohan's records."""
    text = unicodedata.normalize("NFKC", text)
    if _looks_cohan_style(text):
        return normalize_text(text)
    text = _map_math(text, {} if math_numbers is None else math_numbers)
    text = _map_citations(text)
    text = tokenize_like_cohan(text)
    return normalize_text(text)


def _looks_cohan_style(text: str) -> bool:
    """Lower-case, with commas and sentence periods standing alone as tokens: Cohan's records
    (which also hold LaTeX debris that the tokenizer below would re-split)."""
    if any(c.isupper() for c in text):
        return False
    alone = len(re.findall(r"(?:^|\s)[,.](?=\s|$)", text))
    attached = len(re.findall(r"[a-z0-9)\]][,](?=\s)|[a-z]{2}\.(?=\s+[a-z])", text))
    if "@xcite" in text or "@xmath" in text:
        return attached <= 0.05 * (alone + attached)
    return alone >= 3 and attached <= 0.05 * (alone + attached)


def _map_math(text: str, numbers: dict[str, int]) -> str:
    # New numbers start after any already used, in this text or in earlier parts of the document.
    taken = [int(n) for n in _PLACEHOLDER_MATH.findall(text)] + list(numbers.values())
    next_number = iter(range(max(taken, default=-1) + 1, 1 << 30))

    def placeholder(match: re.Match) -> str:
        formula = next(g for g in match.group("m1", "m2", "m3", "m4", "m5") if g is not None)
        formula = "".join(formula.split())  # "x^2 + y" and "x^2+y" are the same formula
        if formula not in numbers:
            numbers[formula] = next(next_number)
        return f" @xmath{numbers[formula]} "

    return LATEX_MATH.sub(placeholder, text)


def _map_citations(text: str) -> str:
    text = _LATEX_CITE.sub(" @xcite ", text)
    text = _PAREN_CITE.sub(" @xcite ", text)
    text = _NARRATIVE_CITE.sub(r"\1 @xcite ", text)
    return _NUMERIC_CITE.sub(" @xcite ", text)


def tokenize_like_cohan(text: str) -> str:
    """PTB-like tokenization as in Cohan's records: `, ; : ? !` and brackets split off, sentence
    and word-final periods split except after initials, "i.e."-style forms and "vs."; `'s` ->
    ` s`, `n't` split, quotes -> `` `` `` / `''`, hyphens between letters spaced (`x - ray`)
    but kept next to digits or placeholders (`glp-1`, `@xmath3-dimensional`); `%` and `/` stay
    attached. Case is kept."""
    text = text.translate(_QUOTES)
    text = re.sub(r"(?<=\d)[–—](?=\d)", "-", text)  # ranges: 1–3 -> 1-3
    text = re.sub(r"\s*[–—]\s*", " - ", text)
    # Double quotes: opening after space or bracket, closing before space or punctuation.
    text = re.sub(r"(^|[\s(\[{])\"(?=\S)", r"\1 `` ", text)
    text = re.sub(r"(?<=\S)\"(?=$|[\s.,;:?!)\]}])", " '' ", text)
    # Contractions and possessives, as Cohan's records have them ("alice s", "do n't").
    text = re.sub(r"(?i)(\w)n't\b", r"\1 n't", text)
    text = re.sub(r"(?i)(\w)'s\b", r"\1 s", text)
    text = re.sub(r"(?i)(\w)'(re|ve|ll|d|m)\b", r"\1 '\2", text)
    text = re.sub(r"(?<=s)'(?=\s|$)", " '", text)
    text = _split_brackets(text)
    text = re.sub(r"(?<=[^\s.])(\.\.\.)(?=\s|$)", r" \1", text)
    text = re.sub(r"(?<=\S)([,;:?!])(?=\s|$)", r" \1", text)
    text = _WORD_END_PERIOD.sub(_period, text)
    # Hyphens between two alphabetic parts are spaced (Cohan's "x - ray").
    text = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", _hyphen, text)
    return text


def _split_brackets(text: str) -> str:
    """Split a bracket pair off its content when the opening bracket starts a word ("(see
    fig. 1)"); keep it attached inside words and formulas ("f(x)", "method(s)")."""

    def mark(match: re.Match) -> str:
        opening, inner, closing = match.groups()
        before = match.string[match.start() - 1] if match.start() else " "
        if (before.isspace() or before in "\ue000\ue001\ue002`'\"") and (
            _BRACKET_PAIRS[opening] == closing
        ):
            return f" {_OPEN_MARK[opening]} {inner} {_CLOSE_MARK[closing]} "
        # Attached or mismatched: kept as it is, hidden from the next (outer) round.
        return f"{_OPEN_MARK[opening]}\u200b{inner}\u200b{_CLOSE_MARK[closing]}"

    # Innermost pairs first, so "(see (a) and (b))" splits every pair.
    while (marked := _INNER_BRACKETS.sub(mark, text)) != text:
        text = marked
    text = text.replace("\u200b", "")
    return "".join(_FROM_MARK.get(c, c) for c in text)


def _period(match: re.Match) -> str:
    # The word the period ends (a bounded look back keeps long texts linear).
    token = re.search(r"\S*$", match.string[max(0, match.start() - 40) : match.start()])
    token = token.group() + "."
    return "." if _KEEP_PERIOD.fullmatch(token) else " ."


def _hyphen(match: re.Match) -> str:
    text = match.string
    start = match.start()
    word_start = start
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    # Keep "@xmath3-dimensional" and "il-12a"-style words whole when a digit or placeholder is
    # part of the hyphenated word.
    word_end = start
    while word_end < len(text) and not text[word_end].isspace():
        word_end += 1
    word = text[word_start:word_end]
    if word.startswith("@") or any(c.isdigit() for c in word):
        return "-"
    return " - "
