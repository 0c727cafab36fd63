"""The whole Terraformer: causality, padding, persistence, learning, generation, configuration."""

import pytest
import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from summarizer import TerraformerConfig, TerraformerForConditionalGeneration
from summarizer.model import sizing
from summarizer.model.modeling import concat_encoder_target
from summarizer.model.sizing import count_parameters
from summarizer.seed import set_seed

# The tiny preset (hybrid decoder attention), its dense twin, the preset with the
# pointer-generator copy head, and with the paper's LSH decoder.
VARIANTS = ["sparse", "dense", "copy", "lsh-decoder"]


def make_model(variant: str, **overrides) -> TerraformerForConditionalGeneration:
    if variant == "copy":
        overrides["copy_attention"] = True
    if variant == "lsh-decoder":
        overrides["decoder_attention"] = "lsh"
    config = sizing.preset("tiny", dense=variant == "dense", **overrides)
    return TerraformerForConditionalGeneration(config).eval()


def test_encoder_output_and_target_are_laid_out_without_gaps():
    enc = torch.arange(1, 6).float().view(1, 5, 1).repeat(2, 1, 1)  # tokens 1..5
    enc_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    target = torch.tensor([[[10.0], [11.0]]]).repeat(2, 1, 1)
    x, mask, index = concat_encoder_target(
        enc, enc_mask, target, torch.ones(2, 2, dtype=torch.bool)
    )
    assert x[..., 0].tolist() == [[1, 2, 3, 4, 5, 10, 11], [1, 2, 3, 10, 11, 4, 5]]
    assert mask.tolist() == [[True] * 7, [True] * 5 + [False] * 2]
    assert index.tolist() == [[5, 6], [3, 4]]


@pytest.mark.parametrize("variant", VARIANTS)
def test_decoder_is_causal_through_the_whole_model(variant):
    model = make_model(variant)
    ids = torch.randint(3, 300, (2, 30))
    labels = torch.randint(3, 300, (2, 12))
    logits = model(input_ids=ids, labels=labels).logits
    t = 6  # logits at t predict token t from the inputs up to t (labels before t)
    changed = labels.clone()
    changed[:, t:] = torch.randint(3, 300, (2, 12 - t))
    logits2 = model(input_ids=ids, labels=changed).logits
    torch.testing.assert_close(logits2[:, : t + 1], logits[:, : t + 1], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(logits2[:, t + 1 :], logits[:, t + 1 :])


@pytest.mark.parametrize("variant", VARIANTS)
def test_input_padding_changes_no_logit(variant):
    model = make_model(variant)
    ids = torch.randint(3, 300, (1, 37))
    labels = torch.randint(3, 300, (1, 9))
    alone = model(input_ids=ids, labels=labels).logits
    padded_ids = torch.cat([ids, torch.full((1, 19), model.config.pad_token_id)], dim=1)
    mask = torch.cat([torch.ones(1, 37), torch.zeros(1, 19)], dim=1).long()
    padded = model(input_ids=padded_ids, attention_mask=mask, labels=labels).logits
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)
    # In a batch beside a longer document, too.
    other = torch.randint(3, 300, (1, 56))
    batch = model(
        input_ids=torch.cat([padded_ids, other]),
        attention_mask=torch.cat([mask, torch.ones(1, 56, dtype=torch.long)]),
        labels=labels.repeat(2, 1),
    ).logits
    torch.testing.assert_close(batch[:1], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("overrides", [{}, {"loss_sparsity": 4}, {"tie_word_embeddings": False}])
def test_save_and_load_round_trip(tmp_path, overrides):
    model = make_model("sparse", **overrides)
    ids, labels = torch.randint(3, 300, (2, 20)), torch.randint(3, 300, (2, 6))
    expected = model(input_ids=ids, labels=labels).logits
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = TerraformerForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded(input_ids=ids, labels=labels).logits, expected)
    auto = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert isinstance(auto, TerraformerForConditionalGeneration)
    assert torch.equal(auto(input_ids=ids, labels=labels).logits, expected)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), TerraformerConfig)
    if model.config.tie_word_embeddings:
        assert loaded.lm_head.weight is loaded.get_input_embeddings().weight


