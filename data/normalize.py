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
