"""The greedy extractive oracle: the sentences that score best against a reference, which
bounds what an extractive system can reach and labels the salience model's training data."""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter

from nltk.stem.porter import PorterStemmer

Sentences = list[str]
_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def oracle(sentences: Sentences, reference: str, max_sentences: int = 20) -> Sentences:
    """Greedy extractive oracle: the sentences of `oracle_indices`, in document order."""
    return [sentences[i] for i in oracle_indices(sentences, reference, max_sentences)]


def oracle_indices(sentences: Sentences, reference: str, max_sentences: int = 20) -> list[int]:
    """Greedy extractive oracle: keep adding the sentence that most raises the mean of
    ROUGE-1 and ROUGE-2 F1 against the reference, while it rises. Sorted indices.

    Scored with rouge-score's tokens and stemming, counted incrementally so that labelling
    thousands of training papers takes minutes (0.04 s a paper); bigrams spanning two chosen
    sentences are not counted (rouge-score counts them). Against the same greedy search
    scored by rouge-score itself, on 30 validation papers: the same sentences for 19, and a
    mean objective of 0.48127 against 0.48134."""
    ref = rouge_tokens(reference)
    ref_counts = (Counter(ref), Counter(itertools.pairwise(ref)))
    ref_sizes = (len(ref), max(len(ref) - 1, 0))
    grams = []
    for sentence in sentences:
        tokens = rouge_tokens(sentence)
        grams.append((Counter(tokens), Counter(itertools.pairwise(tokens))))
    chosen: list[int] = []
    picked = (Counter(), Counter())  # n-grams of the chosen sentences
    overlap, size = [0, 0], [0, 0]  # per order: clipped matches, n-grams chosen
    best = 0.0
    while len(chosen) < max_sentences:
        best_gain = None
        for i, counts in enumerate(grams):
            if i in chosen:
                continue
            new_overlap = [
                overlap[k]
                + sum(
                    min(picked[k][g] + c, ref_counts[k][g]) - min(picked[k][g], ref_counts[k][g])
                    for g, c in counts[k].items()
                    if g in ref_counts[k]
                )
                for k in range(2)
            ]
            new_size = [size[k] + sum(counts[k].values()) for k in range(2)]
            score = sum(f1(new_overlap[k], new_size[k], ref_sizes[k]) for k in range(2)) / 2
            if best_gain is None or score > best_gain[0]:
                best_gain = (score, i, new_overlap, new_size)
        if best_gain is None or best_gain[0] <= best:
            break
        best, i, overlap, size = best_gain
        chosen.append(i)
        for k in range(2):
            picked[k].update(grams[i][k])
    return sorted(chosen)


def f1(matches: int, predicted: int, reference: int) -> float:
    if matches == 0:
        return 0.0
    precision, recall = matches / predicted, matches / reference
    return 2 * precision * recall / (precision + recall)


_STEMMER = PorterStemmer()


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _STEMMER.stem(word) if len(word) > 3 else word


def rouge_tokens(text: str) -> list[str]:
    """rouge-score's tokens (lower case, alphanumeric runs, Porter stems), stems cached."""
    return [_stem(w) for w in _NON_ALPHANUMERIC.sub(" ", text.lower()).split()]
