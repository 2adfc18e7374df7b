"""Checks of the losses, softmax_loss, bce_loss and mse_loss: value, gradient, output,
stability, inputs. The gradient is compared with the reference's on the same inputs."""

from __future__ import annotations

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
from autograder.checks.layers import GRADIENT_WHAT
from autograder.sandbox import CallFailed

N, C, K = 6, 4, 3
MEAN_HINT = "the loss is summed over the batch instead of averaged (missing 1/N)"


@dataclass(frozen=True)
class LossSpec:
    """A loss function ``f(predictions, y) -> (loss, dpredictions)`` and how to feed it."""

    function: str
    preds: str                                                      # "scores" / "probs"
    grad: str                                                       # "dscores" / "dprobs"
    description: str
    draw: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    draw_edges: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    extreme: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    extreme_doc: str
    stable_hint: str
    grad_mistakes: Callable[[np.ndarray, np.ndarray, np.ndarray], dict]
    loss_mistakes: Callable[[float], dict] = lambda expected: {MEAN_HINT: expected * N}
    # At the extreme inputs the loss must equal the reference's; False: it must only be
    # large (bce clips, so its value at probabilities 0 and 1 depends on eps).
    extreme_exact: bool = True


def _softmax_draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((N, C)), rng.integers(0, C, size=N)


def _bce_draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.05, 0.95, size=N), rng.integers(0, 2, size=N)


def _bce_edges(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that include 0 and 1, where clipping in place would show."""
    probs, y = _bce_draw(rng)
    probs[:2] = 0.0, 1.0
    return probs, y


def _mse_draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((N, K)), rng.standard_normal((N, K))


def _mse_flat(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal(N), rng.standard_normal(N)


def _mse_far(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Predictions close to targets near 1e8: expanding the square loses every digit."""
    y = 1e8 + rng.standard_normal((N, K))
    return y + rng.uniform(0.5, 1.5, (N, K)), y


LOSSES = (
    LossSpec("softmax_loss", "scores", "dscores", "the mean softmax cross-entropy",
             _softmax_draw, _softmax_draw,
             lambda rng: (lambda s, y: (s + 1000.0, y))(*_softmax_draw(rng)),
             "every score offset by +1000",
             " Shift each row's scores by the row's maximum before exponentiating (the "
             "softmax does not change).",
             lambda expected, scores, y: {
                 "missing 1/N: dscores must be divided by the batch size N": expected * N,
                 "dscores is divided by N twice": expected / N,
                 "the 1 at each correct class is not subtracted": expected + np.eye(C)[y] / N}),
    LossSpec("bce_loss", "probs", "dprobs", "the mean binary cross-entropy",
             _bce_draw, _bce_edges,
             lambda rng: (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0, 1, 1, 0])),
             "probabilities exactly 0 and 1",
             " Clip probs to [eps, 1 - eps] with a small eps (such as 1e-12) before taking "
             "logs and dividing.",
             lambda expected, probs, y: {
                 "missing 1/N: dprobs must be divided by the batch size N": expected * N,
                 "dprobs is divided by N twice": expected / N},
             extreme_exact=False),
    LossSpec("mse_loss", "preds", "dpreds", "the squared error summed over outputs and "
             "averaged over examples", _mse_draw, _mse_flat, _mse_far,
             "predictions within 2 of targets near 1e8",
             " Square the differences preds - y; do not expand (a - b)**2 into "
             "a**2 - 2ab + b**2, which cancels catastrophically for large values.",
             lambda expected, preds, y: {
                 "missing 1/N: dpreds must be divided by the batch size N": expected * N,
                 "the factor 2 from differentiating the square is missing": expected / 2,
                 "dpreds is divided by N*K (the mean over every entry), not by N":
                     expected / preds.shape[1],
                 "the sign is flipped: the gradient of (preds - y)**2 is along preds - y":
                     -expected},
             lambda expected: {MEAN_HINT: expected * N,
                               "the loss is averaged over all N*K entries instead of summed "
                               "over outputs and averaged over the N examples": expected / K}),
)


def _call(ctx: Context, spec: LossSpec, preds: np.ndarray, y: np.ndarray,
          fp_errors: bool = False) -> tuple:
    return unpack(spec.function, ctx.sandbox.call(f"layers.{spec.function}", preds, y,
                                                  fp_errors=fp_errors), ("loss", spec.grad))


