"""Do a summary's specifics come from its paper? The share of the numbers, of the rare words and
of the names with digits ("her2") of a summary that also occur in the paper it summarizes. A
rare word is one outside the COMMON_WORDS most frequent words of the training abstracts
(`data/words.py`).

    python -m eval.faithfulness --data ../shared/data/arxiv/train.jsonl.gz \
        ../shared/data/pubmed/train.jsonl.gz

writes that word list again from the training abstracts.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from data.words import (
    COMMON_WORDS,
    WORD_LIST,
    common_words,
    most_common_words,
    names,
    numbers,
    summary_words,
    words,
)


@dataclass
class Support:
    """How many of a summary's numbers, rare words and names its paper also holds."""

    numbers: int = 0
    numbers_supported: int = 0
    rare_words: int = 0
    rare_words_supported: int = 0
    names: int = 0
    names_supported: int = 0

    def __add__(self, other: Support) -> Support:
        return Support(
            *(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True))
        )

    def shares(self) -> dict[str, float | None]:
        """Supported shares (None when the summaries hold none of that kind)."""

        def share(supported: int, total: int) -> float | None:
            return supported / total if total else None

        return {
            "numbers": share(self.numbers_supported, self.numbers),
            "rare_words": share(self.rare_words_supported, self.rare_words),
            "names": share(self.names_supported, self.names),
            "n_numbers": self.numbers,
            "n_rare_words": self.rare_words,
            "n_names": self.names,
        }


def support(summary: str, paper: str, common: frozenset[str] | None = None) -> Support:
    """Each number, rare word and name of `summary` (every occurrence), and whether `paper`
    has it."""
    common = common_words() if common is None else common
    paper_numbers = set(numbers(paper))
    paper_words = set(words(paper))
    paper_names = set(names(paper))
    found = numbers(summary)
    rare = [w for w in summary_words(summary) if w not in common]
    named = names(summary)
    return Support(
        numbers=len(found),
        numbers_supported=sum(n in paper_numbers for n in found),
        rare_words=len(rare),
        rare_words_supported=sum(w in paper_words for w in rare),
        names=len(named),
        names_supported=sum(n in paper_names for n in named),
    )


def main(argv: list[str] | None = None) -> int:
    from data.dataset import load_documents

    parser = argparse.ArgumentParser(description=f"Write {WORD_LIST.name}")
    parser.add_argument("--data", nargs="+", required=True, help="training Cohan files")
    args = parser.parse_args(argv)
    abstracts = []
    for source in args.data:
        docs, _ = load_documents(source)
        abstracts += docs["abstract"]
    WORD_LIST.write_text("\n".join(most_common_words(abstracts)) + "\n")
    print(f"{WORD_LIST}: the {COMMON_WORDS} most frequent words of {len(abstracts)} abstracts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
