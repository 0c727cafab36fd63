"""Sparse FF, the multiplicative layer and Sparse QKV, each alone."""

import pytest
import torch
import torch.nn.functional as F

from summarizer.model.layers.sparse import MultiplicativeDense, SparseFF, SparseQKV, sample_units


def test_sparse_ff_inference_paths_equal_dense_computation_with_the_same_mask():
    ff = SparseFF(d_model=32, d_ff=128, block=8).eval()
    x = torch.randn(3, 5, 32)
    chosen = ff.controller_logits(x).argmax(dim=-1)  # (3, 5, 16)
    dense = ff.dense_forward(x, F.one_hot(chosen, 8).float())
    torch.testing.assert_close(ff.gather_forward(x, chosen), dense, atol=1e-5, rtol=1e-5)
    # Several passes over the tokens (4 at a time) give the same as one.
    for per_pass in (4, 4096):
        selected = ff.select_forward(x, chosen, tokens_per_pass=per_pass)
        torch.testing.assert_close(selected, dense, atol=1e-5, rtol=1e-5)
    # forward() picks gather for few tokens and the selecting path for many: same result.
    ff.gather_max_tokens = 1
    torch.testing.assert_close(ff(x[:1, :1]), dense[:1, :1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ff(x), dense, atol=1e-5, rtol=1e-5)


def test_sparse_ff_inference_runs_under_autocast():
    # Periodic evaluation during mixed-precision training runs the inference paths in bf16.
    ff = SparseFF(d_model=32, d_ff=128, block=8).eval()
    x = torch.randn(2, 20, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = ff(x)  # 40 tokens: the selecting path
        few = ff(x[:1, :4])  # 4 tokens: the gathering path
        # bf16 scores may choose other units than fp32 would: compare with the same choice.
        chosen = ff.controller_logits(x).argmax(dim=-1)
        expected = ff.dense_forward(x, F.one_hot(chosen, 8).to(x.dtype))
    torch.testing.assert_close(mixed.float(), expected.float(), atol=0.05, rtol=0.05)
    torch.testing.assert_close(few.float(), expected[:1, :4].float(), atol=0.05, rtol=0.05)


def test_sparse_ff_uses_one_unit_per_block_at_inference():
    ff = SparseFF(d_model=16, d_ff=64, block=8).eval()
    x = torch.randn(4, 16)
    mask = F.one_hot(ff.controller_logits(x).argmax(-1), 8).float()
    # Units outside the chosen ones have no influence on the output.
    unchosen = (mask.flatten(-2).sum(0) == 0).nonzero().flatten()
    before = ff(x)
    with torch.no_grad():
        ff.w2[unchosen] += 100.0
    torch.testing.assert_close(ff(x), before)


def test_sparse_ff_training_mask_is_one_hot_forward_soft_backward():
    ff = SparseFF(d_model=16, d_ff=64, block=8, hard_prob=1.0).train()
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    mask = ff.training_mask(logits)
    one_hot = F.one_hot(mask.argmax(-1), 8).float()
    torch.testing.assert_close(mask, one_hot)  # exactly one unit per block, weight 1
    (mask * torch.randn_like(mask)).sum().backward()
    assert logits.grad.abs().sum() > 0  # straight-through: the softmax carries the gradient
    ff.hard_prob = 0.0  # the soft mask of the other training steps
    soft = ff.training_mask(logits)
    torch.testing.assert_close(soft, logits.softmax(-1))


def test_hard_units_are_drawn_from_the_tempered_softmax():
    # argmax(logits + t * Gumbel) is a draw from softmax(logits / t): sample_units draws it
    # by inverting the cumulative sum instead; both must give the same frequencies.
    torch.manual_seed(0)
    logits = torch.tensor([0.0, 0.1, 0.25, -0.3, 0.05])
    draws = sample_units(logits.expand(100_000, 5), temperature=0.1)
    frequencies = torch.bincount(draws, minlength=5) / draws.numel()
    torch.testing.assert_close(frequencies, (logits / 0.1).softmax(-1), atol=0.005, rtol=0)
    assert torch.equal(sample_units(logits.expand(3, 5), 0.0), torch.full((3,), 2))


def test_sparse_ff_controller_learns_in_training():
    ff = SparseFF(d_model=16, d_ff=64, block=8).train()
    ff(torch.randn(4, 6, 16)).pow(2).mean().backward()
    assert ff.controller_down.grad.abs().sum() > 0 and ff.controller_up.grad.abs().sum() > 0


def test_multiplicative_dense_can_express_any_permutation():
    d, s = 12, 3
    m = d // s
    perm = torch.randperm(d)
    layer = MultiplicativeDense(d, d, n_modules=s, bias=False)
    with torch.no_grad():
        layer.gate.zero_()
        layer.proj.zero_()
        for out in range(d):
            module, unit = divmod(out, m)
            layer.gate[module, perm[out]] = 1.0  # module s reads the inputs it outputs
            layer.proj[perm[out], unit] = 1.0  # and routes each to its unit
    x = torch.randn(5, d)
    torch.testing.assert_close(layer(x), x[:, perm])


def test_multiplicative_dense_gives_the_same_for_few_and_many_tokens():
    # Few tokens gate the input per module; more than M tokens use the composed weight.
    layer = MultiplicativeDense(12, 24, n_modules=3)
    torch.nn.init.normal_(layer.bias)
    x = torch.randn(2, 10, 12)  # 20 tokens > M = 8
    one_at_a_time = torch.stack([layer(x[:, i]) for i in range(10)], dim=1)  # 2 tokens each
    torch.testing.assert_close(layer(x), one_at_a_time)


def test_multiplicative_dense_has_fewer_parameters_than_dense():
    layer = MultiplicativeDense(1024, 1024, n_modules=16)
    assert sum(p.numel() for p in layer.parameters()) < 1024 * 1024 / 10


def test_sparse_qkv_is_causal_in_time_and_shapes_match():
    qkv = SparseQKV(d_model=32, n_modules=4, time_kernel=3)
    x = torch.randn(2, 10, 32)
    q, k, v = qkv(x)
    assert q.shape == k.shape == v.shape == (2, 10, 32)
    assert not torch.equal(q, k)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(2, 4, 32)
    q2, k2, v2 = qkv(x2)
    for a, b in ((q, q2), (k, k2), (v, v2)):
        torch.testing.assert_close(a[:, :6], b[:, :6])
        assert not torch.allclose(a[:, 6:], b[:, 6:])
    # The time kernel reaches back exactly kernel - 1 steps.
    x3 = x.clone()
    x3[:, 3] += 1.0
    q3 = qkv(x3)[0]
    changed = (q3 - q).abs().amax(dim=(0, 2)) > 0
    assert changed.tolist() == [False] * 3 + [True] * 3 + [False] * 4


def test_sparse_qkv_shared_qk_gives_keys_equal_to_queries():
    q, k, _ = SparseQKV(d_model=32, n_modules=4, shared_qk=True)(torch.randn(1, 4, 32))
    assert k is q


@pytest.mark.parametrize("shared_qk", [False, True])
def test_sparse_qkv_decoding_step_equals_the_convolutions_at_the_last_position(shared_qk):
    torch.manual_seed(0)
    qkv = SparseQKV(d_model=32, n_modules=4, time_kernel=3, shared_qk=shared_qk).eval()
    for conv in (qkv.q_conv, qkv.k_conv, qkv.v_conv):
        if conv is not None:
            torch.nn.init.normal_(conv.bias)  # a misplaced bias must show
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        full = qkv(x)  # (B, T, D) each
        (_, _, _), state = qkv.prefill(x[:, :4], torch.ones(2, 4, dtype=torch.bool))
        stepped, _ = qkv.step(x[:, 4:], state)
        for whole, one in zip(full, stepped, strict=True):
            torch.testing.assert_close(one, whole[:, 4:], rtol=1e-5, atol=1e-6)
        # a changed kernel is used at the next step (the fused matrix is rebuilt)
        qkv.v_conv.weight.add_(1.0)
        again, _ = qkv.step(x[:, 4:], state)
        torch.testing.assert_close(again[2], qkv(x)[2][:, 4:], rtol=1e-5, atol=1e-6)
