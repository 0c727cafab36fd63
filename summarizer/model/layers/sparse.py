"""The sparse layers of "Sparse is Enough in Scaling Transformers", and their dense twins.

Notation: B batch, T sequence length, D d_model, F d_ff, N units per Sparse FF block,
K = F // N blocks (one active unit each), S modules, M = D // S module size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from summarizer.model.layers.dropout import dropout
from summarizer.model.layers.packed import Linear, PackedLinear, parameters_key


class MultiplicativeDense(nn.Module):
    """A dense-like layer with d_in * (S + M) weights instead of d_in * d_out (trax FactoredDense).

    y[s, m] = sum_i x[i] * D[s, i] * E[i, m] + b[s, m]: each of the S modules gates the input
    with its own vector D[s], then all modules share one projection E of size d_in x M. It can
    still express e.g. any permutation, which a block-diagonal layer cannot.
    """

    def __init__(self, d_in: int, d_out: int, n_modules: int, bias: bool = True):
        super().__init__()
        if d_out % n_modules:
            raise ValueError(f"n_modules ({n_modules}) must divide the output size ({d_out})")
        self.n_modules = n_modules
        self.d_module = d_out // n_modules
        self.gate = nn.Parameter(torch.empty(n_modules, d_in))  # D: (S, d_in)
        self.proj = nn.Parameter(torch.empty(d_in, self.d_module))  # E: (d_in, M)
        self.bias = nn.Parameter(torch.empty(d_out)) if bias else None
        self.packed = PackedLinear()  # the few-token product's E, packed (inference on CPU)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # trax's initializers: gates N(0, 0.5), projection Glorot-uniform, bias ~0.
        nn.init.normal_(self.gate, std=0.5)
        nn.init.xavier_uniform_(self.proj)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., d_in) -> (..., S * M), modules contiguous.

        Both forms take d_in * S * M multiply-adds per token. For a few tokens (decoding) the
        input is gated per module, which reads the S + M factors and never the d_in x S * M
        product; for more tokens than M that product is built once and applied as one
        matrix, instead of writing and reading a (tokens, S, d_in) gated input."""
        if x.shape[:-1].numel() > self.d_module:
            return F.linear(x, self.weight(), self.bias)
        gated = x.unsqueeze(-2) * self.gate  # (..., S, d_in)
        y = self.packed(gated, [self.proj], self.proj.t)  # None where it does not apply
        y = (gated @ self.proj if y is None else y).flatten(-2)  # (..., S * M)
        return y + self.bias if self.bias is not None else y

    def weight(self) -> torch.Tensor:
        """The layer as a dense (S * M, d_in) weight: row s * M + m is D[s] * E[:, m]."""
        return (self.gate.unsqueeze(1) * self.proj.t()).flatten(0, 1)


