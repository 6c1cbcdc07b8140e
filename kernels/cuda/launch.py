"""Launch sizes of every CUDA kernel, in one place (tests patch them small).

Kernels use grid-stride loops, so correctness never depends on these numbers: with one block
of a few threads every element is still visited. A test that sets ``THREADS = 4`` and
``MAX_BLOCKS = 3`` makes several blocks and several grid-stride steps run on tiny volumes.
"""

from __future__ import annotations

#: Threads per block (a multiple of the 32-thread warp on a GPU).
THREADS = 256
#: Most blocks per launch: enough to fill an H100's 132 SMs several times over; beyond that
#: the grid-stride loop takes the rest.
MAX_BLOCKS = 4096


def grid(work: int) -> tuple[int, int]:
    """``(blocks, threads)`` for ``work`` independent items, each thread striding the rest."""
    threads = THREADS
    blocks = max(1, min(MAX_BLOCKS, (int(work) + threads - 1) // threads))
    return blocks, threads
