"""Centered-difference gradients from evaluations done elsewhere (in the sandbox).

The submission's forward runs in the worker; the grader sends it every
perturbed input at once and forms the differences itself, so no submission
code takes part in computing the gradient it is compared with.
"""

from __future__ import annotations

import numpy as np

STEP = 1e-5


def perturbed(x: np.ndarray, h: float = STEP) -> np.ndarray:
    """Copies of ``x``, shape (2 * x.size, *x.shape): row 2i is x + h e_i, row 2i+1 is x - h e_i."""
    flat = np.repeat(x.reshape(1, -1).astype(np.float64), 2 * x.size, axis=0)
    index = np.arange(x.size)
    flat[2 * index, index] += h
    flat[2 * index + 1, index] -= h
    return flat.reshape((2 * x.size, *x.shape))


def centered_difference(outputs: np.ndarray, shape: tuple[int, ...],
                        dout: np.ndarray | float = 1.0, h: float = STEP) -> np.ndarray:
    """Gradient of sum(f(x) * dout) w.r.t. x, shaped ``shape``, from f on ``perturbed(x)``.

    ``outputs`` has shape (2 * size, *out_shape), in the order ``perturbed`` makes.
    """
    weighted = (outputs * dout).reshape(outputs.shape[0], -1).sum(axis=1)
    return ((weighted[0::2] - weighted[1::2]) / (2 * h)).reshape(shape)
