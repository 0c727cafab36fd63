"""Self-attention: the sublayer (projections + core) and its two cores, LSH and full attention.

Notation: B batch, T sequence length, D d_model, H heads, d head size (D // H), R hash rounds,
n chunks, c chunk length, w keys visible to one chunk (c * (before + 1 + after)).

Masks are boolean "key is real" tensors of shape (B, T). Causality is by position index: the
decoder runs over [encoder ; target ; padding], so index order is the order that matters.

Three cores: "full" (softmax over every visible key), "lsh" (Reformer's LSH attention over
shared query-keys), and "hybrid", for the decoder: LSH among the encoder positions, while each
target position attends to every earlier position, encoder and target, by full attention. A
deviation from the paper (whose decoder is LSH throughout); see SelfAttention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from summarizer.model.layers.dropout import dropout as drop
from summarizer.model.layers.packed import Linear
from summarizer.model.layers.sparse import SparseQKV

# Logit for masked keys (padding, future, chunks out of range) and for a token's own key.
# As in Reformer: attending to oneself is allowed only when nothing else is visible.
MASK_VALUE = -1e9
SELF_MASK_VALUE = -1e5
# Lowest softmax exponent computed (see LSHAttention.forward).
EXP_FLOOR = -80.0


class SelfAttention(nn.Module):
    """Multi-head self-attention: Q/K/V projections (dense or Sparse QKV), then LSH, full or
    hybrid attention, then the output projection (dense QKV only: trax's Sparse QKV has none).

    LSH needs shared query-keys, so with `core="lsh"` one projection serves both; with
    `core="full"` or `"hybrid"` queries and keys are separate (the standard dense baseline).

    `core="hybrid"` (causal only) is LSH for the encoder positions of the decoder's
    [encoder ; target] sequence, with the queries as shared query-keys, and causal full
    attention for its target positions, with their own keys. The target queries do the work of
    encoder-decoder attention, and, as that does, cost T x L, linear in the input's length. In
    LSH they compete for a chunk window of a few dozen keys with the input positions of their
    bucket, and at initialization the positions they should read rarely fall in it: a tiny LSH
    decoder had not started the toy copy task after 1,500 steps (README, "Does it read its
    input?"). Target keys are kept out of the LSH buckets; encoder queries could not see them
    anyway (they come later). When decoding, the targets that follow the prefill are full
    attention over the cached keys.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        causal: bool,
        core: str = "full",  # "lsh" | "full"
        qkv_sparsity: int = 0,  # 0: dense projections; S > 0: Sparse QKV with S modules
        qkv_time_kernel: int = 3,
        dropout: float = 0.0,
        lsh: LSHAttention | None = None,
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        if core in ("lsh", "hybrid") and lsh is None:
            raise ValueError(f"core={core!r} needs an LSHAttention module")
        if core == "hybrid" and not causal:
            raise ValueError("core='hybrid' is for the causal decoder only")
        self.n_heads = n_heads
        self.causal = causal
        self.core = core
        self.shared_qk = core == "lsh"
        self.dropout = dropout
        self.lsh = lsh if core in ("lsh", "hybrid") else None
        if qkv_sparsity:
            self.qkv = SparseQKV(d_model, qkv_sparsity, qkv_time_kernel, shared_qk=self.shared_qk)
            self.out = None
        else:
            self.qkv = DenseQKV(d_model, shared_qk=self.shared_qk)
            self.out = Linear(d_model, d_model)

    @torch.no_grad()
    def silence_(self) -> None:
        """Output zeros for every input from now until trained: the output projection is
        zeroed, or with Sparse QKV (which has none) the value convolution, so every position
        averages zero vectors."""
        last = self.out if self.out is not None else self.qkv.v_conv
        last.weight.zero_()
        last.bias.zero_()

    def forward(
        self, x: torch.Tensor, key_mask: torch.Tensor, targets: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, T, D), key_mask: (B, T) bool -> (B, T, D). `targets` (B, n) are the indices of
        the target positions, which the hybrid core needs (the other cores ignore it)."""
        q, k, v = self.qkv(x)  # (B, T, D) each; k is q when shared
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))  # (B, H, T, d)
        p = self.dropout if self.training else 0.0
        if self.core == "hybrid":
            if targets is None:
                raise ValueError("core='hybrid' needs the indices of the target positions")
            y = hybrid_attention(self.lsh, q, k, v, key_mask, targets, dropout=p)
        elif self.lsh is not None:
            y = self.lsh(q, v, key_mask, causal=self.causal, dropout=p)
        else:
            y = full_attention(q, k, v, key_mask, causal=self.causal, dropout=p)
        y = merge_heads(y)  # (B, T, D)
        return self.out(y) if self.out is not None else y

    # Incremental decoding (causal layers, inference). `prefill` runs the layer over a prefix
    # and returns its decoding state; `step` takes one new position per row, reads the state
    # and appends to it. Together they compute exactly what `forward` computes.

    def prefill(
        self, x: torch.Tensor, key_mask: torch.Tensor
    ) -> tuple[torch.Tensor, AttentionState]:
        """x: (B, L, D), key_mask: (B, L) -> (B, L, D) and the layer's decoding state."""
        if not self.causal:
            raise RuntimeError("only causal attention decodes incrementally")
        conv = None
        if isinstance(self.qkv, SparseQKV):
            (q, k, v), conv = self.qkv.prefill(x, key_mask)
        else:
            q, k, v = self.qkv(x)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))  # (B, H, L, d)
        mask = Appendable(key_mask, dim=1)
        if self.core == "lsh":
            # Keys are cached unit-length, as attention uses them; buckets come from q itself.
            state = LSHAttentionState(
                key_mask=mask,
                conv=conv,
                keys=Appendable(normalize_keys(q).contiguous(), 2),
                v=Appendable(v.contiguous(), 2),
                buckets=Appendable(self.lsh.hash(q, key_mask), 3),
            )
            y = self.lsh(q, v, key_mask, causal=True)
        else:
            # Without padding (e.g. batch 1) the step needs no mask at all; new positions are
            # always real, so this stays true (beam reordering keeps it: rows only move).
            state = FullAttentionState(
                key_mask=mask,
                conv=conv,
                k=Appendable(k, 2),
                v=Appendable(v, 2),
                unpadded=bool(key_mask.all()),
            )
            # The hybrid core's input positions attend by LSH; the targets that follow them
            # attend as full attention does.
            if self.lsh is not None:
                y = self.lsh(q, v, key_mask, causal=True)
            else:
                y = full_attention(q, k, v, key_mask, causal=True)
        y = merge_heads(y)
        return (self.out(y) if self.out is not None else y), state

    def step(self, x: torch.Tensor, state: AttentionState) -> torch.Tensor:
        """x: (B, 1, D) -> (B, 1, D); `state` is updated in place."""
        if isinstance(self.qkv, SparseQKV):
            (q, k, v), state.conv = self.qkv.step(x, state.conv)
        else:
            q, k, v = self.qkv(x)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))  # (B, H, 1, d)
        if isinstance(state, LSHAttentionState):
            y = self.lsh.step(q, v, append_real_position(state.key_mask), state)
        else:
            keys, values = state.k.append(k), state.v.append(v)  # (B, H, L + 1, d)
            # One fused call on the cache as it lies (no copies). A step's time is mostly the
            # count of small ops, so without padding no mask is kept or passed.
            mask = None
            if not state.unpadded:
                mask = append_real_position(state.key_mask)[:, None, None, :]  # (B, 1, 1, L + 1)
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        y = merge_heads(y)
        return self.out(y) if self.out is not None else y


