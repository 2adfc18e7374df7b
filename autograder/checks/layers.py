"""Checks of the forward/backward pairs: affine, ReLU, sigmoid.

Each layer gets the same six tests, made from one ``LayerSpec``: the forward's
output, its values against the reference, its inputs left alone; the
backward's shapes, its agreement with the numeric gradient, its dout left
alone. A backward is graded with the submission's own cache when its forward
works, and otherwise with a cache built as the docstring describes, so that a
broken forward does not cost the backward's points too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.checks import (
    Context,
    Failed,
    array_check,
    check,
    close_check,
    register,
    same_as_reference,
    unchanged_check,
    unpack,
)
from autograder.numeric import centered_difference, perturbed
from autograder.sandbox import Ref

N, D, M = 5, 7, 4  # all different, so a transposed or wrongly summed result has a wrong shape


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    values = rng.standard_normal(shape)
    return values + 0.1 * np.sign(values)  # no ReLU kink within the numeric step


@dataclass(frozen=True)
class LayerSpec:
    """A forward/backward pair, and how to feed it."""

    forward: str
    backward: str
    inputs: tuple[str, ...]
    grads: tuple[str, ...]
    draw: Callable[[np.random.Generator], tuple[np.ndarray, ...]]
    cache_doc: str                                   # the reference cache, as the docstring says
    make_cache: Callable[[tuple, np.ndarray], object]  # inputs, out -> that cache


LAYERS = (
    LayerSpec("affine_forward", "affine_backward", ("x", "w", "b"), ("dx", "dw", "db"),
              lambda rng: (rng.standard_normal((N, D)), rng.standard_normal((D, M)),
                           rng.standard_normal(M)),
              "(x, w, b)", lambda inputs, out: tuple(inputs)),
    LayerSpec("relu_forward", "relu_backward", ("x",), ("dx",),
              lambda rng: (_away_from_zero(rng, (3, 4, 2)),), "x", lambda inputs, out: inputs[0]),
    LayerSpec("sigmoid_forward", "sigmoid_backward", ("x",), ("dx",),
              lambda rng: (2.0 * rng.standard_normal((3, 4, 2)),), "out",
              lambda inputs, out: out),
)


def _shapes(spec: LayerSpec, inputs: tuple) -> str:
    return ", ".join(f"{n} {a.shape}" for n, a in zip(spec.inputs, inputs, strict=True))


def _reference(ctx: Context, spec: LayerSpec, inputs: tuple) -> np.ndarray:
    return getattr(ctx.ref["layers"], spec.forward)(*[a.copy() for a in inputs])[0]


def _forward_output(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs = spec.draw(ctx.rng(check_id))
    result = ctx.sandbox.call(f"layers.{spec.forward}", *inputs)
    out, _ = unpack(spec.forward, result, ("out", "cache"))
    array_check(spec.forward, f"out for {_shapes(spec, inputs)}", out,
                _reference(ctx, spec, inputs).shape)
    return None


def _forward_values(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs = spec.draw(ctx.rng(check_id))
    out, _ = unpack(spec.forward, ctx.sandbox.call(f"layers.{spec.forward}", *inputs),
                    ("out", "cache"))
    mistakes = {"the bias b is missing": inputs[0] @ inputs[1]} if spec.forward.startswith(
        "affine") else {}
    return close_check(spec.forward, "out", out, _reference(ctx, spec, inputs),
                       mistakes=mistakes)


def _backward_setup(spec: LayerSpec, ctx: Context, check_id: str):
    """Inputs, dout, the cache to pass, a function giving the expected gradients, and a note."""
    rng = ctx.rng(check_id)
    inputs = spec.draw(rng)
    ref_out = _reference(ctx, spec, inputs)
    dout = rng.standard_normal(ref_out.shape)
    forward = getattr(ctx.ref["layers"], spec.forward)

    def reference_outputs(which: int) -> np.ndarray:
        return np.stack([forward(*inputs[:which], row, *inputs[which + 1:])[0]
                         for row in perturbed(inputs[which])])

    if ctx.passed.get(f"{spec.forward}_values"):
        ctx.sandbox.call(f"layers.{spec.forward}", *inputs, keep=check_id)

        def numeric(which: int, upstream: np.ndarray) -> np.ndarray:
            outputs = ctx.sandbox.call_many(f"layers.{spec.forward}", list(inputs), which,
                                            perturbed(inputs[which]), pick=(0,))
            array_check(spec.forward, "out on perturbed inputs", outputs,
                        (2 * inputs[which].size, *ref_out.shape))
            same_as_reference(spec.forward, f"its outputs next to the test point (perturbed "
                              f"{spec.inputs[which]})", outputs, reference_outputs(which))
            return centered_difference(outputs, inputs[which].shape, upstream)
        return inputs, dout, Ref((check_id, 1)), numeric, ""

    def reference_numeric(which: int, upstream: np.ndarray) -> np.ndarray:
        return centered_difference(reference_outputs(which), inputs[which].shape, upstream)
    note = (f" (graded with the cache {spec.cache_doc} the docstring describes, because "
            f"{spec.forward} does not pass its tests)")
    return inputs, dout, spec.make_cache(inputs, ref_out), reference_numeric, note


def _backward_grads(spec: LayerSpec, ctx: Context, dout: np.ndarray, cache: object) -> tuple:
    result = ctx.sandbox.call(f"layers.{spec.backward}", dout, cache)
    if len(spec.grads) == 1:
        return (result,)
    return unpack(spec.backward, result, spec.grads)


def _backward_shapes(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs, dout, cache, _, note = _backward_setup(spec, ctx, check_id)
    grads = _backward_grads(spec, ctx, dout, cache)
    for name, grad, x in zip(spec.grads, grads, inputs, strict=True):
        try:
            array_check(spec.backward, name, grad, x.shape)
        except Failed as failure:
            raise Failed(str(failure) + note) from None
    return None


def _backward_numeric(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs, dout, cache, numeric, note = _backward_setup(spec, ctx, check_id)
    grads = _backward_grads(spec, ctx, dout, cache)
    notes = []
    for which, (name, grad) in enumerate(zip(spec.grads, grads, strict=True)):
        expected = numeric(which, dout)
        mistakes = {"dout is not used (the result is what dout = 1 would give)":
                    numeric(which, np.ones_like(dout))}
        if spec.forward.startswith("relu"):
            mistakes["the mask is inverted (gradient flows where x < 0)"] = dout * (inputs[0] < 0)
        if spec.forward.startswith("sigmoid"):
            mistakes["the derivative uses x instead of sigmoid(x)"] = dout * inputs[0] * (
                1 - inputs[0])
        try:
            notes.append(close_check(spec.backward, name, grad,
                                     expected, what="the numeric gradient", mistakes=mistakes))
        except Failed as failure:
            raise Failed(str(failure) + note) from None
    return "; ".join(notes) + note


def _inputs_unchanged(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    inputs = spec.draw(ctx.rng(check_id))
    result, after = ctx.sandbox.call(f"layers.{spec.forward}", *inputs, echo_args=True)
    unchanged_check(spec.forward, spec.inputs, inputs, after)
    return None


def _dout_unchanged(spec: LayerSpec, ctx: Context, check_id: str) -> str | None:
    _, dout, cache, _, note = _backward_setup(spec, ctx, check_id)
    _, after = ctx.sandbox.call(f"layers.{spec.backward}", dout, cache, echo_args=True)
    unchanged_check(spec.backward, ("dout",), (dout,), after[:1])
    return None


def _register(spec: LayerSpec) -> None:
    fwd, bwd = spec.forward, spec.backward
    grads, one = ", ".join(spec.grads), len(spec.grads) == 1
    tests = [
        (f"{fwd}_output", f"{fwd}: returns (out, cache) with out of the right shape",
         _forward_output),
        (f"{fwd}_values", f"{fwd}: out matches the reference", _forward_values),
        (f"{fwd}_inputs", f"{fwd}: does not modify its inputs", _inputs_unchanged),
        (f"{bwd}_shapes", f"{bwd}: {grads} {'has the shape' if one else 'have the shapes'} "
                          f"of {', '.join(spec.inputs)}", _backward_shapes),
        (f"{bwd}_numeric", f"{bwd}: {grads} {'matches' if one else 'match'} the numeric "
                           f"gradient", _backward_numeric),
        (f"{bwd}_inputs", f"{bwd}: does not modify dout", _dout_unchanged),
    ]
    for check_id, name, run in tests:
        # A backward is graded with its own forward only when that forward works.
        needs = (f"{fwd}_values",) if check_id.startswith(bwd) else ()
        register(check_id, name, "layers",
                 lambda ctx, run=run, check_id=check_id: run(spec, ctx, check_id), needs)


for _spec in LAYERS:
    _register(_spec)


@check("sigmoid_stable", "sigmoid_forward: finite and accurate for |x| up to 1000")
def sigmoid_stable(ctx: Context) -> str | None:
    x = np.array([-1000.0, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 1000.0])
    out, cache = unpack("sigmoid_forward", ctx.sandbox.call("layers.sigmoid_forward", x,
                                                            keep="sigmoid_stable"),
                        ("out", "cache"))
    hint = (" Never call exp on a large positive number: for x < 0 use "
            "exp(x) / (1 + exp(x)).")
    try:
        array_check("sigmoid_forward", f"out for x = {x.tolist()}", out, x.shape)
    except Failed as failure:
        raise Failed(str(failure) + hint) from None
    expected = ctx.ref["layers"].sigmoid_forward(x)[0]
    if not np.allclose(out, expected, rtol=1e-6, atol=1e-300):
        raise Failed(f"sigmoid_forward: for x = {x.tolist()} got {np.asarray(out).tolist()}, "
                     f"expected {expected.tolist()} (to relative accuracy 1e-6).{hint}")
    dx = ctx.sandbox.call("layers.sigmoid_backward", np.ones_like(x),
                          Ref(("sigmoid_stable", 1)))
    array_check("sigmoid_backward", "dx for x = [-1000, ..., 1000]", dx, x.shape)
    return None
