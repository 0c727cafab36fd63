"""Choosing what the encoder reads when a paper is longer than the model's input: whole when it
fits, else either the opening sentences of every section, the first section (usually the
introduction) getting up to half of the budget (`select_input`), or the salience model's best
sentences in document order (`select_salient`, extract then abstract). A model reads what it
was trained on: its config's `input_selection` names which."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from data.ingest import Section
from data.normalize import cohan_style
from data.sentences import split_sentences

if TYPE_CHECKING:
    from summarizer.salience import SalienceModel


@dataclass
class Selection:
    """The text the encoder reads, and how it was chosen."""

    text: str
    input_tokens: int
    used_tokens: int
    shortening: str  # "" when nothing was left out


class InputSelector:
    """Token counting and input selection with one tokenizer."""

    def __init__(self, tokenizer, max_input_tokens: int):
        self.tokenizer = tokenizer
        self.max_input_tokens = max_input_tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def count_each(self, sentences: list[str]) -> list[int]:
        """Tokens per sentence as it appears after another one (after a space)."""
        if not sentences:
            return []
        encoded = self.tokenizer([" " + s for s in sentences], add_special_tokens=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def select_input(self, sections: list[Section], limit: int | None = None) -> Selection:
        """The encoder's text: the whole document when it fits, else a section-aware
        selection. The model learned from the start of papers, so the first section (usually
        the introduction) keeps up to half the budget, and the rest is shared evenly by the
        other sections, each keeping its opening sentences; document order is kept."""
        limit = limit or self.max_input_tokens
        budget = limit - 1  # room for </s>
        texts = [cohan_style(s.text) for s in sections]
        whole = " ".join(t for t in texts if t)
        total = self.count_tokens(whole)
        if total <= budget:
            return Selection(whole, total, total, "")
        sentences = [split_sentences(t) for t in texts]
        lengths = [self.count_each(group) for group in sentences]

        shares = share_budget([sum(group) for group in lengths], budget)
        # Each section keeps its opening sentences within its share; what the shares leave
        # (a sentence rarely ends exactly on one) then goes to the next sentences, first
        # section first.
        counts = [opening(group, share) for group, share in zip(lengths, shares, strict=True)]
        left = budget - sum(sum(group[:n]) for group, n in zip(lengths, counts, strict=True))
        for i, group in enumerate(lengths):
            while counts[i] < len(group) and group[counts[i]] <= left:
                left -= group[counts[i]]
                counts[i] += 1
        kept_sections = [
            " ".join(group[:n]) for group, n in zip(sentences, counts, strict=True) if n
        ]
        text, used = self.within(" ".join(kept_sections), budget)
        if not text:  # no opening sentence fits its share: fall back to the first tokens
            ids = self.tokenizer(whole, add_special_tokens=False)["input_ids"][:budget]
            text = self.tokenizer.decode(ids)
            used = len(ids)
            how = f"kept the first {used:,} of {total:,} tokens (no whole sentence fit)"
            return Selection(text, total, used, how)
        if len(sections) == 1:
            how = f"kept the opening {used:,} of {total:,} tokens (no section headings found)"
        else:
            how = (
                f"kept {used:,} of {total:,} tokens: the opening sentences of "
                f"{len(kept_sections)} of {len(sections)} sections, the first section "
                f"getting up to half of the {limit:,}-token input"
            )
        return Selection(text, total, used, how)

    def select_salient(
        self,
        sentences: list[str],
        salience: SalienceModel,
        first: Sequence[int] = (),
        limit: int | None = None,
    ) -> Selection:
        """Extract, then abstract: all of `sentences` when they fit, else those the salience
        model scores highest, taken while they fit and read in document order. Sentences in
        `first` (training puts the oracle's there) go before all others."""
        return self.select_scored(
            sentences, self.count_each(sentences), salience.score, first, limit
        )

    def select_scored(
        self,
        sentences: list[str],
        lengths: Sequence[int],
        score: Callable[[list[str]], Sequence[float]],
        first: Sequence[int] = (),
        limit: int | None = None,
    ) -> Selection:
        """`select_salient`'s choice from the sentences' token counts (`count_each`) and a
        function giving their salience scores, called only when they do not all fit. Training
        passes counts and scores it has cached, so that any input length reuses them."""
        limit = limit or self.max_input_tokens
        budget = limit - 1  # room for </s>
        total = sum(lengths)
        if total <= budget:
            text, used = self.within(" ".join(sentences), budget)
            return Selection(text, total, used, "")
        scores = score(sentences)
        ahead = set(first)
        rest = sorted(set(range(len(sentences))) - ahead, key=lambda i: (-scores[i], i))
        chosen, spent = [], 0
        for i in [*first, *rest]:  # a long sentence that does not fit leaves room for others
            if spent + lengths[i] <= budget:
                chosen.append(i)
                spent += lengths[i]
        # Counts are exact up to a token at the joins: drop the last pick rather than cut one.
        while True:
            text = " ".join(sentences[i] for i in sorted(chosen))
            used = self.count_tokens(text)
            if used <= budget or len(chosen) == 1:
                break
            chosen.pop()
        text, used = self.within(text, budget)
        how = (
            f"kept {used:,} of {total:,} tokens: the {len(chosen)} of {len(sentences)} sentences "
            f"the salience model rates highest, in document order"
        )
        return Selection(text, total, used, how)

    def within(self, text: str, budget: int) -> tuple[str, int]:
        """`text` cut to `budget` tokens, and its length; sentence counts are exact up to a
        token at the joins, so a selection can come out a token or two long."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > budget:
            text = self.tokenizer.decode(ids[:budget])
        return text, min(len(ids), budget)


def opening(lengths: list[int], share: int) -> int:
    """How many leading sentences (of these token lengths) fit in `share` tokens."""
    spent = 0
    for i, n in enumerate(lengths):
        if spent + n > share:
            return i
        spent += n
    return len(lengths)


def share_budget(sizes: list[int], budget: int) -> list[int]:
    """Token budgets per section: the first gets up to half, the others split the rest
    evenly; what a short section leaves unused goes to the sections that still want more."""
    shares = [0] * len(sizes)
    if not sizes:
        return shares
    shares[0] = min(sizes[0], budget // 2 if len(sizes) > 1 else budget)
    left = budget - shares[0]
    wanting = [i for i in range(1, len(sizes)) if sizes[i] > 0]
    while left > 0 and wanting:
        each = max(1, left // len(wanting))
        for i in list(wanting):
            give = min(each, sizes[i] - shares[i], left)
            shares[i] += give
            left -= give
            if shares[i] >= sizes[i]:
                wanting.remove(i)
            if left == 0:
                break
    if left > 0:  # everything else fit: give the first section the rest
        shares[0] = min(sizes[0], shares[0] + left)
    return shares