@dataclass
class FullAttentionState:
    """A causal full-attention layer's decoding state; each step appends one position."""

    key_mask: Appendable  # (B, L) bool: real positions
    conv: torch.Tensor | None  # Sparse QKV's last inputs (SparseQKV.step); None when dense
    k: Appendable  # (B, H, L, d)
    v: Appendable  # (B, H, L, d)
    unpadded: bool  # no padding among the keys, so steps pass no mask

    def reorder(self, rows: torch.Tensor, start: int = 0) -> FullAttentionState:
        """The state of the beams in `rows` (beam search keeps some, drops others); positions
        before `start` are the same in every row and row it comes from (TerraformerCache)."""
        return FullAttentionState(
            key_mask=self.key_mask.move_rows(rows, start),
            conv=select_rows(self.conv, rows),
            k=self.k.move_rows(rows, start),
            v=self.v.move_rows(rows, start),
            unpadded=self.unpadded,
        )


@dataclass
class LSHAttentionState:
    """A causal LSH layer's decoding state; each step appends one position."""

    key_mask: Appendable  # (B, L) bool: real positions
    conv: torch.Tensor | None  # Sparse QKV's last inputs (SparseQKV.step); None when dense
    keys: Appendable  # (B, H, L, d) unit-length shared query-keys
    v: Appendable  # (B, H, L, d)
    buckets: Appendable  # (B, H, R, L) each position's bucket in each hash round

    def reorder(self, rows: torch.Tensor, start: int = 0) -> LSHAttentionState:
        """The state of the beams in `rows` (beam search keeps some, drops others); positions
        before `start` are the same in every row and row it comes from (TerraformerCache)."""
        return LSHAttentionState(
            key_mask=self.key_mask.move_rows(rows, start),
            conv=select_rows(self.conv, rows),
            keys=self.keys.move_rows(rows, start),
            v=self.v.move_rows(rows, start),
            buckets=self.buckets.move_rows(rows, start),
        )


