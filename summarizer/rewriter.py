"""The sentence rewriter (Chen & Bansal 2018): a Terraformer trained on pairs of an article
sentence and the abstract sentence that holds most of it (eval/pairs.py,
configs/rewriter-cpu.toml), then on those where the abstract sentence is its source with words
taken out (`--deletions`, configs/rewriter-deletions-cpu.toml), rewrites a key sentence as an
abstract would say it.

It lives in a model folder's `rewriter/` subfolder, a model folder of its own (`export` writes
one); the Summarizer's "rewritten" mode picks the key sentences with the folder's salience
model and has the rewriter write the long ones (REWRITE_ABOVE) again.

A rewrite may drop a sentence's opening and ending, a few words, and its asides: a bracketed
phrase or one between commas. Where it drops more from the middle, it splices two parts of the
sentence into a claim the paper does not make ("confined between a flat surface with strong
anchoring and a patterned surface, finding transitions between a homeotropic texture and ..."
became "confined between a homeotropic texture"). Such a rewrite is not used: the best beam
that does not splice is, or else the sentence itself. Most long sentences' shorter beams
splice. The beam chosen is kept only where the rewriter finds it a likelier output than the
sentence itself.
"""

from __future__ import annotations

import difflib
import itertools
import os
from pathlib import Path

import torch
from transformers import LogitsProcessorList

from summarizer.model.modeling import IGNORE_INDEX, TerraformerForConditionalGeneration
from summarizer.model.tokenizer import load_tokenizer
from summarizer.paths import REWRITER_DIR
from summarizer.settings import GenerationSettings
from summarizer.vocabulary import PaperWords, token_pieces

# The most tokens one rewritten sentence may have (the training targets: at most 96).
MAX_SENTENCE_TOKENS = 96
# Rewrites are shorter than their sources (the training pairs: median 21 words against 33), so
# the rewritten mode rewrites the key sentences for this many times its word budget, then keeps
# the most salient rewrites that fill the budget. With 3.0, 6 of the first 50 + 50 validation
# papers' summaries changed, and ROUGE did not (model card, "Key sentences, rewritten").
PICK_FACTOR = 2.0
# Only key sentences of more than this many tokens (model text) are rewritten; the others are
# kept as written. The first rewriter dropped abstract words as often as other words, so
# rewriting paid only where a sentence is long: on the first 50 + 50 validation papers,
# PubMed's ROUGE-1 rose from 42.84 (every sentence rewritten) to 43.07, 43.46 and 44.28 with
# 25, 35 and 50 here, and arXiv's stayed level. With the deletion rewriter, 25 gains on arXiv
# and loses 1.2 on PubMed (model card, "Key sentences, rewritten"), so 50 stays.
REWRITE_ABOVE = 50
# A rewrite splices its sentence when it drops more than this many words from between two
# words it keeps, other than an aside (see the module docstring).
SPLICE_WORDS = 3
_OPEN, _CLOSE = ("(", "["), (")", "]")
_SENTENCE_END = (".", "?", "!")


def splices(source: str, rewrite: str) -> list[str]:
    """The runs of `source`'s words that `rewrite` drops from between two words it keeps and
    that splice it: more than SPLICE_WORDS words besides bracketed asides, and not set off by
    commas. [] when the rewrite does not splice its sentence. Both are model text (tokens
    between spaces)."""
    old, new = source.split(), rewrite.split()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    kept = [block for block in matcher.get_matching_blocks() if block.size]
    if kept and kept[-1].size == 1 and old[kept[-1].a] in _SENTENCE_END:
        kept.pop()  # a rewrite that ends early keeps the full stop: its ending is dropped
    runs = []
    for left, right in itertools.pairwise(kept):
        start, end = left.a + left.size, right.a
        run = old[start:end]
        if not run:
            continue  # words written in, none dropped
        between_commas = "," in (run[0], old[start - 1]) and "," in (run[-1], old[end])
        if unbracketed_words(run) > SPLICE_WORDS and not between_commas:
            runs.append(" ".join(run))
    return runs


def unbracketed_words(run: list[str]) -> int:
    """How many of the words `run` are outside brackets; all of them when its brackets do not
    balance."""
    depth, outside = 0, 0
    for word in run:
        if word in _OPEN:
            depth += 1
        elif word in _CLOSE:
            depth -= 1
            if depth < 0:
                return len(run)
        elif depth == 0:
            outside += 1
    return outside if depth == 0 else len(run)