@pytest.mark.parametrize("variant", VARIANTS)
def test_tiny_model_overfits_one_batch(variant):
    model = make_model(variant, dropout=0.0, ff_dropout=0.0).train()
    ids = torch.randint(3, 300, (2, 24))
    labels = torch.randint(3, 300, (2, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        loss = model(input_ids=ids, labels=labels).loss
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # From ln(320) ≈ 5.8 (chance) to memorized; 0.1 nats means ~90% probability per token.
    assert first > 5.0
    assert loss.item() < 0.1
    # And greedy generation reproduces the memorized targets.
    model.eval()
    out = model.generate(input_ids=ids, max_new_tokens=10, do_sample=False)
    assert torch.equal(out[:, 1:], labels)


@pytest.mark.parametrize("variant", VARIANTS)
def test_generate_equals_step_by_step_argmax(variant):
    model = make_model(variant)
    ids = torch.randint(3, 300, (2, 25))
    mask = torch.ones_like(ids)
    mask[1, 18:] = 0
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=7, do_sample=False)
    prefix = torch.full((2, 1), model.config.decoder_start_token_id)
    for _ in range(7):
        logits = model(
            input_ids=ids, attention_mask=mask, decoder_input_ids=prefix, use_cache=False
        ).logits
        prefix = torch.cat([prefix, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, prefix)
    beam1 = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=7, num_beams=1)
    assert torch.equal(beam1, out)
    beams = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=7, num_beams=3)
    assert beams.shape[0] == 2


def test_inference_is_deterministic_despite_lsh():
    model = make_model("sparse")
    ids, labels = torch.randint(3, 300, (1, 40)), torch.randint(3, 300, (1, 5))
    set_seed(1)
    a = model(input_ids=ids, labels=labels).logits
    set_seed(2)
    assert torch.equal(model(input_ids=ids, labels=labels).logits, a)


def test_presets_and_their_dense_twins_are_parameter_matched():
    for name in ("tiny", "small", "base", "medium-800m"):
        sparse = TerraformerConfig.preset(name)
        dense = sizing.preset(name, dense=True)
        assert dense.is_dense and not sparse.is_dense
        n_sparse, n_dense = count_parameters(sparse), count_parameters(dense)
        assert abs(n_dense - n_sparse) / n_sparse < 0.01, name
    assert 10e6 <= count_parameters(TerraformerConfig.preset("small")) <= 30e6
    assert 700e6 <= count_parameters(TerraformerConfig.preset("medium-800m")) <= 900e6
    base = TerraformerConfig.preset("base")
    assert (base.d_model, base.d_ff, base.n_encoder_layers, base.n_decoder_layers) == (
        1024,
        4096,
        8,
        8,
    )


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"d_model": 60, "n_heads": 8}, "d_model (60) must be divisible by n_heads (8)"),
        ({"d_ff": 250}, "must divide d_ff (250)"),
        ({"qkv_sparsity": 5}, "qkv_sparsity (5 modules) must divide d_model"),
        ({"loss_sparsity": 7}, "loss_sparsity (7) must divide vocab_size"),
        ({"encoder_attention": "sparse"}, "encoder_attention must be one of"),
        ({"encoder_attention": "hybrid"}, "encoder_attention must be one of"),
        ({"lsh_n_buckets": 3}, "lsh_n_buckets must be 1 or an even number"),
        ({"dropout": 1.5}, "dropout must be in [0, 1)"),
        ({"n_heads": 0}, "n_heads must be positive"),
    ],
)
def test_bad_configuration_says_what_to_change(overrides, fragment):
    with pytest.raises(ValueError) as error:
        TerraformerConfig.preset("tiny", **overrides)
    assert fragment in str(error.value)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="choose one of"):
        TerraformerConfig.preset("huge")


@pytest.mark.parametrize("variant", VARIANTS)
def test_incremental_decoding_gives_the_full_forward_logits(variant):
    # Small LSH chunks and a long target, so that buckets, chunk boundaries and the Sparse QKV
    # convolution state all come into play while decoding.
    model = make_model(variant, lsh_chunk_len=4, lsh_n_buckets=4, lsh_chunks_before=1)
    ids = torch.randint(3, 300, (2, 21))
    mask = torch.ones_like(ids)
    mask[1, 13:] = 0  # the second document is shorter: padding sits inside the cache
    targets = torch.randint(3, 300, (2, 30))
    full = model(input_ids=ids, attention_mask=mask, decoder_input_ids=targets, use_cache=False)
    out = model(
        input_ids=ids, attention_mask=mask, decoder_input_ids=targets[:, :1], use_cache=True
    )
    steps = [out.logits]
    for t in range(2, 31):
        out = model(
            input_ids=ids, attention_mask=mask, decoder_input_ids=targets[:, :t], cache=out.cache
        )
        assert out.logits.shape[1] == 1  # only the new position is computed
        steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full.logits, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("num_beams", [1, 3])
def test_cached_generation_equals_uncached(variant, num_beams):
    model = make_model(variant, lsh_chunk_len=4, lsh_n_buckets=4)
    ids = torch.randint(3, 300, (2, 25))
    mask = torch.ones_like(ids)
    mask[0, 17:] = 0
    settings = dict(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=12,
        num_beams=num_beams,
        do_sample=False,
        no_repeat_ngram_size=3,
    )
    cached = model.generate(**settings, use_cache=True)
    uncached = model.generate(**settings, use_cache=False)
    assert torch.equal(cached, uncached)


