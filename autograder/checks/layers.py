"""Checks of the forward/backward pairs: affine, ReLU, sigmoid.

Each layer gets the same six checks, made from one ``LayerSpec``: the
forward's values, output and inputs; the backward's gradient, shapes and
dout. A backward's gradient is compared with the reference's backprop
gradient on the same inputs, computed here; the backward gets the
submission's own cache when its forward works, and otherwise the cache the
docstring describes, so a broken forward does not cost the backward's
points. On a large layer the backward must also take about what backprop
takes: a finite-difference backward runs out of time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.checks import (
    Check,
    Context,
    Failed,
    array_check,
    close_check,
    describe,
    unchanged_check,
    unpack,
)
from autograder.sandbox import CallFailed, Ref

N, D, M = 5, 7, 4  # all different, so a transposed or wrongly summed result has a wrong shape
COST_FACTOR = 50      # a backward may take this many times the reference's backward...
COST_FLOOR = 1.0      # ...or this many seconds, whichever is more
GRADIENT_WHAT = "the reference gradient (backprop on the same inputs)"


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    values = rng.standard_normal(shape)
    return values + 0.1 * np.sign(values)  # no ReLU kink near any input


@dataclass(frozen=True)
class LayerSpec:
    """A forward/backward pair, and how to feed it."""

    forward: str
    backward: str
    inputs: tuple[str, ...]
    grads: tuple[str, ...]
    draw: Callable[[np.random.Generator], tuple[np.ndarray, ...]]
    draw_other: Callable[[np.random.Generator], tuple[np.ndarray, ...]]  # other shapes
    draw_large: Callable[[np.random.Generator], tuple[np.ndarray, ...]]  # for the cost
    cache_doc: str                      # the reference cache, as the docstring says
    value_mistakes: Callable[[tuple], dict]
    gradient_mistakes: Callable[[tuple, np.ndarray], dict]


def _affine(n: int, d: int, m: int) -> Callable[[np.random.Generator], tuple]:
    return lambda rng: (rng.standard_normal((n, d)), rng.standard_normal((d, m)),
                        rng.standard_normal(m))


LAYERS = (
    LayerSpec("affine_forward", "affine_backward", ("x", "w", "b"), ("dx", "dw", "db"),
              _affine(N, D, M), _affine(1, 3, 6), _affine(64, 256, 256), "(x, w, b)",
              lambda inputs: {"the bias b is missing": inputs[0] @ inputs[1]},
              lambda inputs, dout: {}),
    LayerSpec("relu_forward", "relu_backward", ("x",), ("dx",),
              lambda rng: (_away_from_zero(rng, (3, 4, 2)),),
              lambda rng: (_away_from_zero(rng, (9,)),),
              lambda rng: (rng.standard_normal((128, 1024)),), "x",
              lambda inputs: {"negative entries pass through": inputs[0]},
              lambda inputs, dout: {"the mask is inverted (gradient flows where x < 0)":
                                    dout * (inputs[0] < 0)}),
    LayerSpec("sigmoid_forward", "sigmoid_backward", ("x",), ("dx",),
              lambda rng: (2.0 * rng.standard_normal((3, 4, 2)),),
              lambda rng: (2.0 * rng.standard_normal((9,)),),
              # Not fewer rows: centered differences of forward on one entry at a time
              # take 1-2 s here, past the 1 s floor (at 32 rows, 0.4 s). Differences of
              # the whole array at once are as fast as backprop: no timing tells them.
              lambda rng: (rng.standard_normal((128, 1024)),), "out",
              lambda inputs: {},
              lambda inputs, dout: {"the derivative uses x instead of sigmoid(x)":
                                    dout * inputs[0] * (1 - inputs[0])}),
)


def _shapes(spec: LayerSpec, inputs: tuple) -> str:
    return ", ".join(f"{n} {a.shape}" for n, a in zip(spec.inputs, inputs, strict=True))


def _reference_forward(ctx: Context, spec: LayerSpec, inputs: tuple) -> tuple:
    return getattr(ctx.ref["layers"], spec.forward)(*[a.copy() for a in inputs])


def _forward_values(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs = spec.draw(ctx.rng(check_id))
    out, _ = unpack(spec.forward, ctx.sandbox.call(f"layers.{spec.forward}", *inputs),
                    ("out", "cache"))
    return close_check(spec.forward, f"out for {_shapes(spec, inputs)}", out,
                       _reference_forward(ctx, spec, inputs)[0],
                       mistakes=spec.value_mistakes(inputs))


def _forward_output(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs = spec.draw_other(ctx.rng(check_id))
    result = ctx.sandbox.call(f"layers.{spec.forward}", *inputs)
    if not isinstance(result, tuple) or len(result) != 2:
        raise Failed(f"{spec.forward}: returned {describe(result)}, expected a tuple "
                     f"(out, cache).")
    array_check(spec.forward, f"out for {_shapes(spec, inputs)}", result[0],
                _reference_forward(ctx, spec, inputs)[0].shape)
    return None


def _inputs_unchanged(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs = spec.draw(ctx.rng(check_id))
    _, after = ctx.sandbox.call(f"layers.{spec.forward}", *inputs, echo_args=True)
    unchanged_check(spec.forward, spec.inputs, inputs, after)
    return None


def _cache_for(spec: LayerSpec, ctx: Context, handle: str, inputs_ref: Ref | None,
               inputs: tuple, reference_cache: object) -> tuple[object, str]:
    """The cache to give the backward: the submission's own when its forward works.

    Returns (cache or Ref to it, a note for the report).
    """
    if ctx.passed(f"{spec.forward}_values"):
        args = [inputs_ref[i] for i in range(len(inputs))] if inputs_ref else inputs
        ctx.sandbox.call(f"layers.{spec.forward}", *args, keep=handle, reply=False)
        return Ref((handle, 1)), ""
    return reference_cache, (f" (graded with the cache {spec.cache_doc} the docstring "
                             f"describes, because {spec.forward} does not pass its tests)")


def _backward_grads(spec: LayerSpec, ctx: Context, dout: np.ndarray, cache: object) -> tuple:
    result = ctx.sandbox.call(f"layers.{spec.backward}", dout, cache)
    if len(spec.grads) == 1:
        return (result,)
    return unpack(spec.backward, result, spec.grads)


# Measured once per grading process and key: every submission of a batch gets the same
# budget, and a grade does not pay for three large reference passes per timed check.
_REFERENCE_SECONDS: dict[tuple, float] = {}


def reference_seconds(key: tuple, function: Callable, *args: object) -> float:
    """The best of three timings of ``function(*args)``, remembered under ``key`` (what
    is timed and its input shapes: the inputs come from the rubric's seed)."""
    if key not in _REFERENCE_SECONDS:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            function(*args)
            best = min(best, time.perf_counter() - started)
        _REFERENCE_SECONDS[key] = best
    return _REFERENCE_SECONDS[key]


def _backprop_cost(spec: LayerSpec, ctx: Context, check_id: str) -> None:
    """Failed unless the backward of a large layer takes about what backprop takes."""
    def draw(rng: np.random.Generator) -> tuple:
        inputs = spec.draw_large(rng)
        out, reference_cache = _reference_forward(ctx, spec, inputs)
        return inputs, reference_cache, np.ones_like(out)

    inputs, reference_cache, dout = ctx.fixed(f"{check_id}/large", draw)
    backward = getattr(ctx.ref["layers"], spec.backward)
    seconds = reference_seconds((spec.backward, *(x.shape for x in inputs)), backward,
                                dout, reference_cache)
    budget = min(max(COST_FACTOR * seconds, COST_FLOOR), ctx.sandbox.limits.call_timeout)
    held = ctx.sandbox.hold(f"{check_id}/large", *inputs, dout)
    cache, _ = _cache_for(spec, ctx, f"{check_id}/large_cache", held, inputs, reference_cache)
    try:
        ctx.sandbox.timed_call(f"layers.{spec.backward}", held[len(inputs)], cache,
                               timeout=budget)
    except CallFailed as error:
        if error.kind != "timeout":
            raise
        raise Failed(f"{spec.backward}: backward must compute the gradient directly, not by "
                     f"numeric differences: for {_shapes(spec, inputs)} it took more than "
                     f"{budget:.1f} s, where backprop takes about {seconds * 1e3:.0f} ms."
                     ) from None


def _backward_gradient(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    rng = ctx.rng(check_id)
    inputs = spec.draw(rng)
    out, reference_cache = _reference_forward(ctx, spec, inputs)
    dout = rng.standard_normal(out.shape)
    cache, note = _cache_for(spec, ctx, check_id, None, inputs, reference_cache)
    grads = _backward_grads(spec, ctx, dout, cache)
    backward = getattr(ctx.ref["layers"], spec.backward)
    expected = backward(dout, reference_cache)
    expected = expected if len(spec.grads) > 1 else (expected,)
    unused = backward(np.ones_like(dout), reference_cache)
    unused = unused if len(spec.grads) > 1 else (unused,)
    notes = []
    for index, (name, grad) in enumerate(zip(spec.grads, grads, strict=True)):
        mistakes = {"dout is not used (the result is what dout = 1 would give)": unused[index],
                    **spec.gradient_mistakes(inputs, dout)}
        try:
            notes.append(close_check(spec.backward, f"{name} {inputs[index].shape}", grad,
                                     expected[index], what=GRADIENT_WHAT, mistakes=mistakes))
        except Failed as failure:
            raise Failed(str(failure) + note, mistake=failure.mistake) from None
    _backprop_cost(spec, ctx, check_id)
    return "; ".join(notes) + note


def _backward_shapes(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    rng = ctx.rng(check_id)
    inputs = spec.draw_other(rng)
    out, reference_cache = _reference_forward(ctx, spec, inputs)
    cache, note = _cache_for(spec, ctx, check_id, None, inputs, reference_cache)
    grads = _backward_grads(spec, ctx, rng.standard_normal(out.shape), cache)
    for name, grad, x in zip(spec.grads, grads, inputs, strict=True):
        try:
            array_check(spec.backward, f"{name} for {_shapes(spec, inputs)}", grad, x.shape)
        except Failed as failure:
            raise Failed(str(failure) + note, mistake=failure.mistake) from None
    return None


def _dout_unchanged(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    rng = ctx.rng(check_id)
    inputs = spec.draw(rng)
    out, reference_cache = _reference_forward(ctx, spec, inputs)
    dout = rng.standard_normal(out.shape)
    cache, _ = _cache_for(spec, ctx, check_id, None, inputs, reference_cache)
    _, after = ctx.sandbox.call(f"layers.{spec.backward}", dout, cache, echo_args=True)
    unchanged_check(spec.backward, ("dout",), (dout,), after[:1])
    return None


def _layer_checks(spec: LayerSpec) -> list[Check]:
    fwd, bwd = spec.forward, spec.backward
    grads, one = ", ".join(spec.grads), len(spec.grads) == 1
    values, gradient = f"{fwd}_values", f"{bwd}_gradient"
    own_cache = (values,)  # a backward is called with its forward's cache when that works

    def bind(run: Callable, check_id: str) -> Callable[[Context], str | None]:
        return lambda ctx: run(spec, ctx, check_id)
    return [
        Check(values, fwd, "values", f"{fwd}: out matches the reference", "layers",
              bind(_forward_values, values)),
        Check(f"{fwd}_output", fwd, "shape",
              f"{fwd}: returns (out, cache) with out of the right shape", "layers",
              bind(_forward_output, f"{fwd}_output"), awarded_if=values),
        Check(f"{fwd}_inputs", fwd, "inputs", f"{fwd}: does not modify its inputs", "layers",
              bind(_inputs_unchanged, f"{fwd}_inputs"), awarded_if=values),
        Check(gradient, bwd, "gradient",
              f"{bwd}: {grads} {'matches' if one else 'match'} the backprop gradient, in "
              f"about the time backprop takes", "layers",
              bind(_backward_gradient, gradient), needs=own_cache),
        Check(f"{bwd}_shapes", bwd, "shape",
              f"{bwd}: {grads} {'has the shape' if one else 'have the shapes'} of "
              f"{', '.join(spec.inputs)}", "layers", bind(_backward_shapes, f"{bwd}_shapes"),
              needs=own_cache, awarded_if=gradient),
        Check(f"{bwd}_inputs", bwd, "inputs", f"{bwd}: does not modify dout", "layers",
              bind(_dout_unchanged, f"{bwd}_inputs"), needs=own_cache, awarded_if=gradient),
    ]


STABLE_X = np.array([-1000.0, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 1000.0])
STABLE_HINT = (" Never call exp on a large positive number: compute the sigmoid in a form "
               "where exp only sees -|x| (one form for x >= 0, another for x < 0).")


def _sigmoid_stable(ctx: Context) -> str | None:
    x = STABLE_X
    try:
        result = ctx.sandbox.call("layers.sigmoid_forward", x, fp_errors=True)
    except CallFailed as error:
        if error.kind == "raised" and str(error).startswith("FloatingPointError"):
            raise Failed(f"sigmoid_forward: for x from -1000 to 1000 numpy reports "
                         f"{error} (overflow is an error in this test).{STABLE_HINT}") from None
        raise
    out, _ = unpack("sigmoid_forward", result, ("out", "cache"))
    try:
        array_check("sigmoid_forward", "out for x from -1000 to 1000", out, x.shape)
    except Failed as failure:
        raise Failed(str(failure) + STABLE_HINT, mistake=failure.mistake) from None
    expected = ctx.ref["layers"].sigmoid_forward(x)[0]
    out = np.asarray(out, dtype=np.float64)
    bad = ~np.isclose(out, expected, rtol=1e-6, atol=1e-300)
    if bad.any():
        i = int(np.argmax(bad))
        raise Failed(f"sigmoid_forward: inaccurate for large |x|: at x = {x[i]:g} got "
                     f"{out[i]:.6g}, expected {expected[i]:.6g} (relative accuracy 1e-6)."
                     f"{STABLE_HINT}")
    return None


def checks() -> list[Check]:
    found = [check for spec in LAYERS for check in _layer_checks(spec)]
    found.append(Check("sigmoid_stable", "sigmoid_forward", "stability",
                       "sigmoid_forward: finite and accurate for |x| up to 1000, without "
                       "overflow", "layers", _sigmoid_stable, awarded_if="sigmoid_forward_values"))
    return found
