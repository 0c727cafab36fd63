"""Keep freed memory in the process instead of handing it back to the kernel (glibc only).

glibc serves every allocation above its mmap threshold (128 KiB at first, adapting up to
32 MiB) with a fresh mapping and unmaps it on free, and it trims the top of its heap as soon
as 128 KiB there are free. Torch's CPU tensors come straight from malloc, so each step of
training or decoding asks the kernel again for pages it gave back moments before, and the
kernel zero-fills every 4 KiB page on its first touch. One training step of the shipped
Terraformer (configs/salient-cpu.toml, batch 4 x (512 + 192) tokens, 2 threads) took
about 330,000 such page faults and 1.7 s of system time out of 4.7 s on this project's 2-core
machine; with freed memory kept for reuse, 2,700 faults and 2.9 s a step. The README's
"Training throughput" section has the measurements.

The cost: the process keeps its peak heap until it exits instead of shrinking after a large
request. Entry points (the CLI, the app, the benchmarks) call `keep_freed_memory` once; the
library itself never changes the allocator of a process it is imported into.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import sys

logger = logging.getLogger(__name__)

# mallopt's parameter numbers, from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Allocations below this come from the heap and go back to it when freed; larger ones (none
# at this project's shapes) are still mapped on their own.
MMAP_THRESHOLD = 1 << 30
# Free memory at the top of the heap is returned to the kernel only beyond this.
TRIM_THRESHOLD = (1 << 31) - 1


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse (see the module docstring). Returns whether it
    did: False off Linux or where the C library has no `mallopt` (musl returns 0 from it)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not done:
        logger.info("this C library ignored mallopt: freed memory goes back to the kernel")
    return done


def add_default_allocator_flag(parser: argparse.ArgumentParser) -> None:
    """`--default-allocator`, for a benchmark that times glibc's defaults against kept memory:
    the benchmark calls `keep_freed_memory` unless it is given."""
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's defaults, which hand freed memory back to the kernel, instead of "
        "keeping it as the CLI and the app do (summarizer/allocator.py); for comparison",
    )