@pytest.mark.parametrize("variant", VARIANTS)
def test_reordering_the_cache_moves_only_what_differs_and_all_of_it_across_inputs(variant):
    """Beam search moves rows among the beams of one input: only target positions are moved
    then. A reorder across inputs moves everything, encoder positions and copy source too."""
    model = make_model(variant, lsh_chunk_len=4, lsh_n_buckets=4)
    ids = torch.randint(3, 300, (2, 21))
    ids = torch.cat([ids[:1], ids[:1], ids[1:]])  # rows 0 and 1 read the same input
    targets = torch.randint(3, 300, (3, 6))

    def decode(rows: list[int] | None) -> torch.Tensor:
        out = model(input_ids=ids, decoder_input_ids=targets[:, :5], use_cache=True)
        if rows is not None:
            out.cache.reorder_cache(torch.tensor(rows))
        moved = targets[rows] if rows is not None else targets
        return model(input_ids=ids, decoder_input_ids=moved, cache=out.cache).logits[:, -1]

    def expected(rows: list[int]) -> torch.Tensor:  # each row decodes its source row's input
        full = model(input_ids=ids[rows], decoder_input_ids=targets[rows], use_cache=False)
        return full.logits[:, -1]

    within = [1, 0, 2]  # beams of the first input swap: encoder positions stay
    fork = [0, 0, 2]  # beam 1 continues beam 0, which keeps its own row; row 2 stays
    across = [2, 2, 0]  # rows take another input's state: everything moves
    for rows in (within, fork, across):
        torch.testing.assert_close(decode(rows), expected(rows), atol=1e-4, rtol=1e-4)


def test_generate_really_uses_the_cache(monkeypatch):
    model = make_model("sparse")
    calls = {"full": 0, "prefill": 0, "step": 0}
    for name in calls:
        method = "forward" if name == "full" else name
        original = getattr(model.decoder, method)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(model.decoder, method, counted)
    ids = torch.randint(3, 300, (1, 30))
    model.generate(input_ids=ids, max_new_tokens=6, min_new_tokens=6, do_sample=False)
    assert calls == {"full": 0, "prefill": 1, "step": 6}


@pytest.mark.parametrize("variant", VARIANTS)
def test_sampling_length_penalty_and_minimum_length_work_with_the_cache(variant):
    model = make_model(variant)
    ids = torch.randint(3, 300, (2, 20))
    settings = dict(
        input_ids=ids, max_new_tokens=9, min_new_tokens=9, do_sample=True, top_k=20, temperature=0.9
    )
    outputs = []
    for use_cache in (True, False):
        set_seed(3)
        outputs.append(model.generate(**settings, use_cache=use_cache))
    assert torch.equal(outputs[0], outputs[1])  # same draws, same tokens
    assert outputs[0].shape[1] == 10  # start token + exactly 9 (EOS suppressed until then)
    beams = model.generate(input_ids=ids, num_beams=3, length_penalty=2.0, max_new_tokens=6)
    assert beams.shape[0] == 2 and beams.shape[1] <= 7


def test_loss_over_micro_batches_adds_up_to_the_batch_mean():
    """Gradient accumulation: each micro-batch's loss divided by the whole batch's target
    count sums to the loss of the batch in one piece, however unevenly the targets split."""
    model = make_model("sparse", dropout=0.0, ff_dropout=0.0)
    ids = torch.randint(3, 300, (3, 20))
    labels = torch.randint(3, 300, (3, 10))
    labels[0, 4:] = -100  # the rows hold 4, 10 and 10 targets
    whole = model(input_ids=ids, labels=labels).loss
    n = int((labels != -100).sum())
    parts = [
        model(input_ids=ids[rows], labels=labels[rows], num_items_in_batch=n).loss
        for rows in (slice(0, 1), slice(1, 3))
    ]
    torch.testing.assert_close(sum(parts), whole)
    # A plain mean per micro-batch would weigh the short row's targets too much.
    plain = [model(input_ids=ids[r], labels=labels[r]).loss for r in (slice(0, 1), slice(1, 3))]
    assert abs((plain[0] * 4 + plain[1] * 20) / n - whole) < 1e-5
    assert abs(sum(plain) / 2 - whole) > 1e-3


def test_dense_layers_start_with_glorot_scale_unless_a_std_is_given():
    glorot = make_model("dense").decoder.stack.layers[0].sublayer.qkv.q.weight
    bound = (6 / (glorot.shape[0] + glorot.shape[1])) ** 0.5
    assert glorot.abs().max() <= bound and glorot.std() > 0.8 * bound / 3**0.5
    bert = make_model("dense", initializer_range=0.02).decoder.stack.layers[0].sublayer.qkv.q
    assert 0.015 < bert.weight.std() < 0.025


def test_preset_refuses_settings_it_would_silently_ignore():
    with pytest.raises(ValueError, match="sizing"):
        TerraformerConfig.preset("tiny", dense=True)  # the dense twin lives in sizing now
    with pytest.raises(ValueError, match="d_modle"):
        TerraformerConfig.preset("tiny", d_modle=32)