# What a decoder attention layer keeps between steps.
AttentionState = FullAttentionState | LSHAttentionState


def select_rows(x: torch.Tensor | None, rows: torch.Tensor) -> torch.Tensor | None:
    return None if x is None else x.index_select(0, rows)


def append_real_position(key_mask: Appendable) -> torch.Tensor:
    """Grow a (B, L) key mask by one real (unpadded) position -> (B, L + 1)."""
    b = key_mask.buffer.shape[0]
    return key_mask.append(key_mask.buffer.new_ones((b, 1)))


class DenseQKV(nn.Module):
    """Standard linear projections; with `shared_qk` one matrix gives both queries and keys."""

    def __init__(self, d_model: int, shared_qk: bool):
        super().__init__()
        self.shared_qk = shared_qk
        self.q = Linear(d_model, d_model)
        self.k = None if shared_qk else Linear(d_model, d_model)
        self.v = Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q = self.q(x)
        k = q if self.k is None else self.k(x)
        return q, k, self.v(x)


class Appendable:
    """A tensor that grows along one dimension, in place: appends copy only the new part, into
    spare capacity that doubles when full (the decoding caches grow by one position a step)."""

    def __init__(self, initial: torch.Tensor, dim: int):
        self.dim = dim % initial.ndim
        self.length = initial.shape[self.dim]
        self.buffer = initial

    @property
    def value(self) -> torch.Tensor:
        return self.buffer.narrow(self.dim, 0, self.length)

    def append(self, x: torch.Tensor) -> torch.Tensor:
        """Append x along the dimension; returns the whole (grown) tensor."""
        n = x.shape[self.dim]
        if self.length + n > self.buffer.shape[self.dim]:
            shape = list(self.buffer.shape)
            shape[self.dim] = max(2 * shape[self.dim], self.length + n, 16)
            grown = self.buffer.new_empty(shape)
            grown.narrow(self.dim, 0, self.length).copy_(self.value)
            self.buffer = grown
        self.buffer.narrow(self.dim, self.length, n).copy_(x)
        self.length += n
        return self.value

    @property
    def device(self) -> torch.device:
        return self.buffer.device

    def take(self, index: torch.Tensor) -> torch.Tensor:
        """Rows of a (B, H, L, d) tensor growing along L: index (B, H, K) -> (B, H, K, d).
        One index_select on the contiguous buffer; much faster than gather on a view."""
        b, h, cap, d = self.buffer.shape
        base = torch.arange(b * h, device=index.device).view(b, h, 1) * cap
        rows = self.buffer.view(b * h * cap, d).index_select(0, (index + base).flatten())
        return rows.view(b, h, -1, d)

    def move_rows(self, rows: torch.Tensor, start: int = 0) -> Appendable:
        """Row r takes the values of row rows[r] (dimension 0), at positions from `start` on:
        the caller knows that the earlier positions are equal in both. Moves them in place
        when start > 0, and only the rows that change (most beams keep their own row from
        one step to the next); otherwise returns a new tensor."""
        if start <= 0:
            return Appendable(self.value.index_select(0, rows), self.dim)
        if self.length > start:
            moved = (rows != torch.arange(rows.numel(), device=rows.device)).nonzero().flatten()
            if moved.numel():
                part = self.buffer.narrow(self.dim, start, self.length - start)
                part.index_copy_(0, moved, part.index_select(0, rows[moved]))
        return self


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    b, t, _ = x.shape
    return x.view(b, t, n_heads, -1).transpose(1, 2)  # (B, H, T, d)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)  # (B, T, D)


