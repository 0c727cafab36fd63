"""Our own subword tokenizer: byte-level BPE trained on the training articles and abstracts,
saved and loaded with the model as a `PreTrainedTokenizerFast`.

Byte-level BPE covers every Unicode string with no unknown tokens, and decoding gives back
the exact input text, newlines included (summaries are one sentence per line).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

# Ids match TerraformerConfig's defaults: pad 0, bos (decoder start) 1, eos 2.
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>"]
PAD, BOS, EOS, UNK = SPECIAL_TOKENS


def train_tokenizer(texts: Iterable[str], vocab_size: int = 16384) -> PreTrainedTokenizerFast:
    """Train byte-level BPE on `texts`; every encoding ends with </s>."""
    if vocab_size < 300:
        raise ValueError(f"vocab_size must be at least 300 (256 bytes + merges), got {vocab_size}")
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {EOS}", special_tokens=[(EOS, tok.token_to_id(EOS))]
    )
    return wrap(tok)


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        clean_up_tokenization_spaces=False,  # keep " ." as written: the text is pre-tokenized
        model_max_length=1_000_000,  # the model has no length limit; truncation is explicit
    )


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """A tokenizer saved with `save_pretrained` (by itself or next to a model)."""
    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(f"No tokenizer.json in {path}")
    return PreTrainedTokenizerFast.from_pretrained(str(path))


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, path: str | Path) -> None:
    """`save_pretrained`, without the truncation or padding of the last call: a call with
    `truncation=True, max_length=N` sets them on the underlying tokenizer, which would save
    them into tokenizer.json and make every later user truncate at N."""
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    tokenizer.save_pretrained(str(path))
