"""Decoding that writes only words the paper holds or that abstracts commonly use, and only
numbers the paper holds.

The copy head lets the decoder start a rare word of the paper with its first BPE piece; the
decoder does not always finish it as the paper does, and writes non-words ("nemematic",
"luminies"), joins two words with a hyphen into one the paper never uses ("patient-up"), or
runs digits together into numbers the paper does not hold ("3.54.5"). `PaperWords` is a logits
processor that removes, from the candidates of each step, the tokens that would complete a word
or number outside the allowed sets, or begin one that no allowed word or number begins with.
The allowed words are the paper's and the common words of abstracts, the allowed numbers the
paper's, both counted as the faithfulness measures count them (`data.words`), so that a
summary's rare words and numbers are the paper's. Names with digits ("3d", "her2") must be the
paper's too, and so must the words of a web address ("https", "github", "com") and those that
claim experiments or code: common in abstracts, but never right in a summary unless its paper
gives the address, or speaks of experiments or code. An "@" may only begin one of the
paper's placeholders (`@xmath3`, `@xcite`): the SumPubMed abstracts of the training set write
"@xnum" for a number, and the model learned to start it where no paper of the validation sets
has one, so that "a total of @" became "a total of @if".

The token chosen at the last step the length allows (`max_length`) ends the text, so it must
finish its word and number; where no candidate can, the text ends there and `trim` cuts the
unfinished word off, so a summary cut by its length does not end on half a word.

Only each row's best `top_k` candidates are checked (the rest are too unlikely to be chosen);
when none of them fits, up to `wide_k` are checked, and when none of those fits either the row
is left as it is rather than forced into a token the model gives no weight; even then it may
not write a `forbidden` word (of a web address or a claim its paper does not make): otherwise a
word begun as the paper's ("exper", for its "experience") could end as "experimental". Nor may
it turn an "@" into anything but a placeholder: where the repeat ban of the search takes
"xmath" away after "@", the "@" is left alone (the readable text drops it), not made "@noop".
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable

import torch
from transformers import LogitsProcessor

from data.words import PLACEHOLDER, common_words, numbers, words

_RUN = re.compile(r"[a-z-]+")  # a word in the making: letters and hyphens
# A number in the making: digits, "." and ","; one that follows a letter is part of a name
# ("h3africa"), which the measures do not count as a number.
_NUMBER_RUN = re.compile(r"(?<![a-z0-9.,])[0-9][0-9.,]*")
# A number that runs into letters is a name ("3d", "5a"), which must be one the paper writes:
# otherwise digits and a stray piece join into "2006t" or "n=549t".
_DIGIT_NAME = re.compile(_NUMBER_RUN.pattern + r"[a-z][a-z0-9]*")
# So is a word that runs into digits ("her2", "tlr4", "wfpc2"): otherwise a word and a stray
# digit join into "hematuria3", "section7" or "humans4,22", or a name into "her22".
_LETTER_NAME = re.compile(r"(?<![a-z0-9])[a-z]+[0-9][a-z0-9]*")
# The words of a web address. Abstracts say often enough that "code is available at
# https://github.com/..." for these to be common words, and the model learned to end a summary
# so whatever its paper; a summary may only give an address where its paper gives one.
WEB_WORDS = frozenset({"http", "https", "www", "github", "com", "org"})
# Words that say what evidence a paper holds. Many training arXiv abstracts are of machine
# learning: 409 of 3,680 say "extensive experiments", others "our code is available". The
# model learned to say so of theory papers too: 23 of 100 arXiv validation summaries spoke of
# experiments where the paper never uses the word (session 26). A summary may claim
# experiments or code only where its paper speaks of them. The set holds every common word
# these begin (so "codes"): one left allowed would let the decoder start "code" as its prefix,
# and the constraint does not force a word it cannot finish.
CLAIM_WORDS = frozenset(
    {"experiment", "experiments", "experimental", "experimentally", "code", "codes"}
)
# Cohan's spaced hyphen, also while it is being written ("x -", "x - "), joins its words.
_HYPHEN = re.compile(r"(?<=[a-z]) ?- ?(?=[a-z]|$)")
_TAIL = re.compile(r"@?[a-z0-9.,-]*$")
# A placeholder in the making: "@" and what follows it ("@xmath3").
_PLACEHOLDER_RUN = re.compile(r"@[a-z0-9]*")
_LAST_WORD = re.compile(r"\s*\S+$")
TAIL_TOKENS = 16  # how far back an unfinished word is looked for


# token_pieces of each tokenizer in use: decoding 16k tokens one by one takes ~0.1 s.
_PIECES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def token_pieces(tokenizer) -> tuple[str, ...]:
    """Each token id's text, lower-cased; special tokens (end of text) are empty. Computed
    once per tokenizer (again if tokens were added to it since)."""
    pieces = _PIECES.get(tokenizer)
    if pieces is None or len(pieces) != len(tokenizer):
        special = set(tokenizer.all_special_ids)
        pieces = tuple(
            "" if i in special else tokenizer.decode([i]).lower() for i in range(len(tokenizer))
        )
        _PIECES[tokenizer] = pieces
    return pieces


class PaperWords(LogitsProcessor):
    """See the module docstring. `allowed`: the words that may be written; `allowed_numbers`:
    the numbers, and the names with digits ("3d", "her2"), that may be written (None: neither
    is checked); `placeholders`: what may follow an "@" (`xmath3`, `xcite`; None: not
    checked); `forbidden`: words never written, not even where no allowed word fits;
    `max_length`: the length of the generated sequences (with their
    start token) at which generation stops (None: not known)."""

    def __init__(
        self,
        pieces: tuple[str, ...],
        allowed: Iterable[str],
        allowed_numbers: Iterable[str] | None = None,
        max_length: int | None = None,
        forbidden: Iterable[str] = (),
        placeholders: Iterable[str] | None = None,
        top_k: int = 64,
        wide_k: int = 1024,
    ):
        self.pieces = pieces
        self.allowed = frozenset(allowed)
        self.prefixes = prefixes(self.allowed)
        self.numbers = None if allowed_numbers is None else frozenset(allowed_numbers)
        self.number_prefixes = prefixes(self.numbers or ())
        self.max_length = max_length
        self.forbidden = frozenset(forbidden)
        self.placeholders = None if placeholders is None else frozenset(placeholders)
        # "" too where there is one: a bare "@" may begin it.
        self.placeholder_prefixes = prefixes(self.placeholders or ()) | (
            {""} if self.placeholders else set()
        )
        self.text_ids = torch.tensor([i for i, piece in enumerate(pieces) if piece])
        self.top_k, self.wide_k = top_k, wide_k
        # fits() of each (tail, piece, last) asked so far: most steps start a new word (tail
        # ""), and the beams share their tails, so the same questions come back every step.
        self._fits: dict[tuple[str, str, bool], bool] = {}

    @classmethod
    def for_paper(
        cls, pieces: tuple[str, ...], paper: str, max_length: int | None = None
    ) -> PaperWords:
        """The paper's words, numbers, names with digits and placeholders, and the common words
        of abstracts but those of web addresses and of claims; `pieces`: `token_pieces`."""
        lower = paper.lower()
        # Not data.words.names, which leaves the formula placeholders out: the model writes
        # "@xmath3" too, and its "xmath3" must pass as one of the paper's names.
        names = set(_DIGIT_NAME.findall(lower)) | set(_LETTER_NAME.findall(lower))
        allowed = (common_words() - WEB_WORDS - CLAIM_WORDS) | set(words(paper))
        forbidden = (WEB_WORDS | CLAIM_WORDS) - allowed
        placeholders = {p[1:] for p in PLACEHOLDER.findall(lower) if p.startswith("@")}
        return cls(
            pieces, allowed, set(numbers(paper)) | names, max_length, forbidden, placeholders
        )

    def fits(self, tail: str, piece: str, last: bool = False) -> bool:
        """Whether `piece` may follow a text ending in `tail`, the unfinished word or number
        (`_TAIL` of the text written so far, its hyphens joined); `last`: `piece` ends the
        text."""
        text = _HYPHEN.sub("-", tail + piece)
        ended = last or not piece  # the end of text finishes every word and number
        for run in _RUN.finditer(text):
            if run.end() < len(text) or ended:  # finished by what follows, or the end
                word = run.group().strip("-")
                if len(word) >= 2 and word not in self.allowed:
                    return False
            else:
                word = run.group().lstrip("-")
                if word and word not in self.prefixes:
                    return False
        if not self.placeholder_fits(text, ended):
            return False
        if self.numbers is None:
            return True
        for run in _NUMBER_RUN.finditer(text):
            name = _DIGIT_NAME.match(text, run.start())
            if name:  # "3d": a name, not a number
                finished = name.end() < len(text) or ended
                if name.group() not in (self.numbers if finished else self.number_prefixes):
                    return False
                continue
            number = run.group().rstrip(".,")  # "in 2010." and "2, 3" end their numbers
            if run.end() < len(text) or ended:
                if number not in self.numbers:
                    return False
            elif number not in self.numbers and run.group() not in self.number_prefixes:
                return False
        for name in _LETTER_NAME.finditer(text):  # "her2": a name, whose digits are no number
            finished = name.end() < len(text) or ended
            if name.group() not in (self.numbers if finished else self.number_prefixes):
                return False
        return True

    def placeholder_fits(self, text: str, ended: bool, bare: bool = False) -> bool:
        """Whether each "@" of `text` begins or is one of the paper's placeholders; `ended`:
        the text ends there; `bare`: a lone "@" may stand (the readable text drops it)."""
        if self.placeholders is None:
            return True
        for run in _PLACEHOLDER_RUN.finditer(text):
            name = run.group()[1:]
            if run.end() < len(text) or ended:
                if name not in self.placeholders and not (bare and not name):
                    return False
            elif name not in self.placeholder_prefixes:
                return False
        return True

    def forbids(self, tail: str, piece: str) -> bool:
        """Whether `piece` after `tail` makes a forbidden word, finished or not, or turns an
        "@" into something other than a placeholder (a lone "@" may stand)."""
        text = _HYPHEN.sub("-", tail + piece)
        if not self.placeholder_fits(text, ended=False, bare=True):
            return True
        return any(run.group().strip("-") in self.forbidden for run in _RUN.finditer(text))

    def fits_once(self, tail: str, piece: str, last: bool) -> bool:
        """`fits`, each question answered once."""
        key = (tail, piece, last)
        answer = self._fits.get(key)
        if answer is None:
            answer = self._fits[key] = self.fits(tail, piece, last)
        return answer

    def trim(self, text: str) -> str:
        """`text` without the words at its end that are not allowed (one the length cut)."""
        for _ in range(TAIL_TOKENS):
            tail = _TAIL.search(_HYPHEN.sub("-", text.lower())).group()
            if not text or self.fits(tail, ""):
                break
            text = _LAST_WORD.sub("", text)
        return text.rstrip(" -")

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        last = self.max_length is not None and input_ids.shape[-1] + 1 >= self.max_length
        for row, ids in enumerate(input_ids[:, -TAIL_TOKENS:].tolist()):
            written = _HYPHEN.sub("-", "".join(self.pieces[i] for i in ids))
            tail = _TAIL.search(written).group()
            for k in (self.top_k, self.wide_k):
                candidates = scores[row].topk(min(k, scores.shape[-1])).indices.tolist()
                banned = [t for t in candidates if not self.fits_once(tail, self.pieces[t], last)]
                if len(banned) < len(candidates):
                    scores[row, banned] = float("-inf")
                    break
            else:  # nothing fits: the row is left as it is, but for the forbidden words
                forbidden = [t for t in candidates if self.forbids(tail, self.pieces[t])]
                scores[row, forbidden] = float("-inf")
                if last:  # nothing finishes the word: end the text, and `trim` cuts the word
                    scores[row, self.text_ids] = float("-inf")
        return scores


def prefixes(strings: Iterable[str]) -> frozenset[str]:
    """Every non-empty prefix of every string."""
    return frozenset(s[:i] for s in strings for i in range(1, len(s) + 1))
