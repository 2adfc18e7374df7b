"""Checks of FullyConnectedNet (fc_net.py): init, every head's outputs, the loss,
the gradients of a three-layer net, the regression head, predict, and
whether it can overfit 20 points.

As for TwoLayerNet, values are compared with the reference net given the same
parameters (set by the grader), and the worker has the reference in place of
any layer that failed its own checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.checks import Check, Context, Failed, array_check, close_check, describe, unpack
from autograder.checks.layers import GRADIENT_WHAT
from autograder.checks.net import layer_check_ids, loss_cost_check
from autograder.reference import initial_params, net_with

FUNCTION = "FullyConnectedNet"
N, D, K = 6, 4, 2
HIDDEN = (5, 4)                        # three affine layers
HEADS = {"softmax": 3, "bce": 2, "mse": K}
REG = 0.3


def _shapes(loss: str, d: int, hidden: tuple[int, ...], classes: int
            ) -> dict[str, tuple[int, ...]]:
    dims = [d, *hidden, 1 if loss == "bce" else classes]
    shapes = {}
    for i in range(1, len(dims)):
        shapes[f"W{i}"], shapes[f"b{i}"] = (dims[i - 1], dims[i]), (dims[i],)
    return shapes


def _build(ctx: Context, handle: str, loss: str, d: int = D, hidden: tuple[int, ...] = HIDDEN,
           classes: int | None = None, reg: float = 0.0,
           params: dict[str, np.ndarray] | None = None, read: tuple | None = None,
           then: tuple | None = None, **kwargs) -> Any:
    """The submission's FullyConnectedNet, kept as ``handle``, with ``params`` if given;
    the value at ``read`` beneath it, or the result of the call ``then``, if given
    (Sandbox.build)."""
    return ctx.sandbox.build("fc_net.FullyConnectedNet", d, list(hidden),
                             classes or HEADS[loss], keep=handle, params=params, read=read,
                             then=then, reg=reg, loss=loss, **kwargs)


def reference_fc(ctx: Context, params: dict[str, np.ndarray], loss: str, reg: float = 0.0,
                 classes: int | None = None):
    """The reference FullyConnectedNet with (float64 copies of) ``params``."""
    layers = len(params) // 2
    hidden = [params[f"W{i}"].shape[1] for i in range(1, layers)]
    return net_with(ctx.ref["fc_net"].FullyConnectedNet, params, params["W1"].shape[0], hidden,
                    classes or HEADS[loss], reg=reg, loss=loss)


def _targets(rng: np.random.Generator, loss: str, n: int = N) -> np.ndarray:
    if loss == "mse":
        return rng.standard_normal((n, K))
    return rng.integers(0, HEADS[loss], size=n)


def _fixed(ctx: Context, check_id: str, loss: str, method: str, reg: float = 0.0,
           hidden: tuple[int, ...] = HIDDEN, labels: bool = False):
    """What the submission's net gives for ``method(X)`` (``method(X, y)`` with
    ``labels``), and the reference net, X and y: both nets with the same drawn
    parameters. The net is built and asked in one request."""
    rng = ctx.rng(f"{check_id}/{loss}/{len(hidden)}")
    params = {name: rng.uniform(0.2, 0.8, shape) * rng.choice([-1.0, 1.0], shape)
              for name, shape in _shapes(loss, D, hidden, HEADS[loss]).items()}
    handle = f"{check_id}_{loss}_{len(hidden)}"
    X = rng.standard_normal((N, D))
    y = _targets(rng, loss)
    got = _build(ctx, handle, loss, hidden=hidden, reg=reg, params=params,
                 then=(f"${handle}.{method}", (X, y) if labels else (X,), {}))
    return got, reference_fc(ctx, params, loss, reg), X, y


def _loss_of(ctx: Context, check_id: str, loss: str, hidden: tuple[int, ...] = HIDDEN):
    """(loss, grads) the submission's net returns for loss(X, y) with reg > 0, and the
    reference net, X and y (as ``_fixed``)."""
    got, reference, X, y = _fixed(ctx, check_id, loss, "loss", REG, hidden, labels=True)
    return unpack(f"{FUNCTION}.loss", got, ("loss", "grads")), reference, X, y


# -- __init__ -------------------------------------------------------------------

# The smallest weight, W3 (50, 3), gives a standard deviation within ~6% (1/sqrt(2n));
# the checks allow a factor 0.5-2 (He) and 25% (weight_scale).
INIT_D, INIT_HIDDEN = 100, (70, 50)
# Seeding and zero biases need no large net (a standard deviation does); all sizes differ.
SMALL_D, SMALL_HIDDEN = 13, (7, 5)
INIT_HINT = ("initialization: with weight_scale=None draw each Wi with standard deviation "
             "sqrt(2 / fan_in), its number of rows (He), otherwise with weight_scale")


def _init_params(ctx: Context, handle: str, loss: str, hidden: tuple[int, ...] = INIT_HIDDEN,
                 d: int = INIT_D, **kwargs) -> dict[str, np.ndarray]:
    classes = HEADS[loss]
    params = _build(ctx, handle, loss, d, hidden, classes, read=("params",), **kwargs)
    what = f"hidden_dims={list(hidden)}, loss={loss!r}"
    if not isinstance(params, dict):
        raise Failed(f"{FUNCTION}.__init__: params is {describe(params)}, expected a dict of "
                     f"arrays.")
    shapes = _shapes(loss, d, hidden, classes)
    if set(params) != set(shapes):
        raise Failed(f"{FUNCTION}.__init__: params has the keys {sorted(params)} ({what}), "
                     f"expected {sorted(shapes)}: W1, b1, ..., W{len(hidden) + 1}, "
                     f"b{len(hidden) + 1}.")
    for name, shape in shapes.items():
        array_check(f"{FUNCTION}.__init__", f"params[{name!r}] (D={d}, {what})",
                    params[name], shape)
    return {name: np.asarray(params[name], dtype=np.float64) for name in shapes}


def _init(ctx: Context) -> str | None:
    for loss in HEADS:
        params = _init_params(ctx, "fc_init", loss, SMALL_HIDDEN, SMALL_D, seed=3)
        again = _init_params(ctx, "fc_init_again", loss, SMALL_HIDDEN, SMALL_D, seed=3)
        if not all(np.array_equal(params[k], again[k]) for k in params):
            raise Failed(f"{FUNCTION}.__init__: two nets built with the same seed start with "
                         f"different parameters; draw them with np.random.default_rng(seed).")
        if any(np.any(v) for k, v in params.items() if k.startswith("b")):
            raise Failed(f"{FUNCTION}.__init__: every bias must start at zero.")
    _init_params(ctx, "fc_init_deep", "softmax", hidden=(8, 7, 6, 5), seed=1)
    _init_params(ctx, "fc_init_linear", "softmax", hidden=(), seed=1)
    for setting, kwargs, tolerance in (("weight_scale=None", {}, (0.5, 2.0)),
                                       ("weight_scale=0.05", {"weight_scale": 0.05},
                                        (0.75, 1.25))):
        params = _init_params(ctx, "fc_init_scale", "softmax", seed=5, **kwargs)
        for name, value in params.items():
            if not name.startswith("W"):
                continue
            target = kwargs.get("weight_scale", np.sqrt(2 / value.shape[0]))
            std = float(np.std(value))
            if not tolerance[0] * target <= std <= tolerance[1] * target:
                raise Failed(f"{FUNCTION}.__init__: with {setting} {name} {value.shape} has "
                             f"standard deviation {std:.3g}, expected about {target:.3g}; "
                             f"check the {INIT_HINT}.")
    return None


# -- loss(X), loss(X, y), predict --------------------------------------------------

def _outputs(ctx: Context) -> str | None:
    notes = []
    for loss, name in (("softmax", f"scores {(N, HEADS['softmax'])}"),
                       ("bce", f"probs {(N,)}"), ("mse", f"predictions {(N, K)}")):
        got, reference, X, _ = _fixed(ctx, "fc_outputs", loss, "loss")
        notes.append(close_check(f"{FUNCTION}.loss", f"{name} from loss(X) (loss={loss!r}, "
                                 f"hidden_dims={list(HIDDEN)})", got, reference.loss(X)))
    return "; ".join(notes)


def _penalty(params: dict[str, np.ndarray], prefix: str) -> float:
    return 0.5 * REG * sum(float(np.sum(v ** 2)) for k, v in params.items()
                           if k.startswith(prefix))


def _loss_value(ctx: Context) -> str | None:
    notes = []
    for loss in HEADS:
        (value, _), reference, X, y = _loss_of(ctx, "fc_loss", loss)
        expected, _ = reference.loss(X, y)
        penalty = _penalty(reference.params, "W")
        notes.append(close_check(
            f"{FUNCTION}.loss", f"loss (loss={loss!r}, reg={REG}, three layers)", value,
            expected,
            mistakes={"the regularization term is missing": expected - penalty,
                      "the regularization term lacks the factor 0.5": expected + penalty,
                      "the biases are regularized too":
                          expected + _penalty(reference.params, "b"),
                      "only the last layer's weights are regularized":
                          expected - penalty + 0.5 * REG * float(np.sum(
                              reference.params[f"W{len(HIDDEN) + 1}"] ** 2))}))
    return "; ".join(notes)


def _compare_grads(ctx: Context, loss: str, hidden: tuple[int, ...], check_id: str) -> str:
    (_, grads), reference, X, y = _loss_of(ctx, check_id, loss, hidden)
    if not isinstance(grads, dict):
        raise Failed(f"{FUNCTION}.loss: grads is {describe(grads)}, expected a dict with the "
                     f"keys of params.")
    _, expected = reference.loss(X, y)
    notes = []
    for name, value in reference.params.items():
        where = f"loss={loss!r}, hidden_dims={list(hidden)}, reg={REG}"
        if name not in grads:
            raise Failed(f"{FUNCTION}.loss: grads has no {name!r} ({where}), expected the keys "
                         f"of params.")
        mistakes = None
        if name.startswith("W"):
            mistakes = {"the regularization gradient reg * W is missing":
                        expected[name] - REG * value}
        notes.append(close_check(f"{FUNCTION}.loss", f"grads[{name!r}] {value.shape} ({where})",
                                 grads[name], expected[name], what=GRADIENT_WHAT,
                                 mistakes=mistakes))
    return "; ".join(notes)


# N, D, hidden_dims, C of the net whose loss is timed: its 34k params take centered
# differences ~12 s on the grading machine, far past the 1 s floor (backprop: ~1 ms).
COST = (64, 128, (128, 128), 10)


def _cost(ctx: Context) -> None:
    n, d, hidden, classes = COST
    params = initial_params(ctx.ref["fc_net"].FullyConnectedNet, d, list(hidden), classes,
                            reg=0.1, seed=0)
    X, y = ctx.fixed("fc_cost", lambda rng: (rng.standard_normal((n, d)),
                                             rng.integers(0, classes, size=n)))
    _build(ctx, "fc_cost", "softmax", d, hidden, classes, reg=0.1, params=params, seed=0)
    loss_cost_check(ctx, f"{FUNCTION}.loss", "fc_cost", params,
                    reference_fc(ctx, params, "softmax", 0.1, classes), X, y,
                    f"D={d}, hidden_dims={list(hidden)}")


def _gradients(ctx: Context) -> str | None:
    notes = [_compare_grads(ctx, loss, hidden, "fc_grads")
             for loss, hidden in (("softmax", HIDDEN), ("bce", HIDDEN), ("softmax", (5, 4, 3)),
                                  ("softmax", ()))]
    _cost(ctx)
    return "; ".join(notes)


def _regression(ctx: Context) -> str | None:
    return _compare_grads(ctx, "mse", HIDDEN, "fc_regression")


def _predict(ctx: Context) -> str | None:
    for loss in HEADS:
        got, reference, X, _ = _fixed(ctx, "fc_predict", loss, "predict")
        expected = reference.predict(X)
        if loss == "mse":
            close_check(f"{FUNCTION}.predict", f"predictions {(N, K)} (loss='mse')", got,
                        expected)
            continue
        array_check(f"{FUNCTION}.predict", f"y_pred (loss={loss!r})", got, (N,))
        wrong = np.flatnonzero(np.asarray(got, dtype=np.float64) != expected)
        if wrong.size:
            raise Failed(f"{FUNCTION}.predict: {wrong.size} of {N} labels differ from the "
                         f"reference's (loss={loss!r}): predict the class with the highest "
                         f"score, or 1 where the probability is at least 0.5.")
    return None


# -- can it learn? ------------------------------------------------------------------

OVERFIT = {"n": 20, "d": 5, "hidden": (30, 30), "classes": 3, "steps": 40,
           "learning_rate": 0.5, "seed": 0}


def _descended(done: Any, shapes: dict[str, tuple[int, ...]], steps: int,
               hidden: tuple[int, ...]) -> dict[str, Any]:
    """The params a worker.descend of ``steps`` steps ended with, or Failed saying why
    it stopped early (what is wrong with the grads of that step)."""
    params = done.get("params") if isinstance(done, dict) else None
    if not isinstance(params, dict) or set(params) != set(shapes):
        raise Failed(f"{FUNCTION}: could not read the parameters W1..W3, b1..b3 of a net with "
                     f"hidden_dims={list(hidden)}.")
    if done.get("stopped") is not None or done.get("steps") != steps:
        _, grads = unpack(f"{FUNCTION}.loss", done.get("stopped"), ("loss", "grads"))
        if not isinstance(grads, dict) or set(grads) != set(shapes):
            raise Failed(f"{FUNCTION}.loss: grads does not have the keys of params.")
        for name in shapes:
            array_check(f"{FUNCTION}.loss", f"grads[{name!r}]", grads[name], shapes[name])
        raise Failed(f"{FUNCTION}.loss: grads do not match the shapes of params.")
    return params


def _overfit(ctx: Context) -> str | None:
    """Full-batch gradient descent on the submission's net from its own initialization
    (the steps run in the worker, the grader judges the params they end with): 20
    random points must end up all classified right."""
    n, d, hidden, classes = (OVERFIT[k] for k in ("n", "d", "hidden", "classes"))
    rng = ctx.rng("FullyConnectedNet_overfit")
    X, y = rng.standard_normal((n, d)), rng.integers(0, classes, size=n)
    _build(ctx, "fc_overfit", "softmax", d, hidden, classes, seed=OVERFIT["seed"])
    shapes = _shapes("softmax", d, hidden, classes)
    # The first step runs alone, with one call's time; the others together may take what
    # 39 calls may, but at most five times the first step's time each, with one call's
    # time at least: a loss that hangs from its second call on costs about one call's time.
    call, what = ctx.sandbox.limits.call_timeout, f"calling {FUNCTION}.loss in gradient steps"
    started = time.monotonic()
    _descended(ctx.sandbox.descend("fc_overfit", X, y, 1, OVERFIT["learning_rate"], what, call),
               shapes, 1, hidden)
    rest = OVERFIT["steps"] - 1
    budget = min(rest * call, max(call, rest * 5 * (time.monotonic() - started)))
    params = _descended(ctx.sandbox.descend("fc_overfit", X, y, rest, OVERFIT["learning_rate"],
                                            what, budget, f"{rest} steps'"), shapes, rest, hidden)
    for name in shapes:
        array_check(FUNCTION, f"params[{name!r}] after training", params[name], shapes[name])
    accuracy = float(np.mean(reference_fc(ctx, params, "softmax", classes=classes).predict(X)
                             == y))
    if accuracy < 1.0:
        raise Failed(f"{FUNCTION}: after {OVERFIT['steps']} full-batch gradient steps "
                     f"(learning rate {OVERFIT['learning_rate']}) from its own initialization "
                     f"(seed={OVERFIT['seed']}), a net with hidden_dims={list(hidden)} "
                     f"classifies {accuracy:.0%} of {n} training points right, expected 100%: "
                     f"check the initialization scale and the gradients.")
    return f"training accuracy {accuracy:.0%} on {n} points"


def checks() -> list[Check]:
    needs = layer_check_ids()

    def fc_check(check_id: str, function: str, kind: str, name: str,
                 run: Callable[[Context], str | None]) -> Check:
        return Check(check_id, function, kind, f"{FUNCTION}: {name}", "fc_net", run,
                     needs=needs)
    return [
        fc_check("FullyConnectedNet_init", f"{FUNCTION}.__init__", "init",
                 "params W1, b1, ..., WL, bL have the documented shapes and scale, for any "
                 "depth and every head", _init),
        fc_check("FullyConnectedNet_outputs", f"{FUNCTION}.loss", "values",
                 "loss(X) gives the reference scores, probabilities or predictions", _outputs),
        fc_check("FullyConnectedNet_loss", f"{FUNCTION}.loss", "values",
                 "loss(X, y) is the data loss plus 0.5 * reg * sum of every Wi**2, for every "
                 "head", _loss_value),
        fc_check("FullyConnectedNet_gradients", f"{FUNCTION}.loss", "gradient",
                 "every gradient matches the backprop gradient (1, 3 and 4 layers, reg > 0, "
                 "nonzero biases)", _gradients),
        fc_check("FullyConnectedNet_regression", f"{FUNCTION}.loss", "gradient",
                 "every gradient matches the backprop gradient with the mse head", _regression),
        fc_check("FullyConnectedNet_predict", f"{FUNCTION}.predict", "predict",
                 "predict gives the reference labels or predictions, for every head", _predict),
        fc_check("FullyConnectedNet_overfit", FUNCTION, "training",
                 "gradient descent from its own initialization fits 20 points exactly",
                 _overfit),
    ]