def normalize_keys(qk: torch.Tensor) -> torch.Tensor:
    """Shared-QK keys are unit-length (Reformer), so a query's dot product with its own key is
    not automatically the largest."""
    return F.normalize(qk, dim=-1)


def hybrid_attention(
    lsh: LSHAttention,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_mask: torch.Tensor,
    targets: torch.Tensor,
    dropout: float = 0.0,
) -> torch.Tensor:
    """The hybrid core (see SelfAttention). Positions that are not targets get causal LSH over
    their own keys only, with q as the shared query-key. Each target query attends as causal
    full attention does, with keys k, to every real position up to its own.

    q, k, v: (B, H, L, d); key_mask: (B, L); targets: (B, n) their positions -> (B, H, L, d)."""
    source = key_mask.scatter(1, targets, False)  # target keys stay out of the buckets
    out = lsh(q, v, source, causal=True, dropout=dropout)
    index = targets[:, None, :, None].expand(-1, q.shape[1], -1, q.shape[-1])
    pos = torch.arange(q.shape[2], device=q.device)
    visible = key_mask[:, None, :] & (pos <= targets[..., None])  # (B, n, L)
    at_targets = F.scaled_dot_product_attention(
        q.gather(2, index), k, v, attn_mask=visible[:, None], dropout_p=dropout
    )
    return out.scatter(2, index, at_targets)


def full_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_mask: torch.Tensor,
    *,
    causal: bool,
    mask_self: bool = False,
    dropout: float = 0.0,
) -> torch.Tensor:
    """Plain softmax attention. q, k, v: (B, H, T, d); key_mask: (B, T) -> (B, H, T, d).

    `mask_self` reproduces the shared-QK convention of LSH attention (used by the tests that
    compare the two)."""
    t = q.shape[-2]
    pos = torch.arange(t, device=q.device)
    visible = key_mask[:, None, None, :]  # (B, 1, 1, T)
    if causal:
        visible = visible & (pos[None, :] <= pos[:, None])  # (B, 1, T, T)
    # Every row must see a key for the fused kernel (it returns NaN for empty rows).
    rows_see_a_key = key_mask[:, 0].all() if causal else key_mask.any(dim=-1).all()
    if not mask_self and bool(rows_see_a_key):
        # PyTorch's fused kernel: no T x T probability matrix is kept for the backward pass.
        return F.scaled_dot_product_attention(q, k, v, attn_mask=visible, dropout_p=dropout)
    logits = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5  # (B, H, T, T)
    if mask_self:
        logits = logits.masked_fill(pos[:, None] == pos[None, :], SELF_MASK_VALUE)
    logits = logits.masked_fill(~visible, MASK_VALUE)
    probs = drop(logits.softmax(dim=-1), dropout, dropout > 0)
    return probs @ v