class Rewriter:
    """A sentence-rewriting model and its tokenizer."""

    def __init__(self, model: TerraformerForConditionalGeneration, tokenizer):
        self.model = model.eval()
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, model_dir: str | os.PathLike) -> Rewriter:
        """The rewriter of a model folder (its REWRITER_DIR)."""
        path = Path(model_dir) / REWRITER_DIR
        model = TerraformerForConditionalGeneration.from_pretrained(path, dtype=torch.float32)
        return cls(model, load_tokenizer(path))

    def rewrite(
        self, sentences: list[str], settings: GenerationSettings, paper: str | None = None
    ) -> list[str]:
        """Each sentence (the training data's style) rewritten, in the same order: one batch,
        searched with `settings`' beams, repeat and length penalties. With
        settings.paper_words, only words of `paper` (default: the sentences) and common
        words of abstracts, and only its numbers, are written. A rewrite that splices its
        sentence (`splices`) gives way to the next beam that does not, or else to the sentence
        itself; the one chosen is kept where the rewriter finds it likelier than its sentence
        (`unless_copying_is_likelier`)."""
        if not sentences:
            return []
        batch = self.encode(sentences, self.model.config.max_input_tokens)
        processors = LogitsProcessorList()
        constraint = None
        if settings.paper_words:
            pieces = token_pieces(self.tokenizer)
            text = paper or " ".join(sentences)
            constraint = PaperWords.for_paper(pieces, text, 1 + MAX_SENTENCE_TOKENS)
            processors.append(constraint)
        search = {
            **settings.generate_kwargs(),
            "max_new_tokens": MAX_SENTENCE_TOKENS,
            "min_new_tokens": 0,  # the summary's minimum is not a sentence's
        }
        beams = search["num_beams"]
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                logits_processor=processors,
                num_return_sequences=beams,
                **search,
            )
        written = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        if constraint is not None:
            written = [constraint.trim(text) for text in written]
        written = [" ".join(text.split()) for text in written]
        sources = [" ".join(s.split()) for s in sentences]
        # Each sentence's beams, best first: the first that does not splice it, else itself.
        chosen = [
            next((text for text in written[i * beams : (i + 1) * beams] if not splices(s, text)), s)
            for i, s in enumerate(sources)
        ]
        return self.unless_copying_is_likelier(sources, chosen)

    def unless_copying_is_likelier(self, sources: list[str], rewrites: list[str]) -> list[str]:
        """Each rewrite, or its sentence where the rewriter finds the sentence itself at least
        as likely an output as the rewrite (mean log-probability per token, given the
        sentence), or where the rewrite is empty: a cut the model is less sure of than of
        copying is not made. With it about 30% of the long key sentences stay rewritten (first
        50 + 50 validation papers), and on all 100 + 100 ROUGE-2 rose by 0.05 (arXiv) and 0.25
        (PubMed) over keeping every chosen beam, p = 0.006 each (model card, "Key sentences,
        rewritten")."""
        changed = [i for i, (s, r) in enumerate(zip(sources, rewrites, strict=True)) if r != s]
        if not changed:
            return rewrites
        given = [sources[i] for i in changed]
        # one batch: each changed sentence read twice, once for its rewrite, once for itself
        scores = self.mean_log_probs(given + given, [rewrites[i] for i in changed] + given)
        rewritten, copied = scores[: len(given)], scores[len(given) :]
        out = list(rewrites)
        for i, new, same in zip(changed, rewritten, copied, strict=True):
            if not rewrites[i] or same >= new:
                out[i] = sources[i]
        return out

    def encode(self, texts: list[str], max_tokens: int) -> dict[str, torch.Tensor]:
        """Token ids and attention mask of `texts`, one padded batch, each cut to max_tokens."""
        return self.tokenizer(
            texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
        )

    def mean_log_probs(self, sources: list[str], targets: list[str]) -> list[float]:
        """The rewriter's mean log-probability per token of each target (its tokens and the
        closing </s>, teacher-forced) when it reads the source: one padded batch."""
        inputs = self.encode(sources, self.model.config.max_input_tokens)
        written = self.encode(targets, MAX_SENTENCE_TOKENS)
        labels = written["input_ids"].masked_fill(written["attention_mask"] == 0, IGNORE_INDEX)
        with torch.inference_mode():
            logits = self.model(  # decoder inputs, not labels: no loss is wanted here
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                decoder_input_ids=self.model.shift_right(labels),
            ).logits.float()
        # (the copy head's logits are log-probabilities already; log_softmax leaves them so)
        chosen = logits.log_softmax(-1).gather(-1, labels.clamp(min=0).unsqueeze(-1))
        real = labels != IGNORE_INDEX
        return ((chosen.squeeze(-1) * real).sum(1) / real.sum(1)).tolist()
