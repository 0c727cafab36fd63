"""Offline sentence splitting for normalized (Cohan-style, tokenized) text.

In that text a sentence ends with a free-standing ".", "?" or "!" token: abbreviations keep
their periods attached ("e.g.", "et al."), so no trained model (and no nltk data, which is not
installed here) is needed. Summaries written by our model are one sentence per line already.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=\s[.?!])\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`: its lines, each split further at free-standing end marks."""
    sentences = []
    for line in text.splitlines():
        line = " " + line.strip()  # so a leading "." still counts as free-standing
        sentences += [s.strip() for s in _BOUNDARY.split(line) if s.strip()]
    return sentences
