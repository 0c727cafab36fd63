"""Inference matrix products on CPU through oneDNN, with each weight packed once.

A decoding step multiplies a few rows by every weight. The multiplicative layers (Sparse QKV's
projection and convolutions, the sparse output layer) make those products skinny
matrix-matrix ones, one row per module: 16 x 1,024 by 1,024 x 64, 16 x 576 by 576 x 192,
4 x 1,024 by 1,024 x 8,000 in `medium-800m`. At such shapes the default kernel (MKL's sgemm)
repacks the whole weight on every call: on one thread the output layer's product took 5-6 ms,
against 2.1-2.8 ms through oneDNN with the weight packed beforehand and ~2 ms to read the
weight once.

The dense layers gain too (`Linear`), at a few rows and at one row on more than one thread.
MKL's matrix-vector product runs on one thread whatever torch is given: on two threads a
10,528 x 1,024 layer took 3.2 ms, against 1.6 ms through oneDNN, which uses both, and the dense
`medium-800m` twin's decoding step went from ~285 to ~200 ms. At 4 rows a 32,000 x 1,024 output
layer took 24-31 ms on one thread, against 11 ms. One row on one thread keeps the default
kernel: there oneDNN was level or up to 1.4x slower (1,024 x 10,528: 3.6 against 2.6 ms).

`PackedLinear` keeps that packed copy beside its module and rebuilds it whenever a source
parameter changes (a training step, `load_state_dict`, `.to()`). It serves only inference
(no autograd, no autocast) on float32 CPU tensors of at least `MIN_WEIGHTS` weights, and says
so by returning None otherwise, so the caller's own product runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
# Below about a million weights oneDNN's cost per call outweighs the repacking it saves: Sparse
# QKV's 1,024 x 64 projection at 16 rows took 1.2-1.4x as long through it, and its 576 x 192
# convolution kernels were level (48 layers, one thread).
MIN_WEIGHTS = 1 << 20
FEW_ROWS = 16  # a decoding step's rows (its beams) at most


class PackedLinear:
    """x W^T + b with W, (out, in), packed for oneDNN's inner-product kernel."""

    def __init__(self) -> None:
        self._cached: tuple[tuple, torch.Tensor] | None = None  # (source key, packed W)

    def __call__(
        self,
        x: torch.Tensor,
        sources: Sequence[torch.Tensor],
        weight: Callable[[], torch.Tensor],
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """x: (..., in) -> (..., out), or None where the packed kernel does not apply.

        `weight()` builds W from `sources`, the parameters it is made of; it runs only when
        one of them has changed since the last packing."""
        if not applies(x, sources):
            return None
        return self.product(x, sources, weight, bias)

    def product(
        self,
        x: torch.Tensor,
        sources: Sequence[torch.Tensor],
        weight: Callable[[], torch.Tensor],
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`__call__` for a caller that has already checked that `applies(x, sources)`."""
        key = parameters_key(sources)
        if self._cached is None or self._cached[0] != key:
            with torch.no_grad():
                w = weight().contiguous()
                rows = x.shape[:-1].numel()  # a hint for the packed layout; any count works
                packed = torch.ops.mkldnn._reorder_linear_weight(w, rows)
            self._cached = (key, packed)
        return torch.ops.mkldnn._linear_pointwise(x, self._cached[1], bias, "none", [], "")


class Linear(nn.Linear):
    """nn.Linear whose products of a few rows go through `PackedLinear`, except a single row on
    one thread (the module docstring says why); the same parameters and state dict."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.packed = PackedLinear()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.packs(x):
            return self.packed.product(x, [self.weight], lambda: self.weight, self.bias)
        return super().forward(x)

    def packs(self, x: torch.Tensor) -> bool:
        """Whether x's product goes through the packed weight."""
        rows = x.shape[:-1].numel()
        few = rows <= FEW_ROWS and (rows > 1 or torch.get_num_threads() > 1)
        return few and applies(x, [self.weight])


def parameters_key(params: Sequence[torch.Tensor]) -> tuple:
    """What a tensor derived from `params` is current for: it changes when one of them is
    replaced (storage), modified in place (version counter) or cast (dtype)."""
    return tuple((p.data_ptr(), p._version, p.dtype) for p in params)


def applies(x: torch.Tensor, sources: Sequence[torch.Tensor]) -> bool:
    """Whether `PackedLinear` computes x's product: float32 on CPU, a large enough weight,
    gradients off (the packed kernel has no backward), no autocast (whose dtype rules it would
    bypass)."""
    return (
        ONEDNN
        and sum(p.numel() for p in sources) >= MIN_WEIGHTS
        and not torch.is_grad_enabled()
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and all(p.dtype == torch.float32 and p.device.type == "cpu" for p in sources)
        and not torch.is_autocast_enabled("cpu")
    )
