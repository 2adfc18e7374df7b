"""The reference layers, computed in the grading process for a worker that asks.

When a layer fails its own checks, the net's and the trainer's checks must
not lose points to it. The worker then imports a ``layers`` module whose
failed functions ask the grading process for each value (see
``worker.install_reference_layers``): the reference code never enters the
worker, only the values of the calls the submission makes.

Arguments come from submission code, so they are checked for shape and size
before the reference sees them; a bad call raises ValueError, which the
worker raises in the submission's code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.reference import reference

# Functions replaced together: a backward only understands its own forward's cache.
LAYER_GROUPS = {
    "affine_forward": ("affine_forward", "affine_backward"),
    "affine_backward": ("affine_forward", "affine_backward"),
    "relu_forward": ("relu_forward", "relu_backward"),
    "relu_backward": ("relu_forward", "relu_backward"),
    "sigmoid_forward": ("sigmoid_forward", "sigmoid_backward"),
    "sigmoid_backward": ("sigmoid_forward", "sigmoid_backward"),
    "softmax_loss": ("softmax_loss",),
    "bce_loss": ("bce_loss",),
    "mse_loss": ("mse_loss",),
}
MAX_ELEMENTS = 5_000_000


def replaced_functions(failed: set[str]) -> tuple[str, ...]:
    """The layer functions to take from the reference when ``failed`` functions fail."""
    return tuple(sorted({name for f in failed if f in LAYER_GROUPS for name in LAYER_GROUPS[f]}))


def _array(value: Any, what: str, ndim: int | None = None) -> np.ndarray:
    if isinstance(value, (tuple, list)):
        raise ValueError(f"{what} must be a numpy array, not a {type(value).__name__}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a numpy array of numbers") from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} axes, got shape {array.shape}")
    if array.size > MAX_ELEMENTS:
        raise ValueError(f"{what} is too large ({array.size} entries)")
    return array


def _affine_inputs(x: Any, w: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, w, b = _array(x, "x", 2), _array(w, "w", 2), _array(b, "b", 1)
    if x.shape[1] != w.shape[0] or b.shape != (w.shape[1],):
        raise ValueError(f"shapes x {x.shape}, w {w.shape}, b {b.shape} do not fit "
                         f"x (N, D), w (D, M), b (M,)")
    if x.shape[0] * w.shape[1] > MAX_ELEMENTS:
        raise ValueError("the output would be too large")
    return x, w, b


def _cache(cache: Any, size: int, what: str) -> tuple:
    if not isinstance(cache, tuple) or len(cache) != size:
        raise ValueError(f"{what}: cache must be what the reference forward returned")
    return cache


def _labels(y: Any, n: int, classes: int) -> np.ndarray:
    y = _array(y, "y", 1)
    if y.shape != (n,) or not np.all((y == np.round(y)) & (y >= 0) & (y < classes)):
        raise ValueError(f"y must hold {n} integer labels in [0, {classes})")
    return y.astype(np.int64)


def _same_shape(dout: Any, other: np.ndarray, what: str) -> np.ndarray:
    dout = _array(dout, "dout")
    if dout.shape != other.shape:
        raise ValueError(f"{what}: dout has shape {dout.shape}, expected {other.shape}")
    return dout


def call_reference_layer(name: str, args: list[Any]) -> Any:
    """``name(*args)`` with the reference layer, after checking the arguments."""
    layers = reference()["layers"]
    if name == "affine_forward" and len(args) == 3:
        return layers.affine_forward(*_affine_inputs(*args))
    if name == "affine_backward" and len(args) == 2:
        x, w, b = _affine_inputs(*_cache(args[1], 3, name))
        dout = _same_shape(args[0], np.empty((x.shape[0], w.shape[1])), name)
        return layers.affine_backward(dout, (x, w, b))
    if name in ("relu_forward", "sigmoid_forward") and len(args) == 1:
        return getattr(layers, name)(_array(args[0], "x"))
    if name in ("relu_backward", "sigmoid_backward") and len(args) == 2:
        cache = _array(args[1], "cache")
        return getattr(layers, name)(_same_shape(args[0], cache, name), cache)
    if name == "softmax_loss" and len(args) == 2:
        scores = _array(args[0], "scores", 2)
        return layers.softmax_loss(scores, _labels(args[1], scores.shape[0], scores.shape[1]))
    if name == "bce_loss" and len(args) == 2:
        probs = _array(args[0], "probs", 1)
        return layers.bce_loss(probs, _labels(args[1], probs.shape[0], 2))
    if name == "mse_loss" and len(args) == 2:
        preds = _array(args[0], "preds")
        if preds.ndim not in (1, 2) or preds.shape[0] == 0:
            raise ValueError(f"preds must have shape (N,) or (N, K), got {preds.shape}")
        return layers.mse_loss(preds, _same_shape(args[1], preds, "mse_loss (y)"))
    raise ValueError(f"{name} cannot be called with {len(args)} arguments")
