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
    docstring). Cached by datasets: the sentences' counts, scores and oracle picks per
    salience model and tokenizer (`sentence_parts`), the choice per length and share."""
    selector = InputSelector(tokenizer, max_input_tokens)
    parts = sentence_parts(docs, selector, salience)
    fingerprint = hashlib.sha256(
        f"{parts._fingerprint}-{max_input_tokens}-{oracle_share}".encode()
    ).hexdigest()[:32]

    def select(doc: dict) -> dict:
        first = doc["oracle"] if takes_oracle(doc["id"], oracle_share) else ()
        scores = doc["scores"]
        chosen = selector.select_scored(doc["sentences"], doc["lengths"], lambda _: scores, first)
        return {"article": chosen.text}

    return parts.map(
        select,
        remove_columns=list(PARTS),
        new_fingerprint=fingerprint,
        desc=f"choosing {max_input_tokens} tokens of salient sentences",
    )


PARTS = ("sentences", "lengths", "scores", "oracle")


def sentence_parts(
    docs: datasets.Dataset, selector: InputSelector, salience: SalienceModel
) -> datasets.Dataset:
    """`docs` with what choosing among each article's sentences needs and what does not depend
    on the input length or the oracle share (columns `PARTS`): the sentences, their token
    counts, their salience scores, and the greedy oracle's picks. This is the slow part
    (about 0.06 s a paper), done once per salience model and tokenizer; `selector`'s
    length plays no part."""
    weights = hashlib.sha256(
        b"".join(p.detach().numpy().tobytes() for p in salience.parameters())
    ).hexdigest()[:16]
    vocab = selector.tokenizer.backend_tokenizer.to_str()
    vocab = hashlib.sha256(vocab.encode()).hexdigest()[:16]
    fingerprint = hashlib.sha256(
        f"{docs._fingerprint}-sentence-parts-{weights}-{vocab}".encode()
    ).hexdigest()[:32]

    def split(doc: dict) -> dict:
        sentences = split_sentences(doc["article"])
        return {
            "sentences": sentences,
            "lengths": selector.count_each(sentences),
            "scores": salience.score(sentences).tolist(),
            "oracle": [int(i) for i in oracle_indices(sentences, doc["abstract"])],
        }

    return docs.map(split, new_fingerprint=fingerprint, desc="scoring sentences")
