"""Compare what a function returned with what was expected, and say why not.

This file is complete: you do not need to change it. The local tests and the
autograder both use it, so the messages you see here are the ones you get
when graded.

Every check returns None when all is well, or one sentence naming the
function, what was expected and what came, and the likely mistake where
the pattern of the error points to a known one.
"""

import numpy as np
from gradient_check import rel_error

# Relative error below which a value or gradient counts as correct. Numeric
# gradients in float64 with h = 1e-5 agree with a correct backward to ~1e-8.
TOLERANCE = 1e-6


def _shape_hint(got_shape, expected_shape):
    if len(got_shape) == 2 and got_shape == expected_shape[::-1]:
        return "it looks transposed"
    if tuple(d for d in got_shape if d != 1) == tuple(d for d in expected_shape if d != 1):
        return "it has an extra or missing axis of length 1 (keepdims=True, or a reshape)"
    if len(got_shape) == len(expected_shape):
        return "did you sum or average over the wrong axis?"
    if len(got_shape) < len(expected_shape):
        return "an axis is missing: did you sum over an axis that should stay?"
    return "an axis is left over: did you forget to sum over the batch axis?"


def check_array(func, name, got, expected_shape, finite=True):
    """Check that ``got`` is a float array of ``expected_shape``.

    Inputs:
    - func: name of the function that produced ``got``, e.g. "affine_backward".
    - name: what ``got`` is, e.g. "dw".
    - got: the returned value.
    - expected_shape: tuple.
    - finite: also require every entry to be finite.

    Returns None, or a one-sentence message.
    """
    expected_shape = tuple(expected_shape)
    if got is None:
        return f"{func}: {name} is None, expected an array of shape {expected_shape} (missing return?)."
    if not isinstance(got, np.ndarray):
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return (f"{func}: {name} is a {type(got).__name__}, expected a numpy array "
                    f"of shape {expected_shape}.")
    if got.dtype == object or not (np.issubdtype(got.dtype, np.floating)
                                   or np.issubdtype(got.dtype, np.integer)
                                   or got.dtype == bool):
        return f"{func}: {name} has dtype {got.dtype}, expected float64 numbers."
    if got.shape != expected_shape:
        hint = _shape_hint(got.shape, expected_shape)
        return (f"{func}: {name} has shape {got.shape}, expected {expected_shape}; "
                f"{hint}{'' if hint.endswith('?') else '.'}")
    if finite and not np.all(np.isfinite(got)):
        bad = np.argwhere(~np.isfinite(got))[0]
        where = tuple(int(i) for i in bad)
        return (f"{func}: {name} has a non-finite entry ({got[where]} at index {list(where)}); "
                f"expected every entry finite.")
    return None


def _value_hint(got, expected, known_mistakes):
    for hint, wrong in known_mistakes.items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got.shape and rel_error(got, wrong) < 1e-4:
            return hint
    for factor, hint in ((-1.0, "the sign is flipped"), (2.0, "it is twice too large"),
                         (0.5, "it is half what it should be")):
        if rel_error(got, factor * expected) < 1e-4:
            return hint
    return None


def check_close(func, name, got, expected, what="the expected value",
                tol=TOLERANCE, known_mistakes=None):
    """Check that ``got`` equals ``expected`` up to relative error ``tol``.

    Shapes and finiteness are checked first (see check_array).

    Inputs:
    - func, name: as in check_array.
    - got: the returned value.
    - expected: float64 array (or float) it should equal.
    - what: how to name ``expected`` in the message, e.g. "the numeric gradient".
    - tol: largest accepted rel_error.
    - known_mistakes: dict mapping a description of a known mistake to the
      array that mistake would produce; a match names the mistake.

    Returns None, or a one-sentence message.
    """
    expected = np.asarray(expected, dtype=np.float64)
    problem = check_array(func, name, got, expected.shape)
    if problem:
        return problem
    got = np.asarray(got, dtype=np.float64)
    err = rel_error(got, expected)
    if err <= tol:
        return None
    where = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape) if got.ndim else ()
    index = f" at index {[int(i) for i in where]}" if got.ndim else ""
    message = (f"{func}: {name} does not match {what}: max relative error {err:.1e} "
               f"(tolerance {tol:.0e}); e.g.{index} got {got[where]:.6g}, "
               f"expected {expected[where]:.6g}")
    hint = _value_hint(got, expected, known_mistakes or {})
    return message + (f"; likely mistake: {hint}." if hint else ".")


def check_unchanged(func, name, before, after):
    """Check that an input array was not modified in place.

    Returns None, or a one-sentence message.
    """
    if np.array_equal(before, after, equal_nan=True):
        return None
    changed = int(np.sum(~np.isclose(before, after, equal_nan=True)))
    return (f"{func}: modified its input {name} in place ({changed} of {np.size(before)} "
            f"entries changed); compute into a new array instead (e.g. np.maximum(x, 0), "
            f"not x[x < 0] = 0 or x -= ...).")
