"""Checks of TwoLayerNet (both heads): init, scores, loss, gradients, predict.

Values are compared with the reference net given the same parameters, which
the grader sets itself, so a check depends neither on the submission's
random initialization nor (through the reference layers the worker gets in
place of failed ones) on a broken layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.checks import (
    Check,
    Context,
    Failed,
    array_check,
    close_check,
    describe,
    layers,
    losses,
    unpack,
)
from autograder.checks.layers import COST_FACTOR, COST_FLOOR, GRADIENT_WHAT, reference_seconds
from autograder.reference import initial_params, net_with
from autograder.reference import reference as reference_modules
from autograder.sandbox import CallFailed

N, D, H, C = 6, 4, 5, 3
HEADS = {"softmax": C, "bce": 2}
REG = 0.3


def layer_check_ids() -> tuple[str, ...]:
    """The net's checks run after every layer check: a failed layer is replaced by the
    reference's in the net's worker (see autograder.reference_calls)."""
    return tuple(c.id for c in (*layers.checks(), *losses.checks()))


def _shapes(loss: str, d: int = D, h: int = H, classes: int | None = None
            ) -> dict[str, tuple[int, ...]]:
    out = 1 if loss == "bce" else (classes or HEADS[loss])
    return {"W1": (d, h), "b1": (h,), "W2": (h, out), "b2": (out,)}


def _build(ctx: Context, handle: str, loss: str, d: int = D, h: int = H,
           classes: int | None = None, reg: float = 0.0,
           params: dict[str, np.ndarray] | None = None, read: tuple | None = None,
           then: tuple | None = None, **kwargs) -> Any:
    """The submission's TwoLayerNet, kept as ``handle``, with ``params`` if given; the
    value at ``read`` beneath it, or the result of the call ``then``, if given
    (Sandbox.build)."""
    return ctx.sandbox.build("two_layer_net.TwoLayerNet", d, h, classes or HEADS[loss],
                             keep=handle, params=params, read=read, then=then, reg=reg,
                             loss=loss, **kwargs)


def _params(rng: np.random.Generator, loss: str) -> dict[str, np.ndarray]:
    """Parameters with every entry well away from zero, biases included."""
    return {name: rng.uniform(0.2, 0.8, shape) * rng.choice([-1.0, 1.0], shape)
            for name, shape in _shapes(loss).items()}


PARAM_NAMES = ("W1", "b1", "W2", "b2")


def reference_net(ctx: Context, params: dict[str, np.ndarray], loss: str, reg: float = 0.0,
                  classes: int | None = None):
    """The reference TwoLayerNet with (float64 copies of) ``params`` W1, b1, W2, b2."""
    d, h = params["W1"].shape
    return net_with(ctx.ref["two_layer_net"].TwoLayerNet, params, d, h, classes or HEADS[loss],
                    reg=reg, loss=loss)


def _fixed_nets(ctx: Context, check_id: str, loss: str, method: str, reg: float = 0.0,
                labels: bool = False):
    """What the submission's net gives for ``method(X)`` (``method(X, y)`` with
    ``labels``), and the reference net, X and y: both nets with the same drawn
    parameters. The net is built and asked in one request."""
    rng = ctx.rng(f"{check_id}/{loss}")
    params = _params(rng, loss)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, HEADS[loss], size=N)
    got = _build(ctx, check_id, loss, reg=reg, params=params,
                 then=(f"${check_id}.{method}", (X, y) if labels else (X,), {}))
    return got, reference_net(ctx, params, loss, reg), X, y


def _loss_of(ctx: Context, check_id: str, loss: str):
    """(loss, grads) the submission's net returns for loss(X, y) with reg > 0, and the
    reference net, X and y (as ``_fixed_nets``)."""
    got, reference, X, y = _fixed_nets(ctx, check_id, loss, "loss", REG, labels=True)
    return unpack("TwoLayerNet.loss", got, ("loss", "grads")), reference, X, y


# -- __init__ -------------------------------------------------------------------

# A standard deviation from W2's 500 entries is within ~3% (1/sqrt(2n)) of the true one;
# the checks allow a factor 0.5-2 (He) and 25% (weight_scale).
INIT_D, INIT_H, INIT_C = 100, 50, 10
# Seeding and zero biases need no large net (a standard deviation does); all sizes differ.
SMALL_D, SMALL_H = 13, 6
INIT_HINT = ("initialization: with weight_scale=None draw W1 with standard deviation "
             "sqrt(2 / D) and W2 with sqrt(2 / H) (He), otherwise with weight_scale")


def _init_params(ctx: Context, handle: str, loss: str, d: int = INIT_D, h: int = INIT_H,
                 **kwargs) -> dict[str, np.ndarray]:
    classes = INIT_C if loss == "softmax" else 2
    params = _build(ctx, handle, loss, d, h, classes, read=("params",), **kwargs)
    if not isinstance(params, dict):
        raise Failed(f"TwoLayerNet.__init__: params is {describe(params)}, expected a dict of "
                     f"arrays.")
    for name, shape in _shapes(loss, d, h, classes).items():
        if name not in params:
            raise Failed(f"TwoLayerNet.__init__: params has no {name!r} (loss={loss!r}); "
                         f"expected keys W1, b1, W2, b2.")
        array_check("TwoLayerNet.__init__", f"params[{name!r}] (D={d}, H={h}, "
                    f"loss={loss!r})", params[name], shape)
    return {name: np.asarray(params[name], dtype=np.float64) for name in ("W1", "b1", "W2", "b2")}


def _scale_check(params: dict[str, np.ndarray], expected: dict[str, float], low: float,
                 high: float, setting: str) -> None:
    for name, target in expected.items():
        std = float(np.std(params[name]))
        if not low * target <= std <= high * target:
            raise Failed(f"TwoLayerNet.__init__: with {setting} {name} has standard deviation "
                         f"{std:.3g}, expected about {target:.3g}; check the {INIT_HINT}.")


def _init(ctx: Context) -> str | None:
    for loss in HEADS:
        params = _init_params(ctx, "init", loss, SMALL_D, SMALL_H, seed=3)
        again = _init_params(ctx, "init_again", loss, SMALL_D, SMALL_H, seed=3)
        if not all(np.array_equal(params[k], again[k]) for k in params):
            raise Failed("TwoLayerNet.__init__: two nets built with the same seed start with "
                         "different parameters; draw them with np.random.default_rng(seed).")
        if np.any(params["b1"]) or np.any(params["b2"]):
            raise Failed("TwoLayerNet.__init__: the biases b1 and b2 must start at zero.")
    he = _init_params(ctx, "init_he", "softmax", seed=5)
    _scale_check(he, {"W1": np.sqrt(2 / INIT_D), "W2": np.sqrt(2 / INIT_H)}, 0.5, 2.0,
                 "weight_scale=None")
    given = _init_params(ctx, "init_scale", "softmax", seed=5, weight_scale=0.05)
    _scale_check(given, {"W1": 0.05, "W2": 0.05}, 0.75, 1.25, "weight_scale=0.05")
    return None


# -- loss(X) and loss(X, y) ------------------------------------------------------

def _scores(loss: str) -> Callable[[Context], str | None]:
    def run(ctx: Context) -> str | None:
        got, reference, X, _ = _fixed_nets(ctx, f"scores_{loss}", loss, "loss")
        name = f"scores {(N, C)}" if loss == "softmax" else f"probs {(N,)}"
        return close_check("TwoLayerNet.loss", f"{name} from loss(X) (loss={loss!r})", got,
                           reference.loss(X))
    return run


def _penalty(params: dict[str, np.ndarray], names: tuple[str, ...]) -> float:
    return 0.5 * REG * sum(float(np.sum(params[n] ** 2)) for n in names)


def _loss_value(ctx: Context) -> str | None:
    notes = []
    for loss in HEADS:
        (value, _), reference, X, y = _loss_of(ctx, f"loss_{loss}", loss)
        expected, _ = reference.loss(X, y)
        penalty = _penalty(reference.params, ("W1", "W2"))
        notes.append(close_check(
            "TwoLayerNet.loss", f"loss (loss={loss!r}, reg={REG})", value, expected,
            mistakes={"the regularization term is missing": expected - penalty,
                      "the regularization term lacks the factor 0.5": expected + penalty,
                      "the biases are regularized too":
                          expected + _penalty(reference.params, ("b1", "b2")),
                      "the data loss is summed over the batch instead of averaged (missing 1/N)":
                          (expected - penalty) * N + penalty}))
    return "; ".join(notes)


def _variant_grads(reference, X: np.ndarray, y: np.ndarray, skip_sigmoid: bool = False,
                   scale: float = 1.0) -> dict[str, np.ndarray]:
    """The reference's gradients with a known mistake: the data gradient times ``scale``,
    or (bce) dprobs fed to the last affine layer without going through sigmoid_backward."""
    lay = reference_modules()["layers"]
    p = reference.params
    hidden, cache1 = lay.affine_forward(X, p["W1"], p["b1"])
    relu, cache_relu = lay.relu_forward(hidden)
    scores, cache2 = lay.affine_forward(relu, p["W2"], p["b2"])
    if reference.loss_type == "bce":
        probs, cache_sigmoid = lay.sigmoid_forward(scores[:, 0])
        _, dprobs = lay.bce_loss(probs, y)
        dscores = (dprobs if skip_sigmoid else lay.sigmoid_backward(dprobs, cache_sigmoid))
        dscores = dscores[:, None]
    else:
        _, dscores = lay.softmax_loss(scores, y)
    dscores = dscores * scale
    grads = {}
    drelu, grads["W2"], grads["b2"] = lay.affine_backward(dscores, cache2)
    _, grads["W1"], grads["b1"] = lay.affine_backward(lay.relu_backward(drelu, cache_relu),
                                                      cache1)
    for name in ("W1", "W2"):
        grads[name] = grads[name] + reference.reg * p[name]
    return grads


def _gradient_mistakes(reference, X: np.ndarray, y: np.ndarray, name: str,
                       expected: np.ndarray) -> dict[str, np.ndarray]:
    mistakes = {"the data gradient is not divided by N (a summed loss)":
                _variant_grads(reference, X, y, scale=N)[name],
                "the data gradient is divided by N twice":
                _variant_grads(reference, X, y, scale=1 / N)[name]}
    if reference.loss_type == "bce":
        mistakes["dprobs goes to the last affine layer without sigmoid_backward"] = \
            _variant_grads(reference, X, y, skip_sigmoid=True)[name]
    if name.startswith("W"):
        value = reference.params[name]
        mistakes["the regularization gradient reg * W is missing"] = expected - REG * value
        mistakes["the regularization gradient is 2 * reg * W, not reg * W"] = \
            expected + REG * value
    return mistakes


NET_COST = (64, 256, 256, 10)  # N, D, H, C of the net whose backward is timed


def loss_cost_check(ctx: Context, function: str, handle: str, params: dict[str, np.ndarray],
                    reference, X: np.ndarray, y: np.ndarray, size: str) -> None:
    """Failed unless the submission's net ``handle`` (built with ``params``) runs
    loss(X, y) in about the time the ``reference`` net with ``params`` takes."""
    shapes = tuple(value.shape for value in params.values())
    seconds = reference_seconds((function, size, X.shape, *shapes), reference.loss, X, y)
    budget = min(max(COST_FACTOR * seconds, COST_FLOOR), ctx.sandbox.limits.call_timeout)
    held = ctx.sandbox.hold(f"{handle}/data", X, y)
    try:
        ctx.sandbox.timed_call(f"${handle}.loss", held[0], held[1], timeout=budget)
    except CallFailed as error:
        if error.kind != "timeout":
            raise
        raise Failed(f"{function}: backward must compute the gradient directly, not by "
                     f"numeric differences: loss(X, y) of a net with {size} on {X.shape[0]} "
                     f"examples took more than {budget:.1f} s, where backprop takes about "
                     f"{seconds * 1e3:.0f} ms.") from None


def _net_cost(ctx: Context, check_id: str, loss: str) -> None:
    """Failed unless loss(X, y) of a 256-wide net takes about what backprop takes."""
    n, d, h, classes = NET_COST
    classes = classes if loss == "softmax" else 2
    handle = f"{check_id}/large"
    params = initial_params(ctx.ref["two_layer_net"].TwoLayerNet, d, h, classes, loss=loss,
                            reg=0.1, seed=0)
    X, y = ctx.fixed(handle, lambda rng: (rng.standard_normal((n, d)),
                                          rng.integers(0, classes, size=n)))
    _build(ctx, handle, loss, d, h, classes, reg=0.1, params=params, seed=0)
    loss_cost_check(ctx, "TwoLayerNet.loss", handle, params,
                    reference_net(ctx, params, loss, reg=0.1, classes=classes), X, y,
                    f"D={d}, H={h}")


def _gradients(loss: str) -> Callable[[Context], str | None]:
    def run(ctx: Context) -> str | None:
        check_id = f"grads_{loss}"
        (_, grads), reference, X, y = _loss_of(ctx, check_id, loss)
        if not isinstance(grads, dict):
            raise Failed(f"TwoLayerNet.loss: grads is {describe(grads)}, expected a dict with "
                         f"the keys of params.")
        _, expected = reference.loss(X, y)
        notes = []
        for name, value in reference.params.items():
            if name not in grads:
                raise Failed(f"TwoLayerNet.loss: grads has no {name!r}, expected the keys of "
                             f"params (loss={loss!r}).")
            notes.append(close_check(
                "TwoLayerNet.loss", f"grads[{name!r}] {value.shape} (loss={loss!r}, reg={REG})",
                grads[name], expected[name], what=GRADIENT_WHAT,
                mistakes=_gradient_mistakes(reference, X, y, name, expected[name])))
        _net_cost(ctx, check_id, loss)
        return "; ".join(notes)
    return run


def _initial_loss(ctx: Context) -> str | None:
    """With small weights (set here) every class is about equally likely: loss ~ log C."""
    rng = ctx.rng("TwoLayerNet_initial_loss")
    notes = []
    for loss, classes in (("softmax", 10), ("bce", 2)):
        params = initial_params(ctx.ref["two_layer_net"].TwoLayerNet, 20, 30, classes,
                                weight_scale=1e-3, loss=loss, seed=0)
        X = rng.standard_normal((100, 20))
        y = rng.integers(0, classes, size=100)
        got = _build(ctx, "initial", loss, 20, 30, classes, params=params,
                     then=("$initial.loss", (X, y), {}))
        value, _ = unpack("TwoLayerNet.loss", got, ("loss", "grads"))
        notes.append(close_check("TwoLayerNet.loss", f"initial loss (loss={loss!r}, weights "
                                 f"of scale 1e-3)", value, np.log(classes),
                                 what=f"log(C) = log({classes})", tol=1e-3))
    return "; ".join(notes)


# -- predict --------------------------------------------------------------------

def _predict(ctx: Context) -> str | None:
    for loss in HEADS:
        got, reference, X, _ = _fixed_nets(ctx, f"predict_{loss}", loss, "predict")
        array_check("TwoLayerNet.predict", f"y_pred (loss={loss!r})", got, (N,))
        got = np.asarray(got, dtype=np.float64)
        expected = reference.predict(X)
        wrong = np.flatnonzero(got != expected)
        if wrong.size:
            i = int(wrong[0])
            raise Failed(f"TwoLayerNet.predict: {wrong.size} of {N} labels differ from the "
                         f"reference's (loss={loss!r}); e.g. at index {i} got {got[i]:g}, "
                         f"expected {expected[i]} (the class with the highest score, or 1 "
                         f"where the probability is at least 0.5).")
    return None


def checks() -> list[Check]:
    needs = layer_check_ids()

    def net_check(check_id: str, function: str, kind: str, name: str,
                  run: Callable[[Context], str | None], awarded_if: str | None = None) -> Check:
        return Check(check_id, function, kind, f"TwoLayerNet: {name}", "two_layer_net", run,
                     needs=needs + ((awarded_if,) if awarded_if else ()), awarded_if=awarded_if)
    return [
        net_check("TwoLayerNet_init", "TwoLayerNet.__init__", "init",
                  "params have the documented shapes and scale, for both heads", _init),
        net_check("TwoLayerNet_scores", "TwoLayerNet.loss", "values",
                  "loss(X) gives the reference scores (softmax head)", _scores("softmax")),
        net_check("TwoLayerNet_probs", "TwoLayerNet.loss", "values",
                  "loss(X) gives the reference probabilities (bce head)", _scores("bce")),
        net_check("TwoLayerNet_loss", "TwoLayerNet.loss", "values",
                  "loss(X, y) is the data loss plus 0.5 * reg * (sum W1**2 + sum W2**2), for "
                  "both heads", _loss_value),
        net_check("TwoLayerNet_gradients_softmax", "TwoLayerNet.loss", "gradient",
                  "every gradient matches the backprop gradient (softmax head, reg > 0, "
                  "nonzero biases)", _gradients("softmax")),
        net_check("TwoLayerNet_gradients_bce", "TwoLayerNet.loss", "gradient",
                  "every gradient matches the backprop gradient (bce head, reg > 0, nonzero "
                  "biases)", _gradients("bce")),
        net_check("TwoLayerNet_initial_loss", "TwoLayerNet.loss", "sanity",
                  "with small weights the initial loss is about log(C)", _initial_loss,
                  awarded_if="TwoLayerNet_loss"),
        net_check("TwoLayerNet_predict", "TwoLayerNet.predict", "predict",
                  "predict gives the reference labels, for both heads", _predict),
    ]