class SparseQKV(nn.Module):
    """Sparse Q/K/V (trax MultiplicativeConvCausalAttention): one shared multiplicative layer,
    then per-output 2-D convolutions over (time, modules) whose weights are shared by all
    modules. Q and K use a (time_kernel x 3) kernel, V a (time_kernel x 1) kernel; time is
    padded causally (front only) so position t never sees t + 1.

    With `shared_qk` (needed by LSH attention) the K convolution is dropped and keys are the
    queries, as trax's `share_qk` option does.
    """

    def __init__(
        self,
        d_model: int,
        n_modules: int,
        time_kernel: int = 3,
        shared_qk: bool = False,
    ):
        super().__init__()
        self.n_modules = n_modules
        self.d_module = d_model // n_modules
        self.time_kernel = time_kernel
        self.mult = MultiplicativeDense(d_model, d_model, n_modules)
        m = self.d_module
        self.q_conv = nn.Conv2d(m, m, kernel_size=(time_kernel, 3), padding=(0, 1))
        self.k_conv = None if shared_qk else nn.Conv2d(m, m, (time_kernel, 3), padding=(0, 1))
        self.v_conv = nn.Conv2d(m, m, kernel_size=(time_kernel, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> q, k, v: (B, T, D) each (k is q when shared)."""
        y = self.project(x)  # (B, T, S, M)
        return self.convolve(F.pad(y, (0, 0, 0, 0, self.time_kernel - 1, 0)))  # causal padding

    def prefill(
        self, x: torch.Tensor, key_mask: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        """`forward` over a prefix, plus the decoding state: the convolution inputs of each
        row's last (time_kernel - 1) real positions (zeros before the start), (B, k-1, S, M)."""
        y = self.project(x)
        qkv = self.convolve(F.pad(y, (0, 0, 0, 0, self.time_kernel - 1, 0)))
        n_real = key_mask.sum(dim=1)  # real positions come first in each row
        back = torch.arange(1 - self.time_kernel, 0, device=x.device)  # e.g. [-2, -1]
        positions = n_real[:, None] + back  # (B, k-1)
        state = y.gather(1, positions.clamp(min=0)[:, :, None, None].expand(-1, -1, *y.shape[2:]))
        state = state.masked_fill((positions < 0)[:, :, None, None], 0.0)
        return qkv, state

    def step(
        self, x: torch.Tensor, state: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        """One new position per row. x: (B, 1, D), state (B, k-1, S, M) -> q, k, v (B, 1, D)
        and the next state."""
        window = torch.cat([state, self.project(x)], dim=1)  # (B, k, S, M)
        return self.convolve_last(window), window[:, 1:]

    def project(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return self.mult(x).view(b, t, self.n_modules, self.d_module)  # (B, T, S, M)

    def convolve(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """y: (B, T + k - 1, S, M), already padded in time -> q, k, v (B, T, S * M)."""
        b = y.shape[0]
        t = y.shape[1] - (self.time_kernel - 1)
        image = y.permute(0, 3, 1, 2)  # (B, M, T', S): channels M, image T' x S

        def unfold(out: torch.Tensor) -> torch.Tensor:
            return out.permute(0, 2, 3, 1).reshape(b, t, -1)  # (B, M, T, S) -> (B, T, S * M)

        if self.k_conv is None:
            q = k = unfold(self.q_conv(image))
        else:  # one call for Q and K, which share the image and the kernel's shape
            weight = torch.cat([self.q_conv.weight, self.k_conv.weight])
            bias = torch.cat([self.q_conv.bias, self.k_conv.bias])
            q, k = F.conv2d(image, weight, bias, padding=(0, 1)).chunk(2, dim=1)
            q, k = unfold(q), unfold(k)
        return q, k, unfold(self.v_conv(image))

    def convolve_last(self, window: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """`convolve` of a window of exactly `time_kernel` positions, (B, k, S, M) -> q, k, v
        (B, 1, S * M): the convolutions' one output position, as a single matrix product
        of each module's taps (k time steps x 3 modules x M inputs) with the three kernels
        side by side. Decoding calls this once per layer and token, where three convolution
        calls on such small images cost more than the arithmetic."""
        b, k, s, m = window.shape
        taps = F.pad(window, (0, 0, 1, 1)).unfold(2, 3, 1)  # (B, k, S, M, 3): modules s-1..s+1
        taps = taps.permute(0, 2, 1, 4, 3).reshape(b * s, k * 3 * m)
        weight, bias = self.fused_kernels()
        out = torch.addmm(bias, taps, weight).view(b, 1, s, -1, m)  # (B, 1, S, outputs, M)
        q, *rest = (out[:, :, :, i].reshape(b, 1, s * m) for i in range(out.shape[3]))
        return (q, q, rest[0]) if self.k_conv is None else (q, rest[0], rest[1])

    def fused_kernels(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The Q, (K,) V kernels as one (k * 3 * M, outputs * M) matrix whose rows follow the
        taps of `convolve_last`, and their biases; rebuilt only when a kernel changes."""
        convs = [c for c in (self.q_conv, self.k_conv, self.v_conv) if c is not None]
        key = parameters_key([p for c in convs for p in (c.weight, c.bias)])
        if getattr(self, "_fused_key", None) != key:
            with torch.no_grad():
                k, m = self.time_kernel, self.d_module
                blocks = []
                for conv in convs:
                    w = conv.weight.permute(2, 3, 1, 0)  # (k, width, M in, M out)
                    if w.shape[1] == 1:  # V's kernel spans one module: the middle tap
                        w = F.pad(w, (0, 0, 0, 0, 1, 1))
                    blocks.append(w.reshape(k * 3 * m, m))
                self._fused = (torch.cat(blocks, dim=1), torch.cat([c.bias for c in convs]))
            self._fused_key = key
        return self._fused


class SparseFF(nn.Module):
    """Sparse feed-forward layer: d_ff units in blocks of N, exactly one active per block.

    A low-rank controller (D -> d_lowrank -> F) scores the units of each block. Training uses
    the dense product times a mask: on a random `hard_prob` share of steps the one-hot mask of
    argmax(logits + temperature * Gumbel noise) with a straight-through (softmax) gradient,
    otherwise the softmax itself (trax's `quant_prob` trick for stable training). Inference
    takes the argmax and, for few tokens, gathers only the K chosen rows of W1 and W2; for
    many, computes x W1 once and sends only the chosen units through W2.

    As in trax, the first projection has no bias: FF(x) = (relu(x W1) * mask) W2 + b2.
    """

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        block: int,
        d_lowrank: int | None = None,
        temperature: float = 0.1,
        hard_prob: float = 0.3,
        dropout: float = 0.0,
        gather_max_tokens: int = 8,
    ):
        super().__init__()
        if d_ff % block:
            raise ValueError(f"block size ({block}) must divide d_ff ({d_ff})")
        self.d_ff = d_ff
        self.block = block
        self.n_blocks = d_ff // block
        self.d_lowrank = d_lowrank or self.n_blocks
        self.temperature = temperature
        self.hard_prob = hard_prob
        self.dropout = dropout
        self.gather_max_tokens = gather_max_tokens
        # Unit-major weights (one row per unit), so the gather path selects rows of both.
        self.w1 = nn.Parameter(torch.empty(d_ff, d_model))
        self.w2 = nn.Parameter(torch.empty(d_ff, d_model))
        self.b2 = nn.Parameter(torch.empty(d_model))
        self.controller_down = nn.Parameter(torch.empty(d_model, self.d_lowrank))
        self.controller_up = nn.Parameter(torch.empty(self.d_lowrank, d_ff))
        self.controller_bias = nn.Parameter(torch.empty(d_ff))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        d_model = self.w1.shape[1]
        nn.init.normal_(self.w1, std=d_model**-0.5)
        # Only K of the F units are active, so scale W2 as if the layer had K units.
        nn.init.normal_(self.w2, std=self.n_blocks**-0.5)
        nn.init.zeros_(self.b2)
        nn.init.normal_(self.controller_down, std=d_model**-0.5)
        nn.init.normal_(self.controller_up, std=self.d_lowrank**-0.5)
        nn.init.zeros_(self.controller_bias)

    @torch.no_grad()
    def silence_(self) -> None:
        """Output zeros for every input from now until trained (W2 and b2 zeroed)."""
        self.w2.zero_()
        self.b2.zero_()

    def controller_logits(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D) -> unit scores (..., K, N)."""
        low = (x @ self.controller_down).flatten(0, -2)  # (tokens, d_lowrank)
        logits = torch.addmm(self.controller_bias, low, self.controller_up)  # one fused pass
        return logits.view(*x.shape[:-1], self.n_blocks, self.block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        logits = self.controller_logits(x)  # (B, T, K, N)
        if self.training:
            return self.dense_forward(x, self.training_mask(logits))
        chosen = logits.argmax(dim=-1)  # (B, T, K)
        n_tokens = x.shape[:-1].numel()
        if n_tokens <= self.gather_max_tokens:
            return self.gather_forward(x, chosen)
        return self.select_forward(x, chosen)

    def training_mask(self, logits: torch.Tensor) -> torch.Tensor:
        """Soft or straight-through hard mask (B, T, K, N); draws from the global RNG."""
        soft = logits.softmax(dim=-1)
        if not torch.rand(()) < self.hard_prob:  # one draw per step, as in trax
            return soft
        chosen = sample_units(logits.detach(), self.temperature)
        hard = torch.zeros_like(soft).scatter_(-1, chosen.unsqueeze(-1), 1.0)
        return StraightThrough.apply(hard, soft)

    def dense_forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """All F units computed, then masked. mask: (..., K, N)."""
        h = F.relu(x @ self.w1.t()) * mask.flatten(-2)  # (..., F)
        h = dropout(h, self.dropout, self.training)
        return h @ self.w2 + self.b2

    def select_forward(
        self, x: torch.Tensor, chosen: torch.Tensor, tokens_per_pass: int = 4096
    ) -> torch.Tensor:
        """Inference for many tokens: x W1 for all units (one matmul), then only the chosen
        unit of each block through W2, as a weighted embedding bag of W2's rows. A third of
        the dense form's time at 16k tokens: no mask is built and W2's product is K of F rows.
        Tokens go `tokens_per_pass` at a time, so the (tokens, F) activations stay small on
        long inputs. chosen: (..., K) indices within blocks."""
        shape = x.shape
        x = x.reshape(-1, shape[-1])  # (P, D)
        chosen = chosen.reshape(-1, self.n_blocks)  # (P, K)
        offsets = torch.arange(self.n_blocks, device=x.device) * self.block
        out = []
        for start in range(0, x.shape[0], tokens_per_pass):
            part = chosen[start : start + tokens_per_pass]
            h = x[start : start + tokens_per_pass] @ self.w1.t()  # (p, F)
            h = h.view(-1, self.n_blocks, self.block).gather(-1, part[..., None])
            h = h.squeeze(-1).relu_().to(self.w2.dtype)  # (p, K): the chosen units only
            # (under autocast h is half precision; embedding_bag needs W2's dtype)
            out.append(F.embedding_bag(part + offsets, self.w2, per_sample_weights=h, mode="sum"))
        return (torch.cat(out) + self.b2).view(shape)

    def gather_forward(self, x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """Only the chosen unit of each block. chosen: (..., K) indices within blocks.

        W1's chosen rows are gathered for one batched product with x; W2's are summed straight
        from the weight, scaled by the activations, as an embedding bag: no gathered copy of
        them is written and read again (a decoding step of medium-800m reads 24 such layers)."""
        shape = x.shape
        x = x.reshape(-1, shape[-1])  # (P, D) for P tokens
        offsets = torch.arange(self.n_blocks, device=x.device) * self.block
        units = chosen.reshape(-1, self.n_blocks) + offsets  # (P, K) rows of W1 and W2
        w1 = self.w1.index_select(0, units.flatten()).view(x.shape[0], self.n_blocks, -1)
        h = torch.bmm(w1, x.unsqueeze(-1)).squeeze(-1).relu_()  # (P, K)
        # (under autocast h is half precision; embedding_bag needs W2's dtype)
        h = h.to(self.w2.dtype)
        y = F.embedding_bag(units, self.w2, per_sample_weights=h, mode="sum")  # (P, D)
        return (y + self.b2).view(shape)


def sample_units(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """One unit per block, (..., N) -> (..., ): argmax(logits + temperature * Gumbel noise),
    drawn in its equivalent form, from softmax(logits / temperature) by inverting its
    cumulative sum with one uniform number per block. Gumbel noise needs N uniforms and two
    logarithms per block, and CPU random numbers are the slow part (~4 ns each, serially)."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    cumulative = (logits / temperature).softmax(dim=-1).cumsum(dim=-1)
    u = torch.rand(*logits.shape[:-1], 1, dtype=cumulative.dtype, device=logits.device)
    # u scaled by the total, which rounding can leave a little under 1
    chosen = (cumulative < u * cumulative[..., -1:]).sum(dim=-1)
    return chosen.clamp_(max=logits.shape[-1] - 1)


class StraightThrough(torch.autograd.Function):
    """`hard` forward, the gradient to `soft` backward: hard + soft - soft.detach() without
    its two passes over the mask."""

    @staticmethod
    def forward(ctx, hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
        return hard

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, grad


class DenseFF(nn.Module):
    """The dense baseline: relu(x W1 + b1) W2 + b2."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.w1 = Linear(d_model, d_ff)
        self.w2 = Linear(d_ff, d_model)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = dropout(F.relu(self.w1(x)), self.dropout, self.training)
        return self.w2(h)

    @torch.no_grad()
    def silence_(self) -> None:
        """Output zeros for every input from now until trained (W2 and b2 zeroed)."""
        self.w2.weight.zero_()
        self.w2.bias.zero_()
