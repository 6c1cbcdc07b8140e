"""Pictures out: ``make_grid`` and ``save_image`` (SPEC Part G in docs/semantics.md).

The semantics follow torchvision's ``make_grid`` / ``save_image`` so that the same floats give
the same picture, with one layout difference: stv is channels last, so a batch is (B, H, W, C)
and a grid is (H', W', C'). Quantisation and the file writer live in :mod:`stv_cli.io.image_write`
(``to_uint8``, ``to_uint16``, ``save_array_image``, re-exported here).

One deliberate extension: with ``normalize=True`` and no ``value_range``, the range is taken
over the *finite* values only. torchvision takes ``min``/``max`` of everything, so a single NaN
turns the whole picture black; here NaN voxels stay NaN (and become 0 when quantised) while the
rest of the image is scaled as if they were absent. On finite input the two agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import EmptyInput, InvalidDimensions, InvalidValue, ShapeMismatch
from .image_write import DEFAULT_PNG_COMPRESS_LEVEL, save_array_image, to_uint8, to_uint16

__all__ = [
    "DEFAULT_PNG_COMPRESS_LEVEL",
    "make_grid",
    "save_array_image",
    "save_image",
    "to_uint8",
    "to_uint16",
]

# torchvision's floor on the normalisation divisor (SPEC Part G step 2).
_MIN_RANGE = 1e-5


def _as_batch(images, copy: bool = True) -> np.ndarray:
    """Return a float32 (B, H, W, C) array from a batch array or a list of images.

    A 2-D array is one grey image (H, W); a 3-D array is one image (H, W, C), as in
    torchvision, where a 3-D tensor is one (C, H, W) image.
    """
    if isinstance(images, np.ndarray):
        stacked = images
    else:
        if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
            raise InvalidValue(
                f"images must be an array (B, H, W, C) or a list of (H, W[, C]) arrays, "
                f"got {type(images).__name__}"
            )
        if len(images) == 0:
            raise EmptyInput("images must hold at least one image, got an empty list")
        arrays = [np.asarray(img) for img in images]
        for k, img in enumerate(arrays):
            if img.ndim not in (2, 3):
                raise InvalidDimensions(
                    f"images[{k}] must be (H, W) or (H, W, C), got shape {img.shape}"
                )
            if img.shape != arrays[0].shape:
                raise ShapeMismatch(
                    f"images[{k}] has shape {img.shape}, but images[0] has {arrays[0].shape}; "
                    f"all images of a grid must have the same shape"
                )
        stacked = np.stack(arrays)
    if stacked.dtype.kind not in "biuf":
        raise InvalidValue(f"images must hold real numbers, got dtype {stacked.dtype}")
    _refuse_channels_first(
        stacked.shape, one_image=stacked.ndim == 3 and isinstance(images, np.ndarray)
    )
    if stacked.ndim == 2:
        stacked = stacked[None, :, :, None]
    elif stacked.ndim == 3:
        stacked = stacked[None] if isinstance(images, np.ndarray) else stacked[..., None]
    elif stacked.ndim != 4:
        raise InvalidDimensions(
            f"images must be (B, H, W, C), (H, W, C) or (H, W), got shape {stacked.shape}"
        )
    b, h, w, c = stacked.shape
    if b == 0:
        raise EmptyInput(f"images must hold at least one image, got shape {stacked.shape}")
    if h == 0 or w == 0 or c == 0:
        raise InvalidDimensions(f"images must have H, W, C >= 1, got shape {stacked.shape}")
    # float32 C-contiguous; a fresh array when the caller will write into it (normalise
    # works in place), else the caller's own data when it is already float32 (read only)
    if copy:
        return np.array(stacked, dtype=np.float32, copy=True, order="C")
    return np.ascontiguousarray(stacked, dtype=np.float32)


#: Channel counts a picture can have: grey, RGB, RGBA.
_CHANNELS = (1, 3, 4)


def _refuse_channels_first(shape: tuple[int, ...], one_image: bool) -> None:
    """Refuse a torch-style channels-first batch or image, which would be read as channels last.

    A (B, C, H, W) batch with C in 1, 3, 4 and W not, or one (C, H, W) image likewise, would
    silently become a W-channel picture (or a wrong RGBA one when W is 4, which is allowed).
    """
    lead = 0 if one_image else 1
    if len(shape) != lead + 3 or shape[lead] not in _CHANNELS or shape[-1] in _CHANNELS:
        return
    layout = "(C, H, W)" if one_image else "(B, C, H, W)"
    moved = list(shape)
    moved.append(moved.pop(lead))
    raise InvalidDimensions(
        f"images of shape {tuple(shape)} look channels-first {layout}, as torch holds them, but "
        f"stv is channels last {layout.replace('C, ', '')[:-1]}, C); move the axis first: "
        f"np.moveaxis(images, {lead}, -1) gives shape {tuple(moved)}"
    )


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def _normalise_in_place(values: np.ndarray, low: float, high: float) -> None:
    np.clip(values, np.float32(low), np.float32(high), out=values)
    np.subtract(values, np.float32(low), out=values)
    # The divisor is computed in double and then used in float32, as torch does with Python
    # scalars, so the result matches torchvision byte for byte.
    np.divide(values, np.float32(max(high - low, _MIN_RANGE)), out=values)


def _check_value_range(value_range) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise InvalidValue(
            f"value_range must be a pair (low, high) of numbers, got {value_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise InvalidValue(
            f"value_range must be two finite numbers with low <= high, got {value_range!r}"
        )
    return low, high


def make_grid(
    images,
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
    keep_grey: bool = False,
) -> np.ndarray:
    """Tile a batch of images into one picture, as torchvision's ``make_grid`` (channels last).

    Parameters
    ----------
    images : numpy.ndarray or list of numpy.ndarray
        A (B, H, W, C) batch, one (H, W, C) or (H, W) image, or a list of same-shaped
        (H, W, C) / (H, W) images. Any real dtype; the work is done on a float32 copy, so the
        input is never modified.
    nrow : int
        Images per row of the grid (columns, not rows), >= 1.
    padding : int
        Pixels of ``pad_value`` between and around the images, >= 0.
    normalize : bool
        Shift and scale to [0, 1]: clamp to [low, high], then ``(x - low) / max(high - low,
        1e-5)``. Without it no value is clamped.
    value_range : (float, float), optional
        The (low, high) used by ``normalize``; default the min and max of the finite values
        of the batch (or of each image with ``scale_each``). Ignored without ``normalize``.
    scale_each : bool
        With ``normalize`` and no ``value_range``, take the range of each image separately.
    pad_value : float
        Value of the padding and of empty cells; written after normalisation, never scaled.
    keep_grey : bool
        Keep one-channel images grey. By default (as torchvision) they become 3-channel.

    Returns
    -------
    numpy.ndarray
        float32 (H', W', C'). With one image, that image alone, unpadded. Otherwise
        H' = rows*(H + padding) + padding and W' = cols*(W + padding) + padding with
        cols = min(nrow, B) and rows = ceil(B / cols).

    Examples
    --------
    >>> make_grid(np.zeros((5, 10, 10, 3), np.float32)).shape
    (14, 62, 3)
    >>> make_grid(np.zeros((64, 28, 28, 1), np.float32)).shape
    (242, 242, 3)
    """
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise InvalidValue(f"nrow must be an integer >= 1, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise InvalidValue(f"padding must be an integer >= 0, got {padding!r}")
    pad = float(pad_value)
    if not math.isfinite(pad):
        raise InvalidValue(f"pad_value must be a finite number, got {pad_value!r}")
    # a copy only where it is written (normalising in place): a grid of a large volume
    # holds the grid and, at most, one float32 copy of the batch
    batch = _as_batch(images, copy=normalize)
    channels = 3 if batch.shape[3] == 1 and not keep_grey else batch.shape[3]

    if normalize:
        _normalise_batch(batch, value_range, scale_each)
    if batch.shape[0] == 1:
        image = batch[0]
        if channels != image.shape[2]:
            return np.ascontiguousarray(np.repeat(image, channels, axis=2))
        return image.copy() if not normalize else image
    return tile(batch, int(nrow), int(padding), pad, channels)


def _normalise_batch(batch: np.ndarray, value_range, scale_each: bool) -> None:
    """SPEC Part G step 2, in place: over ``value_range``, each image's or the batch's range."""
    if value_range is not None:
        low, high = _check_value_range(value_range)
        _normalise_in_place(batch, low, high)
    elif scale_each:
        for image in batch:
            _normalise_in_place(image, *_finite_range(image))
    else:
        _normalise_in_place(batch, *_finite_range(batch))


def tile(
    batch: np.ndarray, nrow: int, padding: int, pad_value: float, channels: int | None = None
) -> np.ndarray:
    """Lay a float32 (B, H, W, C) batch out ``nrow`` per row (SPEC Part G step 4).

    Returns the (rows*(H+padding)+padding, cols*(W+padding)+padding, C') grid, filled with
    ``pad_value`` where no image is; ``channels`` C' (default C): grey images (C = 1) are
    repeated into each of C' = 3 channels as they are placed, with no RGB copy of the batch.
    """
    count, height, width, own = batch.shape
    channels = own if channels is None else channels
    cols = min(nrow, count)
    rows = (count + cols - 1) // cols
    cell_h, cell_w = height + padding, width + padding
    grid = np.full(
        (rows * cell_h + padding, cols * cell_w + padding, channels), pad_value, dtype=np.float32
    )
    for k in range(count):
        top = (k // cols) * cell_h + padding
        left = (k % cols) * cell_w + padding
        grid[top : top + height, left : left + width] = batch[k]
    return grid


def save_image(
    images,
    fp,
    format: str | None = None,
    *,
    bit_depth: int = 8,
    compress_level: int | None = None,
    quality: int | None = None,
    overwrite: bool = False,
    compression: str | None = None,
    physical=None,
    **grid_options,
):
    """Write ``make_grid(images, **grid_options)`` as torchvision's ``save_image`` does.

    Parameters
    ----------
    images : numpy.ndarray or list of numpy.ndarray
        What :func:`make_grid` accepts (channels last: (B, H, W, C)).
    fp : str, os.PathLike or binary file object
        Output file, written atomically; or an object with ``write`` (``io.BytesIO``).
    format : str, optional
        ``png``, ``jpeg``, ``tiff``, ``webp`` or ``bmp``. Without it the format comes from the
        file name's extension; a file object without a name needs it (as in torchvision).
    bit_depth : {8, 16, 32}
        8 bits quantise as ``trunc(clamp(v*255 + 0.5, 0, 255))`` (so 0.5 -> 128); 32 writes
        the grid's float32 values (TIFF only).
    compress_level, quality, overwrite, compression
        As in :func:`save_array_image` (``compression``: TIFF's, default zlib).
    physical : PhysicalSize, optional
        The size of a pixel of the grid (the cells' pixel size: tiling does not rescale),
        written into TIFF as in :func:`save_array_image`.
    **grid_options
        nrow, padding, normalize, value_range, scale_each, pad_value, keep_grey.

    Returns
    -------
    pathlib.Path or file object
        The path written, or ``fp`` when it is a file object.

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> _ = save_image(np.zeros((4, 8, 8, 3), np.float32), buffer, format="png", nrow=2)
    >>> buffer.getvalue()[:4]
    b'\\x89PNG'
    """
    grid = make_grid(images, **grid_options)
    return save_array_image(
        fp,
        grid,
        bit_depth=bit_depth,
        compress_level=compress_level,
        quality=quality,
        overwrite=overwrite,
        format=format,
        compression=compression,
        physical=physical,
    )
