"""Extractive baselines: Lead-k, LexRank, TextRank and a greedy ROUGE oracle.

Each takes the document's sentences and a word budget and returns the chosen sentences in
document order, stopping once the budget is reached (the last sentence may cross it), so
summaries have about the length of the references they are compared with.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np
from rouge_score import rouge_scorer

Sentences = list[str]


def lead(sentences: Sentences, max_words: int) -> Sentences:
    """The first sentences, up to the budget."""
    return take_in_order(sentences, range(len(sentences)), max_words)


def lexrank(sentences: Sentences, max_words: int, threshold: float = 0.1) -> Sentences:
    """LexRank (Erkan & Radev 2004): PageRank over the graph of sentences whose TF-IDF cosine
    similarity exceeds `threshold`; the most central sentences win."""
    edges = tfidf_cosine(sentences) > threshold
    np.fill_diagonal(edges, False)  # no self-loops
    return take_by_score(sentences, pagerank(edges), max_words)


def textrank(sentences: Sentences, max_words: int) -> Sentences:
    """TextRank (Mihalcea & Tarau 2004): weighted PageRank with similarity = shared words /
    (log |s1| + log |s2|)."""
    bags = [set(words(s)) for s in sentences]
    n = len(sentences)
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            denominator = math.log(len(bags[i]) + 1) + math.log(len(bags[j]) + 1)
            if denominator > 0:
                weights[i, j] = weights[j, i] = len(bags[i] & bags[j]) / denominator
    return take_by_score(sentences, pagerank(weights), max_words)


def oracle(sentences: Sentences, reference: str, max_sentences: int = 20) -> Sentences:
    """Greedy extractive oracle: keep adding the sentence that most raises the mean of
    ROUGE-1 and ROUGE-2 F1 against the reference, while it rises."""
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)

    def gain(chosen: list[int]) -> float:
        text = "\n".join(sentences[i] for i in sorted(chosen))
        scores = scorer.score(reference, text)
        return (scores["rouge1"].fmeasure + scores["rouge2"].fmeasure) / 2

    chosen: list[int] = []
    best = 0.0
    while len(chosen) < max_sentences:
        candidates = [(gain([*chosen, i]), i) for i in range(len(sentences)) if i not in chosen]
        if not candidates:
            break
        score, index = max(candidates)
        if score <= best:
            break
        chosen.append(index)
        best = score
    return [sentences[i] for i in sorted(chosen)]


BASELINES: dict[str, Callable[..., Sentences]] = {
    "lead": lead,
    "lexrank": lexrank,
    "textrank": textrank,
}


def words(sentence: str) -> list[str]:
    return [w for w in sentence.split() if any(c.isalnum() for c in w)]


def tfidf_cosine(sentences: Sentences) -> np.ndarray:
    """(n, n) cosine similarities of the sentences' TF-IDF vectors (IDF over the sentences)."""
    counts = [Counter(words(s)) for s in sentences]
    document_frequency = Counter(w for c in counts for w in c)
    n = len(sentences)
    vocabulary = {w: i for i, w in enumerate(document_frequency)}
    matrix = np.zeros((n, len(vocabulary)))
    for row, c in enumerate(counts):
        for w, tf in c.items():
            matrix[row, vocabulary[w]] = tf * math.log(n / document_frequency[w] + 1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms > 0, norms, 1)
    return matrix @ matrix.T


def pagerank(weights: np.ndarray, damping: float = 0.85, iterations: int = 100) -> np.ndarray:
    """Stationary scores of a random walk over `weights` (boolean or weighted edges)."""
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    if n == 0:
        return np.zeros(0)
    out = weights.sum(axis=1, keepdims=True)
    transition = np.where(out > 0, weights / np.where(out > 0, out, 1), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = (1 - damping) / n + damping * transition.T @ scores
        if np.abs(new - scores).sum() < 1e-9:
            return new
        scores = new
    return scores


def take_by_score(sentences: Sentences, scores: np.ndarray, max_words: int) -> Sentences:
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    return take_in_order(sentences, order, max_words)


def take_in_order(sentences: Sentences, order, max_words: int) -> Sentences:
    """Pick sentences in `order` until `max_words` is reached; return them in document order."""
    chosen, total = [], 0
    for i in order:
        if total >= max_words:
            break
        chosen.append(i)
        total += len(sentences[i].split())
    return [sentences[i] for i in sorted(chosen)]
