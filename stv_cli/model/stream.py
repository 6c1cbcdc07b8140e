"""VideoStreamProjector: project a stream of volumes, frame by frame (SPEC A.12).

Each step optionally calibrates the projector from an atlas, refines the volume (diffusion,
then Z interpolation and XY upscaling), generates a resonance from it (fed the previous one),
and collapses it with depth weights smoothed over time. State carried between steps: the
weight buffer, the previous resonance and the projector's calibration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataLength, InvalidValue
from .refine import InterpolationMethod
from .temporal import TemporalResonanceBuffer


class VideoStreamProjector:
    """Projects successive volumes with a resonance generator and temporal smoothing.

    Parameters
    ----------
    projector : VisionProjector
        Used and, when an atlas is given to :meth:`step`, calibrated in place (persistently).
    generator : ResonanceGenerator
        Makes each step's resonance; its ``steps`` bounds the depth after refinement.
    decay : float
        Weight of the NEWEST frame in the depth-weight smoothing (the reference's name "decay",
        D10); clamped to [0, 1], non-finite falls back to 0.5.

    Examples
    --------
    >>> import numpy as np
    >>> from stv_cli import ResonanceGenerator, VisionProjector, ZSpaceVolume
    >>> stream = VideoStreamProjector(VisionProjector(), ResonanceGenerator("g", 4, 3), 0.5)
    >>> image, resonance = stream.step(ZSpaceVolume(np.ones((2, 4, 4), np.float32)))
    >>> image.shape
    (4, 4, 1)
    """

    def __init__(self, projector, generator, decay: float) -> None:
        self.projector = projector
        self.generator = generator
        self.smoothing = TemporalResonanceBuffer(decay)
        self._previous = None
        self._diffuser = None
        self._super_resolution: tuple[InterpolationMethod, int] | None = None

    def with_diffuser(self, diffuser) -> VideoStreamProjector:
        """Diffuse every volume with ``diffuser`` first; returns self for chaining."""
        self._diffuser = diffuser
        return self

    def with_super_resolution(
        self, method: InterpolationMethod | str, factor: int
    ) -> VideoStreamProjector:
        """Interpolate along Z (always, D -> 2D - 1) then upscale by ``factor`` when > 1.

        ``factor`` 0 or 1 means no upscaling (as in the reference); returns self.

        Raises
        ------
        InvalidValue
            For an unknown method or a factor that is not an integer >= 0.
        """
        method = InterpolationMethod.parse(method)
        if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 0:
            raise InvalidValue(
                f"super-resolution factor must be an integer >= 0 (0 and 1 mean no upscale), "
                f"got {factor!r}"
            )
        self._super_resolution = (method, int(factor))
        return self

    @property
    def diffuser(self):
        """The diffuser applied first, or None."""
        return self._diffuser

    @property
    def super_resolution(self) -> tuple[InterpolationMethod, int] | None:
        """(method, factor) of the refinement, or None."""
        return self._super_resolution

    def last_resonance(self):
        """The resonance of the last successful step, or None."""
        return self._previous

    def reset(self) -> None:
        """Forget the smoothing history and the previous resonance.

        The projector's calibration (from atlases) is kept, as in the reference.
        """
        self.smoothing.clear()
        self._previous = None

    def refine(self, volume):
        """Steps 2 and 3 of :meth:`step`: diffuse, interpolate, upscale (a new volume)."""
        refined = volume
        if self._diffuser is not None:
            refined = self._diffuser.diffuse(refined)
        if self._super_resolution is not None:
            method, factor = self._super_resolution
            refined = refined.interpolate(method)
            if factor > 1:
                refined = refined.upscale(factor)
        return refined

    def step(self, volume, chrono=None, atlas=None, *, profile=None, out=None):
        """Project one volume; returns ``(image, resonance)`` (SPEC A.12).

        In this order: (1) calibrate the projector from ``atlas`` (persistent, before anything
        can fail); (2) diffuse; (3) interpolate and upscale; (4) generate the resonance with
        the previous one; (5) collapse with the smoothed depth weights; (6) remember the
        resonance. ``volume`` itself is never modified.

        ``profile`` (``volume.slice_profile()``, when the caller keeps it) spares the
        generator a pass over the volume; it is used only without refinement, since a
        refined volume has statistics of its own. ``out`` (C-contiguous float32 of the
        image's shape) receives the image instead of a new array.

        Returns
        -------
        tuple
            A new (H*f, W*f, C) float32 image and the :class:`DifferentialResonance`.

        Raises
        ------
        InvalidDimensions
            If the refined depth exceeds the generator's steps (state after (1) is kept).
        """
        if atlas is not None:
            self.projector.calibrate_from_atlas(atlas)
        refined = self.refine(volume)
        if refined is not volume:
            profile = None
        resonance = self.generator.generate(
            refined, self.projector, chrono, atlas, self._previous, profile=profile
        )
        weights = self.projector.depth_weights_with_temporal(refined, resonance, self.smoothing)
        image = refined.collapse_with_weights(weights, out=out)
        self._previous = resonance
        return image, resonance

    def project_sequence(
        self,
        volumes: Sequence,
        chronos: Sequence | None = None,
        atlases: Sequence | None = None,
    ) -> list[np.ndarray]:
        """:meth:`step` over ``volumes`` in order; returns the images.

        ``chronos`` and ``atlases`` are None, empty (all None) or one per volume. An error
        stops the sequence and the state of the steps done so far is kept.

        Raises
        ------
        DataLength
            If a non-empty list's length differs from the number of volumes (checked first).
        """
        volumes = list(volumes)
        chronos = list(chronos or [])
        atlases = list(atlases or [])
        for name, values in (("chronos", chronos), ("atlases", atlases)):
            if values and len(values) != len(volumes):
                raise DataLength(
                    f"{name} must be empty or have one entry per volume ({len(volumes)}), "
                    f"got {len(values)}"
                )
        images = []
        for k, volume in enumerate(volumes):
            chrono = chronos[k] if chronos else None
            atlas = atlases[k] if atlases else None
            images.append(self.step(volume, chrono, atlas)[0])
        return images

    def __repr__(self) -> str:
        return (
            f"VideoStreamProjector(decay={self.smoothing.decay}, diffuser={self._diffuser!r}, "
            f"super_resolution={self._super_resolution})"
        )
