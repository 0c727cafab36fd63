"""Reversible residual stacks (RevNet), with the RNG replayed when activations are recomputed.

A stack is a list of half-residual layers F_1..F_n acting on two streams:

    (x1, x2) -> (x2, x1 + F_i(x2))

A classic reversible block [y1 = x1 + Attention(x2); y2 = x2 + FF(y1)] is two such steps, and
a Terraformer decoder block [attention, attention, FF] is three. Every step can be undone from
its output alone: x2 = y1, x1 = y2 - F_i(y1). So the forward pass keeps only the final streams
and the backward pass rebuilds each layer's input on the way down: activation memory does not
grow with depth. Each recomputation of F_i replays the RNG state it saw in the forward pass, so
dropout masks, Gumbel noise and LSH rotations are identical and the gradients are exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

RNGState = tuple[torch.Tensor, torch.Tensor | None]


def capture_rng(device: torch.device) -> RNGState:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


@contextmanager
def replay_rng(state: RNGState, device: torch.device) -> Iterator[None]:
    """Run the body with `state` as the RNG state; the outer state is restored afterwards."""
    cpu, cuda = state
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state(cuda, device)
        yield


def autocast_state(device: torch.device) -> dict:
    """Keyword arguments for torch.autocast that reproduce the autocast now in effect."""
    kind = device.type
    return {
        "device_type": kind,
        "enabled": torch.is_autocast_enabled(kind),
        "dtype": torch.get_autocast_dtype(kind),
    }


class ReversibleStack(nn.Module):
    """Half-residual layers on two streams; reversible (O(1) activation memory in depth) when
    `reversible`, plain autograd otherwise. Both consume the RNG in the same order, so with
    the same seed they compute the same function and the same gradients."""

    def __init__(self, layers: Sequence[nn.Module], reversible: bool = True):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.reversible = reversible

    def forward(
        self,
        x1: torch.Tensor,
        x2: torch.Tensor,
        key_mask: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x1, x2: (B, T, D) streams; key_mask: (B, T) bool; targets: (B, n) indices of the
        decoder's target positions, or None -> the two output streams. Layers are called as
        layer(x, key_mask, targets)."""
        if self.reversible and torch.is_grad_enabled():
            # The parameters are passed only so autograd calls our backward even when the
            # streams themselves need no gradient; their gradients are accumulated there.
            params = [p for p in self.parameters() if p.requires_grad]
            out = _ReversibleFunction.apply(x1, x2, self, key_mask, targets, *params)
            return out[0], out[1]
        for layer in self.layers:
            x1, x2 = x2, x1 + layer(x2, key_mask, targets)
        return x1, x2


class _ReversibleFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x1: torch.Tensor,
        x2: torch.Tensor,
        stack: ReversibleStack,
        key_mask: torch.Tensor,
        targets: torch.Tensor | None,
        *params: nn.Parameter,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = []
        with torch.no_grad():
            x1, x2 = x1.clone(), x2.clone()  # never hand autograd its own input back
            for layer in stack.layers:
                states.append(capture_rng(x2.device))
                x1, x2 = x2, x1 + layer(x2, key_mask, targets)
        ctx.stack = stack
        ctx.states = states
        # The recomputation must run under the same autocast as the forward (e.g. bf16 on
        # GPU), or the rebuilt activations would not match the ones the forward produced.
        ctx.autocast = autocast_state(x2.device)
        ctx.n_params = len(params)
        ctx.save_for_backward(x1, x2, key_mask, targets)
        return x1, x2

    @staticmethod
    def backward(ctx: Any, dy1: torch.Tensor, dy2: torch.Tensor) -> tuple[Any, ...]:
        y1, y2, key_mask, targets = ctx.saved_tensors
        stack: ReversibleStack = ctx.stack
        for i in reversed(range(len(stack.layers))):
            # Undo (x1, x2) -> (x2, x1 + F(x2)) while back-propagating through F. The weight
            # gradients go straight into `.grad` (through the usual accumulation nodes, so
            # DDP's hooks fire), one layer at a time: memory stays flat in depth.
            x2 = y1.detach().requires_grad_(True)
            with (
                torch.enable_grad(),
                replay_rng(ctx.states[i], x2.device),
                torch.autocast(**ctx.autocast),
            ):
                f = stack.layers[i](x2, key_mask, targets)
            torch.autograd.backward(f, dy2)
            with torch.no_grad():
                x1 = y2 - f
                dx2 = dy1 + x2.grad
            y1, y2 = x1, x2.detach()
            dy1, dy2 = dy2, dx2
        return (dy1, dy2, None, None, None, *([None] * ctx.n_params))
