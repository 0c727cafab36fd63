"""From the model's Cohan-style text (lower-cased, tokenized, `@xcite` / `@xmath<n>`
placeholders) to sentences people read: citations dropped, math marked, punctuation
attached, sentences capitalized, the source's acronyms restored, one sentence a line."""

from __future__ import annotations

import re

from data.sentences import split_sentences
from data.words import AT_DEBRIS, MATH

_CITES = r"@xcite(?:\s*[,;]\s*@xcite)*"
_CITATION = re.compile(rf"\s*(?:\(\s*{_CITES}\s*\)|\[\s*{_CITES}\s*\]|{_CITES})")
_LEFTOVER = re.compile(r"\(\s*(?:see|e\.g\.|cf\.|and|refs?\.)?\s*[,;]?\s*\)|\[\s*\]")
_MATH = re.compile(r"@xmath\d*")  # shown as MATH: the formula itself is not known
_SPACE_BEFORE = re.compile(r"\s+([.,;:!?%)\]}]|'s\b|n't\b|'re\b|'ve\b|'ll\b|'d\b|'m\b)")
_SPACE_AFTER = re.compile(r"([(\[{])\s+")
_QUOTES = re.compile(r"``\s*(.*?)\s*''")
_REPEATED_MATH = re.compile(r"(?:\[math\]\s*){2,}")
_SPACES = re.compile(r"[ \t]+")
_HYPHEN = re.compile(r"(?<=\w) - (?=\w)")  # Cohan splits "x-ray" into "x - ray"
_SENTENCE_START = re.compile(r"^([^A-Za-z0-9]*)([a-z])")
_PRONOUN_I = re.compile(r"\bi\b(?=\s|'|$)")
_STRAY_BACKSLASH = re.compile(r"\\(?![A-Za-z])")  # LaTeX debris: "\," or a lone "\"
# Cohan's mark of emphasis: "the _ rosat _ survey" for LaTeX's "the \emph{rosat} survey"; an
# underscore inside a word ("lee_1") stays.
_EMPHASIS = re.compile(r"(?<!\w)_+(?!\w)")
# LaTeX figure options that Cohan's text keeps where a caption ends (",title="fig:",width=321",
# ",scaledwidth=50.0%"); written without spaces, unlike prose ("a width of 3 nm").
_OPTION = r"(?:(?:scaled)?width|height|angle|scale)=[\d.]+(?:%|pt|cm|mm|in|em)?"
_FIGURE_OPTIONS = re.compile(
    rf',?\s*(?:title="[^"]*",?\s*)?{_OPTION}(?:,{_OPTION})*|,?\s*title="fig:?"'
)
_PAIRS = {")": "(", "]": "[", "}": "{"}


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def readable(text: str) -> str:
    """Readable sentences, one a line; text with no words in it gives ""."""
    lines = []
    for line in text.splitlines():
        lines.extend(split_sentences(line) if line.strip() else [])
    out = [s for s in (readable_sentence(s) for s in lines) if s]
    return "\n".join(out)


def without_unfinished_sentence(text: str) -> str:
    """Model text whose decoding stopped at its length limit, less the sentence it was
    writing: its last sentence, when that has no end mark and another sentence comes before
    it (`readable` would otherwise close it with a period, as if it were whole: "This.")."""
    sentences = split_sentences(text)
    if len(sentences) > 1 and not sentences[-1].endswith((".", "?", "!")):
        sentences.pop()
    return "\n".join(sentences)


def with_source_spelling(text: str, source: str) -> str:
    """`text` with the words that `source` (the document as written) spells with two or more
    capitals, such as QCD or mRNA, spelled that way again: the model's text is lower case."""
    spellings = acronyms(source)
    if not spellings:
        return text
    return _WORD.sub(lambda m: spellings.get(m.group().lower(), m.group()), text)


def acronyms(source: str) -> dict[str, str]:
    """lower case -> the spelling in `source`, for words written with two or more capitals
    and never in lower case there (so "RESULTS" in a heading does not capitalize "results");
    when a word is spelled several ways, the most frequent wins."""
    counts: dict[str, dict[str, int]] = {}
    lower_case = set()
    for word in _WORD.findall(source):
        if sum(c.isupper() for c in word) >= 2:
            forms = counts.setdefault(word.lower(), {})
            forms[word] = forms.get(word, 0) + 1
        elif word.islower():
            lower_case.add(word)
    return {
        lower: max(forms, key=forms.get)
        for lower, forms in counts.items()
        if lower not in lower_case
    }


def readable_sentence(sentence: str) -> str:
    s = _FIGURE_OPTIONS.sub("", _CITATION.sub("", sentence))
    s = _MATH.sub(MATH, s)
    s = AT_DEBRIS.sub("", s)
    s = _REPEATED_MATH.sub(MATH + " ", s)
    s = _QUOTES.sub(r'"\1"', s)
    s = _HYPHEN.sub("-", s)
    s = _SPACE_BEFORE.sub(r"\1", s)
    s = _SPACE_AFTER.sub(r"\1", s)
    s = _LEFTOVER.sub("", s)
    s = without_unpaired_brackets(_EMPHASIS.sub("", _STRAY_BACKSLASH.sub("", s)))
    s = _SPACES.sub(" ", s).strip()
    s = re.sub(r"\s+([.,;:!?])", r"\1", s)
    s = re.sub(r"([,;:])(?=[.!?]$)", "", s)  # "... ,." left by a removed citation
    if not any(c.isalpha() for c in s.replace(MATH, "")):
        return ""
    s = _PRONOUN_I.sub("I", s)
    s = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), s, count=1)
    if s[-1] not in ".!?":
        s += "."
    return s


def without_unpaired_brackets(text: str) -> str:
    """`text` without the brackets that close nothing or are never closed in it (Cohan's
    sentences and the model's start or end inside a parenthesis: ")] demonstrate ...",
    "the double } diagrams"); paired ones stay."""
    open_at: list[int] = []
    drop = set()
    for i, c in enumerate(text):
        if c in "([{":
            open_at.append(i)
        elif c in _PAIRS:
            if open_at and text[open_at[-1]] == _PAIRS[c]:
                open_at.pop()
            else:
                drop.add(i)
    drop.update(open_at)
    return "".join(c for i, c in enumerate(text) if i not in drop)
