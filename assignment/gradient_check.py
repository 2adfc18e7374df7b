"""Numeric gradients by centered differences, to check your backward passes.

This file is complete: you do not need to change it.

A centered difference estimates df/dx_i as (f(x + h e_i) - f(x - h e_i)) / (2h),
with an error of order h**2 (a one-sided difference has error of order h).
Use float64 inputs: in float32 the rounding error of f swamps the estimate.
Keep inputs away from kinks (ReLU at 0), where the estimate straddles two
different slopes.
"""

import numpy as np


def numeric_gradient(f, x, h=1e-5):
    """Numeric gradient of a scalar function.

    Inputs:
    - f: function taking x and returning a float (x is changed in place,
      one entry at a time, and restored afterwards).
    - x: float64 array of any shape, the point at which to differentiate.
    - h: step size.

    Returns:
    - grad: array shaped like x, grad[i] ~ df/dx[i].
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def numeric_gradient_array(f, x, dout, h=1e-5):
    """Numeric vector-Jacobian product of an array-valued function.

    For out = f(x) and an upstream gradient dout shaped like out, returns
    the gradient of sum(out * dout) with respect to x: what a backward
    pass given dout must return.

    Inputs:
    - f: function taking x and returning an array shaped like dout (x is
      changed in place, one entry at a time, and restored afterwards).
    - x: float64 array of any shape.
    - dout: float64 array shaped like f(x).
    - h: step size.

    Returns:
    - grad: array shaped like x.
    """
    return numeric_gradient(lambda v: np.sum(f(v) * dout), x, h)


def rel_error(a, b, eps=1e-12):
    """Relative error max|a - b| / max(|a| + |b|, eps), taken over all entries.

    Around 1e-7 or less means a correct gradient; above 1e-3 is almost
    certainly a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a) + np.abs(b))), eps))
