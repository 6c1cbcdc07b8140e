"""The clip runner of ``stv video``: reader -> streaming projection -> sinks (no click).

:mod:`.settings` holds the frozen settings, :mod:`.streaming` the per-frame model without files
(:class:`~.streaming.StreamingProjection`), :mod:`.clip` runs one clip end to end
(:func:`~.clip.run_clip`), :mod:`.outputs` names and publishes the outputs and :mod:`.sinks`
writes them frame by frame.
"""
