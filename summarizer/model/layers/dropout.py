"""Dropout with a cheaper random mask on CPU.

`F.dropout` draws one random number per element (`bernoulli_`), serially on CPU: about 4 ns
each, which made dropout a fifth of a training step here. This draws one 64-bit word per
four elements and reads it as four 16-bit uniforms, each compared with a threshold; on this
machine a (4, 704, 2048) activation took 14 ms against F.dropout's 44 ms in fp32 (12 ms
against 35 ms in bf16). The drop probability is rounded to a multiple of 1/65536.

The words come from torch's default generator, so seeding, the RNG state a checkpoint keeps
and the reversible layers' recomputation (which restores that state) reproduce the mask. On
other devices, whose generators fill tensors in parallel, it is `F.dropout`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_LEVELS = 1 << 16  # values of a 16-bit uniform


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero each element of `x` with probability `p` and scale the rest by 1 / (1 - p), when
    `training`; `x` itself otherwise."""
    if not training or p == 0:
        return x
    if x.device.type != "cpu" or p >= 1:
        return F.dropout(x, p=p, training=True)
    n = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64)
    uniforms = words.view(torch.int16)[:n].view(x.shape)  # each in [-32768, 32767]
    keep = uniforms >= round(p * _LEVELS) - _LEVELS // 2
    return torch.where(keep, x * (1 / (1 - p)), 0)
