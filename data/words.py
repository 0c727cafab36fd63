"""Words and numbers of a text, as the faithfulness measures and the decoder's word constraint
count them, and the words common in scientific abstracts.

A word is a run of lower-case letters and inner hyphens of two letters or more ("x-ray",
"nematic"); Cohan's spaced hyphen ("x - ray") joins a word as the readable text joins it, so a
summary shown as "x-ray" is found in a paper that spells it "x - ray". A number is a
free-standing run of digits with inner "." or ",". A formula or citation placeholder (Cohan's
`@xmath3`, `@xcite`, or the readable text's `[math]`) stands for something the text does not
show, and is neither a word nor a number of a summary (`summary_words`). A name with digits
("her2", "3d") is a third kind, counted whole. The common words are
the COMMON_WORDS most frequent words of the training abstracts (`data/common_words.txt`,
written by `python -m eval.faithfulness --data TRAIN FILES`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

COMMON_WORDS = 5000
WORD_LIST = Path(__file__).with_name("common_words.txt")

NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
# A name with digits: letters then digits ("her2", "tlr4", "wfpc2") or digits then letters
# ("3d"), one token; neither a word nor a number.
NAME = re.compile(r"(?<![\w.])(?:[a-z]+\d|\d+[a-z])[a-z\d]*(?![\w])")
WORD = re.compile(r"[a-z][a-z-]*[a-z]")
SPACED_HYPHEN = re.compile(r"(?<=[a-z]) - (?=[a-z])")
MATH = "[math]"  # what the readable text shows for a formula (summarizer/readable.py)
PLACEHOLDER = re.compile(rf"@x(?:math|cite)\d*|{re.escape(MATH)}")
# Any other "@" that begins a word: Cohan's LaTeX debris ("@noop", "@startlink"), SumPubMed's
# "@xnum" for a number, a lone "@". The readable text drops it; an e-mail address, whose "@"
# follows a word, keeps its "@".
AT_DEBRIS = re.compile(r"(?<!\w)@(?!x(?:math|cite))\w*")


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def names(text: str) -> list[str]:
    """The names with digits of a text, its placeholders (`@xmath3`) left out."""
    return NAME.findall(PLACEHOLDER.sub(" ", text.lower()))


def words(text: str) -> list[str]:
    return WORD.findall(SPACED_HYPHEN.sub("-", text.lower()))


def summary_words(summary: str) -> list[str]:
    """The words of a summary whose support is checked: its placeholders left out (a paper's
    `@xmath0` gives the word "xmath", the readable `[math]` gives "math", and neither is a
    term the summary took from its paper or made up)."""
    return words(PLACEHOLDER.sub(" ", summary))


@functools.cache
def common_words() -> frozenset[str]:
    if not WORD_LIST.is_file():
        raise FileNotFoundError(
            f"{WORD_LIST} is missing; write it with python -m eval.faithfulness --data FILES"
        )
    return frozenset(WORD_LIST.read_text().split())


def most_common_words(abstracts: Iterable[str], n: int = COMMON_WORDS) -> list[str]:
    counts = Counter()
    for abstract in abstracts:
        counts.update(words(abstract))
    return [w for w, _ in counts.most_common(n)]
