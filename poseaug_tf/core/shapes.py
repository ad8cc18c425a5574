"""Static (trace-time) shape checks shared by the geometry, camera and model code: one message format.

Work on anything with a `.shape` (tf.Tensor, np.ndarray); unknown (None) dimensions pass.
"""

from __future__ import annotations


def _known(x) -> tuple | None:
    """`x.shape` as a tuple, or None when even its rank is unknown (a tf.function traced without a shape)."""
    return None if getattr(x.shape, "rank", 0) is None else tuple(x.shape)


def check_axis(x, axis: int, size: int, name: str) -> None:
    """Raises ValueError unless axis `axis` of `x` has `size` entries (or is unknown)."""
    shape = _known(x)
    if shape and shape[axis] is not None and shape[axis] != size:
        raise ValueError(f"Expected `{name}` with size {size} on axis {axis}; received shape {shape}.")


def check_batch_shape(x, trailing: tuple[int, ...], name: str) -> None:
    """Raises ValueError unless `x` is (B, *trailing)."""
    shape = _known(x)
    if (
        shape is not None
        and len(shape) != len(trailing) + 1
        or any(s is not None and s != t for s, t in zip(shape[1:], trailing))
    ):
        raise ValueError(f"Expected `{name}` of shape (B, {', '.join(map(str, trailing))}); received {shape}.")
