"""Fitting the sentence-salience model (`summarizer.salience`): label every sentence of the
training papers with the greedy ROUGE oracle, then fit the model to those labels.
Run as `python -m summarizer train-salience`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing import Pool

import numpy as np
import torch
from torch import nn

from data.dataset import load_documents
from data.sentences import split_sentences
from eval.oracle import oracle_indices
from summarizer.salience import SalienceConfig, SalienceModel, SentenceBatch, sentence_inputs

log = logging.getLogger(__name__)


def select_bags(
    values: torch.Tensor, offsets: torch.Tensor, ends: torch.Tensor, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The bags `rows` of a bag list (bag i is values[offsets[i]:ends[i]]), as a new bag
    list (values, offsets) for nn.EmbeddingBag."""
    lengths = ends[rows] - offsets[rows]
    new_offsets = torch.cumsum(lengths, 0) - lengths
    within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(new_offsets, lengths)
    return values[torch.repeat_interleave(offsets[rows], lengths) + within], new_offsets


@dataclass
class LabelledDocument:
    batch: SentenceBatch
    labels: np.ndarray  # (n,) 1.0 for oracle sentences


def label_document(article: str, abstract: str, config: SalienceConfig, max_sentences: int):
    """Inputs and oracle labels of one training paper; None when it has under 3 sentences.
    Very long papers keep their first `max_sentences` sentences (bounded labelling time)."""
    sentences = split_sentences(article)[:max_sentences]
    if len(sentences) < 3:
        return None
    labels = np.zeros(len(sentences), dtype=np.float32)
    labels[oracle_indices(sentences, abstract)] = 1.0
    return LabelledDocument(sentence_inputs(sentences, config), labels)


def _label(args):
    return label_document(*args)


def label_documents(
    pairs: Iterable[tuple[str, str]], config: SalienceConfig, workers: int, max_sentences: int
) -> list[LabelledDocument]:
    jobs = [(a, b, config, max_sentences) for a, b in pairs]
    if workers <= 1:
        results = [_label(job) for job in jobs]
    else:
        with Pool(workers) as pool:
            results = pool.map(_label, jobs, chunksize=16)
    return [r for r in results if r is not None]


@dataclass
class SalienceTraining:
    data: list[str]  # Cohan files or folders
    out: str  # model directory to write salience.* into
    limit: int = 0  # documents per data source; 0 = all
    epochs: int = 4
    batch_sentences: int = 4096
    lr: float = 3e-3
    word_lr: float = 0.05
    max_sentences: int = 600
    workers: int = 2
    seed: int = 0


def train_salience(settings: SalienceTraining) -> dict:
    """Label the papers with the oracle, fit the model, save it into settings.out; returns a
    summary of the run."""
    config = SalienceConfig()
    pairs = []
    for source in settings.data:
        docs, _ = load_documents(source, limit=settings.limit or None)
        pairs += list(zip(docs["article"], docs["abstract"], strict=True))
    if not pairs:
        raise ValueError(f"No usable documents in {settings.data}")
    labelled = label_documents(pairs, config, settings.workers, settings.max_sentences)
    if not labelled:
        raise ValueError(f"No paper in {settings.data} has 3 or more sentences to learn from")
    model, history = fit_salience(labelled, settings, config)
    model.save(settings.out)
    sentences = sum(len(d.labels) for d in labelled)
    return {"documents": len(labelled), "sentences": sentences, "loss": history}


def fit_salience(
    labelled: list[LabelledDocument], settings: SalienceTraining, config: SalienceConfig
) -> tuple[SalienceModel, list[float]]:
    """A model fitted to labelled papers (binary cross-entropy per sentence, positives
    weighted by their rarity), and its mean loss per epoch."""
    torch.manual_seed(settings.seed)
    data = SentenceBatch.concat([d.batch for d in labelled])
    labels = torch.from_numpy(np.concatenate([d.labels for d in labelled]))
    features = torch.from_numpy(data.features)
    hashes, offsets = torch.from_numpy(data.hashes), torch.from_numpy(data.offsets)
    ends = torch.cat([offsets[1:], torch.tensor([len(hashes)])])
    log.info(
        "%d documents, %d sentences, %.1f%% in the oracle",
        len(labelled),
        len(labels),
        100 * labels.mean().item(),
    )

    model = SalienceModel(config)
    model.mean.copy_(features.mean(0))
    model.std.copy_(features.std(0).clamp_min(1e-6))
    optimizer = torch.optim.Adam(
        [
            {"params": model.mlp.parameters(), "lr": settings.lr},
            {"params": model.words.parameters(), "lr": settings.word_lr},
        ]
    )
    positive = labels.mean().clamp(1e-4, 0.5)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=(1 - positive) / positive)
    history = []
    for epoch in range(settings.epochs):
        order = torch.randperm(len(labels))
        total = 0.0
        for start in range(0, len(order), settings.batch_sentences):
            rows = order[start : start + settings.batch_sentences]
            bag, bag_offsets = select_bags(hashes, offsets, ends, rows)
            logits = model(features[rows], bag, bag_offsets)
            loss = loss_fn(logits, labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        history.append(total / len(labels))
        log.info("epoch %d: loss %.4f", epoch + 1, history[-1])
    return model.eval(), history
