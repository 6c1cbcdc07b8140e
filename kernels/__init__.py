"""stv's compute kernels, installed as ``stv_kernels`` (the folder is ``kernels/``).

One package per backend, each holding the same kernel families (collapse, interpolate,
upscale, diffuse, stats, decode, pixels, video_frame) with the same signatures:

``reference/``
    NumPy, written for clarity: the ``numpy`` backend and the oracle of the others.
``cpu/``
    numba ``@njit(parallel=True, cache=True)`` kernels.
``cuda/``
    numba.cuda kernels for NVIDIA GPUs (the ``cuda`` extra; numba's simulator in tests).

:mod:`stv_kernels.registry` lists the backends in ``auto``'s order and
:mod:`stv_kernels.contract` the kernels each must provide. Shared pieces live beside them:
argument checks (``_checks``) and tables (``_tables``) every backend uses, the ChaCha12 stream
of the decoder (:mod:`stv_kernels.chacha`) and the pixel scale (:mod:`stv_kernels.pixel_scale`).

Importing this package imports nothing heavy; numba is imported with the ``cpu`` backend.
Kernel modules import numpy and numba only, never click, tqdm, Pillow or PyAV. All volumes are
C-contiguous float32 arrays of shape (D, H, W, C), channels last (SPEC D1).
"""
