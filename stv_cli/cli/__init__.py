"""The ``stv`` command line (click only): the group in :mod:`.main`, one module per command.

Commands import the shared options (:mod:`.options`), the checks (:mod:`.checks`) and the
reporting helpers (:mod:`.report`), never the group; the group imports the commands. Nothing
here imports numba at import time, so ``stv --help`` and shell completion stay instant.
"""

from .main import main

__all__ = ["main"]
