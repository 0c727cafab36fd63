"""What the encoder reads in training when a run is configured for extract, then abstract
(`data.input_selection = "salient"`): each paper's article is replaced by the sentences the
Summarizer would choose at inference (`InputSelector.select_salient`).

The salience model's picks alone would teach the decoder only what inference gives it. For a
share of the training papers (`data.oracle_share`) the greedy oracle's sentences, which hold
what the abstract says, are taken first and the salience model fills the rest: the decoder
sees inputs that support its target (Pilault et al. 2020 train on oracle sentences), mixed
with inputs like those it will get. Validation papers get the salience model's picks only,
so that validation loss measures the model as it is used.
"""

from __future__ import annotations

import hashlib
import zlib

import datasets

from data.sentences import split_sentences
from eval.oracle import oracle_indices
from summarizer.salience import SalienceModel
from summarizer.selection import InputSelector


def takes_oracle(ident: str, share: float) -> bool:
    """Whether paper `ident` is one of the `share` whose input starts from the oracle's
    sentences; fixed per paper, so that a resumed run sees the same inputs."""
    return zlib.crc32(ident.encode()) % 10_000 < share * 10_000


def salient_articles(
    docs: datasets.Dataset,
    tokenizer,
    salience: SalienceModel,
    max_input_tokens: int,
    oracle_share: float = 0.0,
) -> datasets.Dataset:
    """`docs` with each article replaced by the text the encoder reads (see the module
    docstring). Cached by datasets, per salience model, tokenizer, length and share."""
    selector = InputSelector(tokenizer, max_input_tokens)
    weights = hashlib.sha256(
        b"".join(p.detach().numpy().tobytes() for p in salience.parameters())
    ).hexdigest()[:16]
    vocab = hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()[:16]
    fingerprint = hashlib.sha256(
        f"{docs._fingerprint}-salient-{weights}-{vocab}-{max_input_tokens}-{oracle_share}".encode()
    ).hexdigest()[:32]

    def select(doc: dict) -> dict:
        sentences = split_sentences(doc["article"])
        first = ()
        if takes_oracle(doc["id"], oracle_share):
            first = oracle_indices(sentences, doc["abstract"])
        return {"article": selector.select_salient(sentences, salience, first).text}

    return docs.map(select, new_fingerprint=fingerprint, desc="choosing salient sentences")
