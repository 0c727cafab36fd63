"""Tokenizer training, round trips on normalized text, and persistence."""

import pytest

from data.normalize import join_summary, normalize_text
from summarizer.model.tokenizer import load_tokenizer, save_tokenizer, train_tokenizer

CORPUS = [
    "the cluster operator @xmath6 involves amplitudes @xmath7 of @xmath8-fold excitations @xcite .",
    "we measured 1,024 samples at 3.5 k and 10^-3 pa ; see fig . 2 and table [ tab : 1 ] .",
    "café naïve résumé – ω-limit sets , Δ = 0.5 and ≈ 2 × 10³ µm .",
    "results show a 33-year-old patient with glp-1 levels of @xnum nmol / l .",
] * 50


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([normalize_text(t) for t in CORPUS], vocab_size=400)


@pytest.mark.parametrize(
    "text",
    [
        "the cluster operator @xmath6 involves amplitudes @xmath12 @xcite .",
        "we measured 1,024 samples at 3.5 k ; 99.97 % of 123456789",
        "café naïve résumé – ω-limit sets , δ = 0.5 and ≈ 2 × 10³ µm 日本語 🙂",
        join_summary(["<S> first sentence . </S>", "<S> second one @xcite . </S>"]),
    ],
)
def test_round_trip_on_normalized_text(tokenizer, text):
    text = text if "\n" in text else normalize_text(text)
    ids = tokenizer(text)["input_ids"]
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_special_token_ids_match_the_model_defaults(tokenizer):
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)


def test_placeholders_become_few_tokens(tokenizer):
    # Frequent placeholders should be learned as units, not spelled out byte by byte.
    assert len(tokenizer.tokenize("@xcite")) <= 2


def test_save_and_load(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = load_tokenizer(tmp_path)
    text = "the cluster operator @xmath6 .\nsecond line"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    with pytest.raises(FileNotFoundError, match=r"No tokenizer\.json"):
        load_tokenizer(tmp_path / "missing")


def test_a_saved_tokenizer_does_not_keep_the_last_calls_truncation(tokenizer, tmp_path):
    # Training tokenizes with truncation=True, max_length=N just before saving a checkpoint.
    # transformers turns truncation off again on its next call without it, but tokenizer.json
    # is also read directly (tokenizers.Tokenizer.from_file), which would truncate at N.
    from tokenizers import Tokenizer

    text = " ".join(["the cluster operator @xmath6 ."] * 40)
    assert len(tokenizer(text, truncation=True, max_length=8)["input_ids"]) == 8
    save_tokenizer(tokenizer, tmp_path)
    assert len(Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode(text).ids) > 8
    assert len(load_tokenizer(tmp_path)(text)["input_ids"]) > 8


def test_tiny_vocabulary_is_refused():
    with pytest.raises(ValueError, match="vocab_size must be at least 300"):
        train_tokenizer(["a b c"], vocab_size=100)
