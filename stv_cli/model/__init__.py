"""The SpiralTorchVision model: volumes, windows, resonances, projectors and their maths.

No files, no click, no threads: objects that hold float32 arrays and call the kernels of the
backend in force (:func:`stv_cli.backend.ops`). ``floats`` holds the float32 rules every
module here follows (Rust-style NaN handling, normalisation); ``memory`` the guard that refuses
an oversized output before it is allocated; ``video/`` the telemetry model of a clip.
The public names are re-exported lazily by :mod:`stv_cli`.
"""
