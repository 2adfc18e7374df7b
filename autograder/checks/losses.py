"""Checks of the two losses, softmax_loss and bce_loss: value, gradient, stability, inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.checks import (
    Context,
    Failed,
    array_check,
    close_check,
    register,
    same_as_reference,
    unchanged_check,
    unpack,
)
from autograder.numeric import centered_difference, perturbed

N, C = 6, 4
MEAN_HINT = "the loss is summed over the batch instead of averaged (missing 1/N)"


@dataclass(frozen=True)
class LossSpec:
    """A loss function ``f(predictions, y) -> (loss, dpredictions)`` and how to feed it."""

    function: str
    grad: str                                                       # "dscores" / "dprobs"
    draw: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    extreme: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    extreme_doc: str
    grad_mistakes: Callable[[np.ndarray, np.ndarray, np.ndarray], dict]


def _softmax_draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((N, C)), rng.integers(0, C, size=N)


def _bce_draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.05, 0.95, size=N), rng.integers(0, 2, size=N)


LOSSES = (
    LossSpec("softmax_loss", "dscores", _softmax_draw,
             lambda rng: (lambda s, y: (s + 1000.0, y))(*_softmax_draw(rng)),
             "every score offset by +1000",
             lambda expected, scores, y: {
                 "missing 1/N: dscores must be divided by the batch size N": expected * N,
                 "the 1 at each correct class is not subtracted":
                     expected + np.eye(C)[y] / N}),
    LossSpec("bce_loss", "dprobs", _bce_draw,
             lambda rng: (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0, 1, 1, 0])),
             "probabilities exactly 0 and 1",
             lambda expected, probs, y: {
                 "missing 1/N: dprobs must be divided by the batch size N": expected * N}),
)


def _call(ctx: Context, spec: LossSpec, preds: np.ndarray, y: np.ndarray) -> tuple:
    return unpack(spec.function, ctx.sandbox.call(f"layers.{spec.function}", preds, y),
                  ("loss", spec.grad))


def _output(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw(ctx.rng(check_id))
    loss, grad = _call(ctx, spec, preds, y)
    array_check(spec.function, "loss", loss, ())
    array_check(spec.function, spec.grad, grad, preds.shape)
    return None


def _value(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw(ctx.rng(check_id))
    loss, _ = _call(ctx, spec, preds, y)
    expected = getattr(ctx.ref["layers"], spec.function)(preds.copy(), y)[0]
    return close_check(spec.function, "loss", loss, expected,
                       mistakes={MEAN_HINT: expected * N})


def _gradient(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    """The gradient against the numeric gradient of the submission's own loss when that
    loss is right, else against the reference's: a wrong loss with a matching wrong
    gradient earns nothing here."""
    preds, y = spec.draw(ctx.rng(check_id))
    _, grad = _call(ctx, spec, preds, y)
    reference = getattr(ctx.ref["layers"], spec.function)
    reference_losses = np.array([reference(row, y)[0] for row in perturbed(preds)])
    if ctx.passed.get(f"{spec.function}_value"):
        losses = ctx.sandbox.call_many(f"layers.{spec.function}", [preds, y], 0,
                                       perturbed(preds), pick=(0,))
        array_check(spec.function, "loss on perturbed inputs", losses, (2 * preds.size,))
        same_as_reference(spec.function, "its losses next to the test point", losses,
                          reference_losses)
        what, note = "the numeric gradient of its own loss", ""
    else:
        losses = reference_losses
        what = "the numeric gradient of the reference loss"
        note = " (its own loss does not pass its value test, so the reference's is used)"
    expected = centered_difference(losses, preds.shape)
    try:
        return close_check(spec.function, spec.grad, grad, expected, what=what,
                           mistakes=spec.grad_mistakes(expected, preds, y)) + note
    except Failed as failure:
        raise Failed(str(failure) + note) from None


def _stable(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.extreme(ctx.rng(check_id))
    loss, grad = _call(ctx, spec, preds, y)
    expected_loss, expected_grad = getattr(ctx.ref["layers"], spec.function)(preds.copy(), y)
    hint = (" Subtract each row's max score before exponentiating (the softmax is unchanged)."
            if spec.function == "softmax_loss" else
            " Clip probs to [eps, 1 - eps] before taking logs and dividing.")
    try:
        array_check(spec.function, f"loss for {spec.extreme_doc}", loss, ())
        array_check(spec.function, f"{spec.grad} for {spec.extreme_doc}", grad, preds.shape)
        if spec.function == "softmax_loss":
            close_check(spec.function, f"loss for {spec.extreme_doc}", loss, expected_loss)
            close_check(spec.function, f"{spec.grad} for {spec.extreme_doc}", grad,
                        expected_grad)
        elif not float(loss) > 5:
            raise Failed(f"bce_loss: loss for probs [0, 1, 0, 1] and y [0, 1, 1, 0] (two "
                         f"confidently wrong) is {float(loss):.4g}, expected a large value "
                         f"(above 5): clip with a small eps, such as 1e-12.")
    except Failed as failure:
        raise Failed(str(failure) + hint) from None
    return None


def _inputs(spec: LossSpec, ctx: Context, check_id: str) -> str | None:
    preds, y = spec.draw(ctx.rng(check_id))
    _, after = ctx.sandbox.call(f"layers.{spec.function}", preds, y, echo_args=True)
    unchanged_check(spec.function, ("predictions" if spec.grad == "dprobs" else "scores", "y"),
                    (preds, y), after)
    return None


for _spec in LOSSES:
    _what = "softmax cross-entropy" if _spec.function == "softmax_loss" else "binary cross-entropy"
    for _suffix, _name, _run in (
        ("output", f"returns (loss, {_spec.grad}): a float and an array shaped like its input",
         _output),
        ("value", f"loss is the mean {_what} (matches the reference)", _value),
        ("gradient", f"{_spec.grad} matches the numeric gradient of the loss", _gradient),
        ("stable", f"finite and correct for {_spec.extreme_doc}", _stable),
        ("inputs", "does not modify its inputs", _inputs),
    ):
        _id = f"{_spec.function}_{_suffix}"
        register(_id, f"{_spec.function}: {_name}", "layers",
                 lambda ctx, spec=_spec, run=_run, check_id=_id: run(spec, ctx, check_id),
                 (f"{_spec.function}_value",) if _suffix == "gradient" else ())
