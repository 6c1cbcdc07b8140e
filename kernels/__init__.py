"""stv's compute kernels (installed as ``stv_kernels``; the folder is ``kernels/``).

Importing this package imports nothing heavy: :mod:`stv_kernels.reference` needs NumPy only,
and :mod:`stv_kernels.cpu` (numba) is imported by the backend switch when it is first used.
Kernel modules import numpy and numba only, never click, tqdm, Pillow or imageio.

All volumes are C-contiguous float32 arrays of shape (D, H, W, C), channels last (SPEC D1).
"""