class LSHAttention(nn.Module):
    """Reformer's LSH attention over shared query-keys (no parameters of its own).

    Each of R hash rounds assigns every position a bucket by a random rotation and sorts the
    positions by (bucket, position). Each bucket is cut into chunks of `chunk_len` (its last
    chunk padded), and a chunk attends to itself and to `chunks_before` / `chunks_after`
    neighbouring chunks of the same bucket. The R rounds are combined with their log-sum-exp
    weights.

    Departure from trax/Reformer, which cut the globally sorted sequence into chunks: there, a
    position's chunk depends on how many later positions hash to lower buckets, so causal
    attention leaks the future and padding changes results. Bucket-aligned chunks make causal
    LSH exactly causal and padding exactly inert (padding hashes to its own last bucket), and
    make incremental decoding computable from the past alone. The cost is the padding of each
    bucket's last chunk: choose n_buckets near length / chunk_len.
    """

    def __init__(
        self,
        n_buckets: int,
        n_hashes: int,
        chunk_len: int,
        chunks_before: int = 1,
        chunks_after: int = 0,
        seed: int | None = None,  # fixed rotations in every mode (for tests)
        eval_seed: int = 0,  # fixed rotations at inference, so outputs are repeatable
    ):
        super().__init__()
        if n_buckets != 1 and (n_buckets < 2 or n_buckets % 2):
            raise ValueError(f"n_buckets must be 1 or even, got {n_buckets}")
        self.n_buckets = n_buckets
        self.n_hashes = n_hashes
        self.chunk_len = chunk_len
        self.chunks_before = chunks_before
        self.chunks_after = chunks_after
        self.seed = seed
        self.eval_seed = eval_seed
        self._fixed_rotations: dict[tuple, torch.Tensor] = {}

    def extra_repr(self) -> str:
        return (
            f"n_buckets={self.n_buckets}, n_hashes={self.n_hashes}, chunk_len={self.chunk_len}, "
            f"chunks_before={self.chunks_before}, chunks_after={self.chunks_after}"
        )

    def rotations(self, n_heads: int, d: int, like: torch.Tensor) -> torch.Tensor:
        """Random rotations (H, d, R, n_buckets / 2): fresh from the global RNG in training
        (the reversible backward replays that RNG), fixed by a seed otherwise."""
        shape = (n_heads, d, self.n_hashes, self.n_buckets // 2)
        seed = self.seed if self.seed is not None else None if self.training else self.eval_seed
        if seed is None:
            return torch.randn(shape, device=like.device, dtype=like.dtype)
        key = (shape, seed, like.device, like.dtype)
        if key not in self._fixed_rotations:
            gen = torch.Generator().manual_seed(seed)
            rot = torch.randn(shape, generator=gen).to(device=like.device, dtype=like.dtype)
            self._fixed_rotations[key] = rot
        return self._fixed_rotations[key]

    def hash(self, qk: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """Buckets (B, H, R, T); padding gets the extra bucket `n_buckets` so it sorts last."""
        b, h, t, d = qk.shape
        if self.n_buckets == 1:
            buckets = qk.new_zeros((b, h, self.n_hashes, t), dtype=torch.long)
        else:
            rot = self.rotations(h, d, qk)
            projected = torch.einsum("bhtd,hdrk->bhrtk", qk, rot)  # (B, H, R, T, n_buckets/2)
            buckets = torch.cat([projected, -projected], dim=-1).argmax(dim=-1)  # (B, H, R, T)
        return buckets.masked_fill(~key_mask[:, None, None, :], self.n_buckets)

    def slots(self, buckets: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Where each position goes in the bucket-aligned layout, and the layout's length P.

        buckets: (B, H, R, T) -> slot of each position (B, H, R, T), P (a multiple of c)."""
        c = self.chunk_len
        t = buckets.shape[-1]
        counts = torch.zeros(
            *buckets.shape[:-1],
            self.n_buckets + 1,
            dtype=torch.long,
            device=buckets.device,
        )
        counts.scatter_add_(-1, buckets, torch.ones_like(buckets))  # (B, H, R, nb + 1)
        padded = (counts + c - 1) // c * c
        bucket_start = counts.cumsum(-1) - counts  # first sorted index of each bucket
        slot_start = padded.cumsum(-1) - padded  # first slot of each bucket
        order = (buckets * t + torch.arange(t, device=buckets.device)).argsort(dim=-1)
        sorted_buckets = buckets.gather(-1, order)
        rank = torch.arange(t, device=buckets.device) - bucket_start.gather(-1, sorted_buckets)
        sorted_slots = slot_start.gather(-1, sorted_buckets) + rank
        slot = torch.empty_like(sorted_slots).scatter_(-1, order, sorted_slots)
        return slot, int(padded.sum(-1).max())

    def forward(
        self,
        qk: torch.Tensor,
        v: torch.Tensor,
        key_mask: torch.Tensor,
        *,
        causal: bool,
        dropout: float = 0.0,
    ) -> torch.Tensor:
        """qk, v: (B, H, T, d); key_mask: (B, T) bool -> (B, H, T, d)."""
        b, h, t, d = qk.shape
        c, r = self.chunk_len, self.n_hashes
        buckets = self.hash(qk, key_mask)  # (B, H, R, T)
        slot, p = self.slots(buckets)  # (B, H, R, T), P
        n = p // c

        # Scatter positions into the layout; empty slots keep position -1.
        pos = torch.arange(t, device=qk.device).expand_as(slot)
        spos = slot.new_full((b, h, r, p), -1).scatter_(-1, slot, pos)  # (B, H, R, P)
        sreal = spos >= 0
        sreal = sreal & key_mask.gather(1, spos.clamp(min=0).view(b, -1)).view(b, h, r, p)
        # Rows are moved with index_select on flattened tensors (whole d-vectors at once),
        # which is ~3x faster than gather with an index expanded over d.
        heads = torch.arange(b * h, device=qk.device).view(b, h, 1, 1)
        from_rows = (spos.clamp(min=0) + heads * t).view(-1)  # row of (B H T) per slot

        def to_slots(x: torch.Tensor) -> torch.Tensor:  # (B, H, T, d) -> (B, H, R, n, c, d)
            return x.reshape(-1, d).index_select(0, from_rows).view(b, h, r, n, c, d)

        sq = to_slots(qk)
        sk = to_slots(normalize_keys(qk) * d**-0.5)
        sv = to_slots(v)

        # Keys visible to each chunk: itself and its neighbours in the same bucket.
        after = 0 if causal else self.chunks_after
        offsets = range(-self.chunks_before, after + 1)
        keys = look_around(sk, offsets)  # (B, H, R, n, w, d)
        vals = look_around(sv, offsets)

        # A chunk holds one bucket, and its first slot is always a real position, so "same
        # bucket" is decided per pair of chunks, not per pair of positions.
        chunk_bucket = buckets.gather(-1, spos[..., ::c].clamp(min=0))  # (B, H, R, n)
        key_bucket = look_around(chunk_bucket[..., None].expand(-1, -1, -1, -1, c), offsets, -1)
        key_real = look_around(sreal.view(b, h, r, n, c), offsets, False)  # (B, H, R, n, w)
        hidden = ~key_real | (key_bucket != chunk_bucket[..., None])
        # Within a bucket, slots are in position order: a query's own key is on the diagonal
        # of its own chunk, and its future is above it (earlier chunks are all past).
        own_key, future = self.window_masks(len(offsets), qk.device)  # (c, w) each

        logits = sq @ keys.transpose(-1, -2)  # (B, H, R, n, c, w)
        logits.masked_fill_(own_key, SELF_MASK_VALUE)
        logits.masked_fill_(hidden[..., None, :], MASK_VALUE)
        if causal:
            logits.masked_fill_(future, MASK_VALUE)

        # Softmax with a single exp pass; it is normalized after the product with the values
        # (d columns instead of w), which dropout, a per-element scaling, does not change.
        # Masked logits lie ~1e9 below the top and their exp underflows, which takes the slow
        # path of the vectorized exp (4-5x slower). Clamped at -80 they weigh e^-80 ~ 2e-35 of
        # the top key, which vanishes next to it in float32 (1 + 2e-35 == 1).
        top = logits.detach().amax(dim=-1, keepdim=True)
        weights = (logits - top).clamp_(min=EXP_FLOOR).exp_()
        total = weights.sum(dim=-1, keepdim=True)
        lse = top + total.log()  # (B, H, R, n, c, 1)
        weights = drop(weights, dropout, dropout > 0)
        out = ((weights @ vals) / total).view(b, h, r, p, d)

        # Back to positions, then weight each round by its share of the total mass.
        rounds = torch.arange(b * h * r, device=qk.device).view(b, h, r, 1)
        to_rows = (slot + rounds * p).view(-1)  # row of (B H R P) per position
        out = out.view(-1, d).index_select(0, to_rows).view(b, h, r, t, d)
        lse = lse.view(-1).index_select(0, to_rows).view(b, h, r, t, 1)
        weights = lse.softmax(dim=2)
        return (out * weights).sum(dim=2)  # (B, H, T, d)

    def window_masks(self, n_offsets: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        """(c, w) masks of a chunk's window: each query's own key, and keys after it in its
        own chunk (the chunk sits after `chunks_before` neighbours)."""
        c = self.chunk_len
        query = torch.arange(c, device=device)[:, None]
        key = torch.arange(c * n_offsets, device=device)[None, :] - c * self.chunks_before
        return key == query, key > query

    def step(
        self, qk: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor, state: LSHAttentionState
    ) -> torch.Tensor:
        """Causal LSH for one new position per row, from cached keys, values and buckets.

        qk, v: (B, H, 1, d); key_mask (B, L + 1) already includes the new position; state
        holds the growing unit-length keys and values (B, H, L, d) and buckets (B, H, R, L).
        The new position sees what `forward` would show it: the same-bucket positions in its
        chunk and the `chunks_before` chunks before it, which are its bucket's most recent
        c * (before + 1) positions at most. Those are gathered; nothing else is computed.
        -> (B, H, 1, d)."""
        c, d = self.chunk_len, qk.shape[-1]
        new_buckets = self.hash(qk, key_mask[:, -1:])  # (B, H, R, 1)
        state.keys.append(normalize_keys(qk))  # (B, H, L + 1, d)
        state.v.append(v)
        buckets = state.buckets.append(new_buckets)  # (B, H, R, L + 1)
        length = buckets.shape[-1]

        same = (buckets == new_buckets) & key_mask[:, None, None, :]  # (B, H, R, L + 1)
        rank = same.cumsum(dim=-1) - 1  # rank within the bucket, by position
        mine = rank[..., -1:]  # the new position's rank
        first = (mine // c - self.chunks_before).clamp(min=0) * c
        visible = same & (rank >= first)
        window = min(length, c * (self.chunks_before + 1))
        pos = torch.arange(length, device=qk.device)
        recent, index = torch.where(visible, pos, -1).topk(window, dim=-1)  # (B, H, R, W)

        b, h, r, w = index.shape
        flat = index.clamp(min=0).view(b, h, r * w)
        k_sel = state.keys.take(flat).view(b, h, r, w, d)
        v_sel = state.v.take(flat).view(b, h, r, w, d)
        logits = torch.einsum("bhrwd,bhd->bhrw", k_sel, qk[:, :, 0]) * d**-0.5  # (B, H, R, W)
        logits = logits.masked_fill(recent == length - 1, SELF_MASK_VALUE)
        logits = logits.masked_fill(recent < 0, MASK_VALUE)
        lse = logits.logsumexp(dim=-1, keepdim=True)  # (B, H, R, 1)
        out = torch.einsum("bhrw,bhrwd->bhrd", torch.exp(logits - lse), v_sel)  # (B, H, R, d)
        weights = lse.softmax(dim=2)
        return (out * weights).sum(dim=2, keepdim=True)  # (B, H, 1, d)


def look_around(x: torch.Tensor, offsets: range, fill: float | bool = 0.0) -> torch.Tensor:
    """Concatenate, for each chunk, the chunks at the given offsets (missing ones filled).

    x: (B, H, R, n, c, ...) -> (B, H, R, n, c * len(offsets), ...)"""
    n = x.shape[3]
    before, after = max(0, -offsets.start), max(0, offsets.stop - 1)

    def filler(k: int) -> torch.Tensor:  # k missing chunks, as a view of one filled chunk
        return x.new_full((*x.shape[:3], 1, *x.shape[4:]), fill).expand(
            *x.shape[:3], k, *x.shape[4:]
        )

    padded = torch.cat([filler(before), x, filler(after)], dim=3)  # n + before + after chunks
    return torch.cat([padded[:, :, :, before + off : before + off + n] for off in offsets], dim=4)
