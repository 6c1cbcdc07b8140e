"""One input -> its outputs, for ``stv project``, ``stv decode`` and ``stv grid`` (no click).

A command builds frozen settings (:mod:`.settings`), one :class:`~.workspace.Workspace` per
batch, and calls a per-input function through an executor: :func:`.project.run_project_input`,
:func:`.decode.run_decode_input`, :func:`.grid.run_grid`. The refine-and-project stages they
share are :mod:`.stages`; output naming and the atomic writers are :mod:`.outputs`.
"""
