"""Checks of affine_jacobians: the explicit Jacobians of one example's affine output.

The expected Jacobians are numeric (centered differences of a = x w + b,
computed here), so the check says whether the student's derivation is right,
not whether it matches a particular way of writing it.
"""

from __future__ import annotations

import numpy as np

from autograder.checks import Check, Context, array_check, close_check, unpack

D, M = 4, 3
NAMES = ("da_dx", "da_dw", "da_db")
NUMERIC_WHAT = "the numeric Jacobian (centered differences of a = x w + b)"


def _numeric_jacobian(ctx: Context, f, v: np.ndarray, outputs: int) -> np.ndarray:
    """J[j, ...] = d f(v)[j] / d v[...], one centered-difference gradient per output."""
    gradient = ctx.ref["gradient_check"].numeric_gradient
    return np.stack([gradient(lambda value, j=j: f(value)[j], v.copy()) for j in range(outputs)])


def _draw(ctx: Context, check_id: str, d: int, m: int):
    rng = ctx.rng(check_id)
    return rng.standard_normal(d), rng.standard_normal((d, m)), rng.standard_normal(m)


def _values(ctx: Context) -> str | None:
    x, w, b = _draw(ctx, "affine_jacobians_values", D, M)
    got = unpack("affine_jacobians", ctx.sandbox.call("layers.affine_jacobians", x, w, b),
                 NAMES)
    expected = (_numeric_jacobian(ctx, lambda v: v @ w + b, x, M),
                _numeric_jacobian(ctx, lambda v: x @ v + b, w, M),
                _numeric_jacobian(ctx, lambda v: x @ w + v, b, M))
    return "; ".join(close_check("affine_jacobians", f"{name} {target.shape}", value, target,
                                 what=NUMERIC_WHAT, tol=1e-6)
                     for name, value, target in zip(NAMES, got, expected, strict=True))


def _shapes(ctx: Context) -> str | None:
    d, m = 5, 2  # other sizes than the value check's
    x, w, b = _draw(ctx, "affine_jacobians_shapes", d, m)
    got = unpack("affine_jacobians", ctx.sandbox.call("layers.affine_jacobians", x, w, b),
                 NAMES)
    for name, value, shape in zip(NAMES, got, ((m, d), (m, d, m), (m, m)), strict=True):
        array_check("affine_jacobians", f"{name} for x ({d},), w ({d}, {m})", value, shape)
    return None


def checks() -> list[Check]:
    return [
        Check("affine_jacobians_values", "affine_jacobians", "values",
              "affine_jacobians: da_dx, da_dw and da_db match the numeric Jacobians", "layers",
              _values),
        Check("affine_jacobians_shapes", "affine_jacobians", "shape",
              "affine_jacobians: returns (da_dx (M, D), da_dw (M, D, M), da_db (M, M))",
              "layers", _shapes, awarded_if="affine_jacobians_values"),
    ]
