"""Decoding that writes only words the paper holds or that abstracts commonly use.

The copy head lets the decoder start a rare word of the paper with its first BPE piece; the
decoder does not always finish it as the paper does, and writes non-words ("nemematic",
"luminies") or joins two words into one. `PaperWords` is a logits processor that removes, from
the candidates of each step, the tokens that would complete a word outside the allowed set or
begin one that no allowed word begins with. The allowed set is the paper's words and the
common words of abstracts (`data.words`), counted as the faithfulness measures count them, so
a summary's rare words are the paper's.

Only each row's best `top_k` candidates are checked (the rest are too unlikely to be chosen);
when none of them fits, up to `wide_k` are checked, and when none of those fits either the row
is left as it is rather than forced into a token the model gives no weight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import torch
from transformers import LogitsProcessor

from data.words import common_words, words

_RUN = re.compile(r"[a-z-]+")  # a word in the making: letters and hyphens
_TAIL = re.compile(r"[a-z-]*$")
TAIL_TOKENS = 16  # how far back an unfinished word is looked for


def token_pieces(tokenizer) -> tuple[str, ...]:
    """Each token id's text, lower-cased; special tokens (end of text) are empty."""
    special = set(tokenizer.all_special_ids)
    return tuple(
        "" if i in special else tokenizer.decode([i]).lower() for i in range(len(tokenizer))
    )


class PaperWords(LogitsProcessor):
    """See the module docstring. `allowed`: the words that may be written."""

    def __init__(
        self, pieces: tuple[str, ...], allowed: Iterable[str], top_k: int = 64, wide_k: int = 1024
    ):
        self.pieces = pieces
        self.allowed = frozenset(allowed)
        self.prefixes = frozenset(w[:i] for w in self.allowed for i in range(1, len(w) + 1))
        self.top_k, self.wide_k = top_k, wide_k

    @classmethod
    def for_paper(cls, pieces: tuple[str, ...], paper: str) -> PaperWords:
        """The paper's words and the common words of abstracts; `pieces`: `token_pieces`."""
        return cls(pieces, common_words() | set(words(paper)))

    def fits(self, tail: str, piece: str) -> bool:
        """Whether `piece` may follow a text ending in the unfinished word `tail`."""
        text = tail + piece
        for run in _RUN.finditer(text):
            word = run.group().strip("-")
            if run.end() < len(text) or not piece:  # finished by what follows, or the end
                if len(word) >= 2 and word not in self.allowed:
                    return False
            elif word and word not in self.prefixes:
                return False
        return True

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, ids in enumerate(input_ids[:, -TAIL_TOKENS:].tolist()):
            tail = _TAIL.search("".join(self.pieces[i] for i in ids)).group()
            for k in (self.top_k, self.wide_k):
                candidates = scores[row].topk(min(k, scores.shape[-1])).indices.tolist()
                banned = [t for t in candidates if not self.fits(tail, self.pieces[t])]
                if len(banned) < len(candidates):
                    scores[row, banned] = float("-inf")
                    break
        return scores
