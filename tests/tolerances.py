"""float32 tolerances and the backends every model test runs on, stated once.

The semantics (docs/semantics.md) allow abs 1e-6 on weights and voxels and 1e-5 through the
RNN or the decoder.
"""

ATOL = 1e-6
ATOL_RNN = 1e-5

BACKENDS = ["numpy", "cpu"]