def _reference(ctx: Context, spec: LossSpec, preds: np.ndarray, y: np.ndarray) -> tuple:
    return getattr(ctx.ref["layers"], spec.function)(preds.copy(), y.copy())


def _value(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw(ctx.rng(check_id))
    loss, _ = _call(ctx, spec, preds, y)
    expected = _reference(ctx, spec, preds, y)[0]
    return close_check(spec.function, "loss", loss, expected,
                       mistakes=spec.loss_mistakes(expected))


def _gradient(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw(ctx.rng(check_id))
    _, grad = _call(ctx, spec, preds, y)
    expected = _reference(ctx, spec, preds, y)[1]
    return close_check(spec.function, f"{spec.grad} {preds.shape}", grad, expected,
                       what=GRADIENT_WHAT, mistakes=spec.grad_mistakes(expected, preds, y))


def _output(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw(ctx.rng(check_id))
    preds, y = preds[:3], y[:3]  # another batch size than the value check's
    loss, grad = _call(ctx, spec, preds, y)
    if isinstance(loss, np.ndarray) and loss.shape != ():
        raise Failed(f"{spec.function}: loss is an array of shape {loss.shape}, expected a "
                     f"float.")
    if not isinstance(loss, (float, int, np.floating, np.integer, np.ndarray)):
        raise Failed(f"{spec.function}: loss is {describe(loss)}, expected a float.")
    array_check(spec.function, f"{spec.grad} for {spec.preds} {preds.shape}", grad, preds.shape)
    return None


def _stable(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    """Finite, and the right loss, at extreme inputs with numpy's overflow as an error.

    The gradient's values are the gradient check's business, not this one's.
    """
    preds, y = spec.extreme(ctx.rng(check_id))
    try:
        loss, grad = _call(ctx, spec, preds, y, fp_errors=True)
    except CallFailed as error:
        if error.kind == "raised" and str(error).startswith("FloatingPointError"):
            raise Failed(f"{spec.function}: for {spec.extreme_doc} numpy reports {error} "
                         f"(overflow and division by zero are errors in this test)."
                         f"{spec.stable_hint}") from None
        raise
    expected_loss = _reference(ctx, spec, preds, y)[0]
    try:
        array_check(spec.function, f"loss for {spec.extreme_doc}", loss, ())
        array_check(spec.function, f"{spec.grad} for {spec.extreme_doc}", grad, preds.shape)
        if spec.extreme_exact:
            close_check(spec.function, f"loss for {spec.extreme_doc}", loss, expected_loss)
        elif not float(loss) > 5:
            raise Failed(f"bce_loss: loss for probs [0, 1, 0, 1] and y [0, 1, 1, 0] (two "
                         f"confidently wrong) is {float(loss):.4g}, expected a large value "
                         f"(above 5).")
    except Failed as failure:
        raise Failed(str(failure) + spec.stable_hint, mistake=failure.mistake) from None
    return None


def _inputs(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw_edges(ctx.rng(check_id))
    _, after = ctx.sandbox.call(f"layers.{spec.function}", preds, y, echo_args=True)
    unchanged_check(spec.function, (spec.preds, "y"), (preds, y), after)
    return None


def _loss_checks(spec: LossSpec) -> list[Check]:
    f, value = spec.function, f"{spec.function}_value"

    def bind(run: Callable, check_id: str) -> Callable[[Context], str | None]:
        return lambda ctx: run(spec, ctx, check_id)
    return [
        Check(value, f, "values", f"{f}: loss is {spec.description} (matches the reference)",
              "layers", bind(_value, value)),
        Check(f"{f}_gradient", f, "gradient",
              f"{f}: {spec.grad} matches the backprop gradient of the loss", "layers",
              bind(_gradient, f"{f}_gradient")),
        Check(f"{f}_output", f, "shape",
              f"{f}: returns (loss, {spec.grad}): a float and an array shaped like its input",
              "layers", bind(_output, f"{f}_output"), awarded_if=value),
        Check(f"{f}_stable", f, "stability",
              f"{f}: finite and correct for {spec.extreme_doc}, without overflow", "layers",
              bind(_stable, f"{f}_stable"), awarded_if=value),
        Check(f"{f}_inputs", f, "inputs", f"{f}: does not modify its inputs", "layers",
              bind(_inputs, f"{f}_inputs"), awarded_if=value),
    ]


def checks() -> list[Check]:
    return [check for spec in LOSSES for check in _loss_checks(spec)]
