"""LSH attention against full attention, and the invariants both must keep."""

import pytest
import torch

from summarizer.model.layers.attention import (
    LSHAttention,
    full_attention,
    hybrid_attention,
    normalize_keys,
)

B, H, D = 2, 2, 16


def inputs(t: int, n_real: tuple[int, ...] = (None, None)) -> tuple:
    qk, v = torch.randn(B, H, t, D), torch.randn(B, H, t, D)
    mask = torch.ones(B, t, dtype=torch.bool)
    for row, n in enumerate(n_real):
        if n is not None:
            mask[row, n:] = False
    return qk, v, mask


def reference(qk, v, mask, causal):
    """Full attention with the shared-QK conventions (unit keys, self only as a last resort)."""
    return full_attention(qk, normalize_keys(qk), v, mask, causal=causal, mask_self=True)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n_hashes", [1, 3])
def test_one_bucket_one_chunk_equals_full_attention(causal, n_hashes):
    qk, v, mask = inputs(21, n_real=(None, 15))
    lsh = LSHAttention(n_buckets=1, n_hashes=n_hashes, chunk_len=32, seed=0)
    out = lsh(qk, v, mask, causal=causal)
    expected = reference(qk, v, mask, causal)
    torch.testing.assert_close(out[0], expected[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1, :, :15], expected[1, :, :15], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_one_bucket_small_chunks_cover_everything_with_enough_neighbours(causal):
    # 24 positions in chunks of 4: looking 5 chunks back and forth sees the whole sequence.
    qk, v, mask = inputs(24)
    lsh = LSHAttention(n_buckets=1, n_hashes=1, chunk_len=4, chunks_before=5, chunks_after=5)
    torch.testing.assert_close(lsh(qk, v, mask, causal=causal), reference(qk, v, mask, causal))


def test_several_buckets_stay_close_on_clear_neighbours():
    # Twelve pairs of tokens along orthogonal directions: each token's attention mass sits on
    # its partner. A round that separates a pair gives that token little mass, so the
    # log-sum-exp weighting trusts the rounds that kept the pair together.
    t, n_pairs = 24, 12
    centers = torch.linalg.qr(torch.randn(D, D))[0][:n_pairs] * 40
    qk = centers[torch.arange(t) % n_pairs] + 0.05 * torch.randn(B, H, t, D)
    v = torch.randn(B, H, t, D)
    mask = torch.ones(B, t, dtype=torch.bool)
    expected = reference(qk, v, mask, causal=False)
    for seed in range(4):
        lsh = LSHAttention(n_buckets=8, n_hashes=4, chunk_len=8, chunks_after=1, seed=seed)
        assert (lsh(qk, v, mask, causal=False) - expected).abs().max() < 0.02
    # ...while attention that misses the partners is far off (the check has teeth).
    blind = reference(qk, v.roll(1, dims=2), mask, causal=False)
    assert (blind - expected).abs().max() > 1.0


@pytest.mark.parametrize("causal", [False, True])
def test_padding_changes_nothing(causal):
    qk, v, mask = inputs(19)
    lsh = LSHAttention(n_buckets=4, n_hashes=2, chunk_len=4, chunks_after=1, seed=3)
    out = lsh(qk, v, mask, causal=causal)
    pad = 13
    qk_p = torch.cat([qk, torch.randn(B, H, pad, D) * 5], dim=2)
    v_p = torch.cat([v, torch.randn(B, H, pad, D)], dim=2)
    mask_p = torch.cat([mask, torch.zeros(B, pad, dtype=torch.bool)], dim=1)
    out_p = lsh(qk_p, v_p, mask_p, causal=causal)
    torch.testing.assert_close(out_p[:, :, :19], out)


def test_causal_lsh_never_sees_the_future():
    qk, v, mask = inputs(32)
    lsh = LSHAttention(n_buckets=4, n_hashes=2, chunk_len=4, seed=1)
    out = lsh(qk, v, mask, causal=True)
    t = 11
    qk2, v2 = qk.clone(), v.clone()
    qk2[:, :, t + 1 :] = torch.randn_like(qk2[:, :, t + 1 :]) * 3
    v2[:, :, t + 1 :] = torch.randn_like(v2[:, :, t + 1 :])
    out2 = lsh(qk2, v2, mask, causal=True)
    torch.testing.assert_close(out2[:, :, : t + 1], out[:, :, : t + 1])
    assert not torch.allclose(out2[:, :, t + 1 :], out[:, :, t + 1 :])


def test_rotations_fixed_at_inference_random_in_training():
    qk, v, mask = inputs(40)
    lsh = LSHAttention(n_buckets=8, n_hashes=1, chunk_len=4, eval_seed=7).eval()
    torch.testing.assert_close(lsh(qk, v, mask, causal=False), lsh(qk, v, mask, causal=False))
    lsh.train()
    assert not torch.allclose(lsh(qk, v, mask, causal=False), lsh(qk, v, mask, causal=False))


def test_bucket_layout_keeps_chunks_within_one_bucket():
    lsh = LSHAttention(n_buckets=4, n_hashes=1, chunk_len=3)
    buckets = torch.tensor([[[[2, 0, 2, 2, 1, 2, 4, 0]]]])  # bucket 4 = padding
    slot, length = lsh.slots(buckets)
    # bucket 0 -> slots 0,1 (chunk 0); bucket 1 -> slot 3; bucket 2 -> 6..9; padding -> 12
    assert slot.flatten().tolist() == [6, 0, 7, 8, 3, 9, 12, 1]
    assert length == 15


def test_hybrid_gives_targets_full_attention_and_inputs_their_own_lsh():
    """Row 0: 14 input positions, then 10 targets. Row 1: 10 inputs, 10 targets, 4 padding."""
    q, v, mask = inputs(24, n_real=(None, 20))
    k = torch.randn_like(q)
    targets = torch.stack([torch.arange(14, 24), torch.arange(10, 20)])
    lsh = LSHAttention(n_buckets=8, n_hashes=2, chunk_len=2, seed=5)
    out = hybrid_attention(lsh, q, k, v, mask, targets)
    expected = full_attention(q, k, v, mask, causal=True)
    lsh_only = lsh(q, v, mask, causal=True)
    for row in range(B):
        at = targets[row]
        torch.testing.assert_close(out[row, :, at], expected[row, :, at])
        # Small buckets and chunks: LSH alone would have hidden keys these queries now see.
        assert not torch.allclose(lsh_only[row, :, at], expected[row, :, at], atol=1e-3)
        # The input positions get the LSH of the input alone, as if no target followed.
        n = int(at[0])
        one = slice(row, row + 1)
        alone = lsh(q[one, :, :n], v[one, :, :n], mask[one, :n], causal=True)
        torch.testing.assert_close(out[one, :, :n], alone)
