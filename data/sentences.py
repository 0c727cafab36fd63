"""Offline sentence splitting for normalized (Cohan-style, tokenized) text.

In that text a sentence ends with a free-standing ".", "?" or "!" token, except after the
abbreviations scientific papers use mid-sentence ("et al .", "fig .", "eq .", "phys . rev .",
whose periods the tokenization also splits off; they were ~8% of the breaks on our
validation papers). Abbreviations that keep their periods attached ("e.g.") never break. No
trained model (and no nltk data, which is not installed here) is needed. Summaries written by
our model are one sentence per line already.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=\s[.?!])\s+(?=\S)")

# Words after which a free-standing "." does not end the sentence (compared in lower case).
ABBREVIATIONS = frozenset({
    "al", "fig", "figs", "eq", "eqs", "ref", "refs", "sec", "secs", "tab", "cf", "vs", "resp",
    "approx", "ca", "vol", "pp", "no", "nos", "phys", "rev", "lett", "astrophys", "astron",
    "nucl", "j", "proc", "math", "chem", "biol", "med", "sci", "ann",
})  # fmt: skip


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`: its lines, each split further at free-standing end marks."""
    sentences = []
    for line in text.splitlines():
        line = " " + line.strip()  # so a leading "." still counts as free-standing
        pieces = [s.strip() for s in _BOUNDARY.split(line) if s.strip()]
        for i, piece in enumerate(pieces):
            if i and ends_with_abbreviation(pieces[i - 1]):
                sentences[-1] += " " + piece
            else:
                sentences.append(piece)
    return sentences


def ends_with_abbreviation(piece: str) -> bool:
    tokens = piece.split()
    return len(tokens) >= 2 and tokens[-1] == "." and tokens[-2].lower() in ABBREVIATIONS
