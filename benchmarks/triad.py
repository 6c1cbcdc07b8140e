"""STREAM-style triad: this machine's memory bandwidth, measured in the benchmark's own process.

``a = b + s * c`` over three float64 arrays much larger than the last-level cache, with every
numba thread (``prange``), writing into a preallocated ``a``. Two traffic counts are reported:

* ``gbs_3``: 3 arrays per element (read b, read c, write a): STREAM's own convention. The kernel
  figures in ``bench.py`` count their bytes the same way (logical reads + writes, no write
  allocate), so this is the denominator of their "% of triad".
* ``gbs_4``: 4 arrays, adding the read-for-ownership of ``a`` that ordinary (not non-temporal)
  stores cause on x86. This is closer to what the memory bus really carries.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


class Triad:
    """Three arrays kept allocated, so the triad can be re-measured cheaply next to each kernel.

    Parameters
    ----------
    mib_per_array
        Size of each of the three arrays; keep it many times the last-level cache.
    """

    def __init__(self, mib_per_array: int = 256):
        self.mib_per_array = mib_per_array
        n = mib_per_array * 2**20 // 8
        # touch every page before timing: first-touch page faults are not memory bandwidth
        self.a = np.zeros(n)
        self.b = np.full(n, 1.0)
        self.c = np.full(n, 2.0)
        _triad(self.a, self.b, self.c, 3.0)  # compiles (or loads) the kernel

    def measure(self, repeats: int = 10) -> dict:
        """Run the triad ``repeats`` times; timings and bandwidths (GB = 1e9 bytes)."""
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            _triad(self.a, self.b, self.c, 3.0)
            times.append(time.perf_counter() - t0)
        if self.a[self.a.size // 2] != 7.0:  # the result must be used, and right
            raise RuntimeError("triad computed a wrong result")
        med, best = float(np.median(times)), float(np.min(times))
        elem = self.a.nbytes
        return {
            "mib_per_array": self.mib_per_array,
            "repeats": len(times),
            "median_s": med,
            "min_s": best,
            "gbs_3": 3 * elem / med / 1e9,
            "gbs_4": 4 * elem / med / 1e9,
            "gbs_3_best": 3 * elem / best / 1e9,
        }


def measure_triad(mib_per_array: int = 256, repeats: int = 10) -> dict:
    """Allocate the arrays, run the triad ``repeats`` times, and report (see Triad.measure)."""
    return Triad(mib_per_array).measure(repeats)


if __name__ == "__main__":
    r = measure_triad()
    print(f"triad {r['gbs_3']:.1f} GB/s (3 arrays), {r['gbs_4']:.1f} GB/s (4, write-allocate)")
