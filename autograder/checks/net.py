"""Checks of TwoLayerNet (both heads) and of train's history.

Values are compared with the reference net given the same parameters, which
the grader sets itself, so a check does not depend on the submission's
random initialization.
"""

from __future__ import annotations

import numpy as np

from autograder.checks import (
    Context,
    Failed,
    array_check,
    check,
    close_check,
    same_as_reference,
    unpack,
)
from autograder.numeric import centered_difference, perturbed
from autograder.sandbox import Opaque, Ref

N, D, H, C = 6, 4, 5, 3
HEADS = {"softmax": C, "bce": 2}


def _shapes(loss: str, d: int = D, h: int = H) -> dict[str, tuple[int, ...]]:
    out = 1 if loss == "bce" else HEADS[loss]
    return {"W1": (d, h), "b1": (h,), "W2": (h, out), "b2": (out,)}


def _build(ctx: Context, handle: str, loss: str, reg: float = 0.0, **kwargs) -> Ref:
    ctx.sandbox.call("two_layer_net.TwoLayerNet", D, H, HEADS[loss], reg=reg, loss=loss,
                     keep=handle, **kwargs)
    return Ref((handle,))


def _params(rng: np.random.Generator, loss: str) -> dict[str, np.ndarray]:
    """Parameters with every entry well away from zero, biases included."""
    return {name: rng.uniform(0.2, 0.8, shape) * rng.choice([-1.0, 1.0], shape)
            for name, shape in _shapes(loss).items()}


def _fixed_nets(ctx: Context, check_id: str, loss: str, reg: float = 0.0):
    """The submission's net and the reference net, both with the same drawn parameters."""
    rng = ctx.rng(f"{check_id}/{loss}")
    params = _params(rng, loss)
    _build(ctx, check_id, loss, reg)
    for name, value in params.items():
        ctx.sandbox.set_param(check_id, name, value)
    reference = ctx.ref["two_layer_net"].TwoLayerNet(D, H, HEADS[loss], reg=reg, loss=loss)
    reference.params = {name: value.copy() for name, value in params.items()}
    X = rng.standard_normal((N, D))
    y = rng.integers(0, HEADS[loss], size=N)
    return Ref((check_id,)), reference, X, y


@check("TwoLayerNet_init", "TwoLayerNet: params have the documented shapes, for both heads",
       "two_layer_net")
def init_shapes(ctx: Context) -> str | None:
    for loss in HEADS:
        net = _build(ctx, "init", loss, seed=3)
        params = ctx.sandbox.get(net["params"])
        if not isinstance(params, dict):
            what = params.description if isinstance(params, Opaque) else type(params).__name__
            raise Failed(f"TwoLayerNet: params is {what}, expected a dict of arrays.")
        for name, shape in _shapes(loss).items():
            if name not in params:
                raise Failed(f"TwoLayerNet: params has no {name!r} (loss={loss!r}); expected "
                             f"keys W1, b1, W2, b2.")
            array_check("TwoLayerNet", f"params[{name!r}] (D={D}, H={H}, loss={loss!r})",
                        params[name], shape)
        again = ctx.sandbox.get(_build(ctx, "init_again", loss, seed=3)["params"])
        if not isinstance(again, dict) or not all(
                np.array_equal(params[k], again.get(k)) for k in params):
            raise Failed("TwoLayerNet: two nets built with the same seed start with different "
                         "parameters; draw them with np.random.default_rng(seed).")
    return None


def _scores(loss: str):
    def run(ctx: Context) -> str | None:
        net, reference, X, _ = _fixed_nets(ctx, f"scores_{loss}", loss)
        got = ctx.sandbox.call(f"${net.path[0]}.loss", X)
        name = f"scores {(N, C)}" if loss == "softmax" else f"probs {(N,)}"
        return close_check("TwoLayerNet", f"{name} from loss(X) (loss={loss!r})", got,
                           reference.loss(X))
    return run


check("TwoLayerNet_scores", "TwoLayerNet: loss(X) gives the reference scores (softmax head)",
      "two_layer_net")(_scores("softmax"))
check("TwoLayerNet_probs", "TwoLayerNet: loss(X) gives the reference probabilities (bce head)",
      "two_layer_net")(_scores("bce"))


@check("TwoLayerNet_loss", "TwoLayerNet: loss(X, y) is the data loss plus "
       "0.5 * reg * (sum W1**2 + sum W2**2), for both heads", "two_layer_net")
def loss_value(ctx: Context) -> str | None:
    notes = []
    for loss in HEADS:
        net, reference, X, y = _fixed_nets(ctx, f"loss_{loss}", loss, reg=0.3)
        value, _ = unpack("TwoLayerNet.loss", ctx.sandbox.call(f"${net.path[0]}.loss", X, y),
                          ("loss", "grads"))
        expected, _ = reference.loss(X, y)
        p = reference.params
        penalty = 0.15 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        biases = 0.15 * (np.sum(p["b1"] ** 2) + np.sum(p["b2"] ** 2))
        notes.append(close_check(
            "TwoLayerNet.loss", f"loss (loss={loss!r}, reg=0.3)", value, expected,
            mistakes={"the regularization term is missing": expected - penalty,
                      "the regularization term lacks the factor 0.5": expected + penalty,
                      "the biases are regularized too": expected + biases}))
    return "; ".join(notes)


def _gradients(loss: str):
    def run(ctx: Context) -> str | None:
        net, reference, X, y = _fixed_nets(ctx, f"grads_{loss}", loss, reg=0.3)
        _, grads = unpack("TwoLayerNet.loss", ctx.sandbox.call(f"${net.path[0]}.loss", X, y),
                          ("loss", "grads"))
        if not isinstance(grads, dict):
            raise Failed(f"TwoLayerNet.loss: grads is a {type(grads).__name__}, expected a "
                         f"dict with the keys of params.")
        # The submission's own loss is the yardstick only when it is the right loss.
        own_loss_works = bool(ctx.passed.get("TwoLayerNet_loss"))
        what = ("the numeric gradient of its own loss" if own_loss_works else
                "the numeric gradient of the reference loss")
        note = "" if own_loss_works else (" (its loss(X, y) does not pass its value test, "
                                          "so the reference's is used)")
        notes = []
        for name, value in list(reference.params.items()):
            if name not in grads:
                raise Failed(f"TwoLayerNet.loss: grads has no {name!r}, expected the keys of "
                             f"params (loss={loss!r}).")
            reference_losses = _reference_losses(reference, name, X, y)
            if own_loss_works:
                losses = ctx.sandbox.param_losses(net.path[0], name, perturbed(value), X, y)
                array_check("TwoLayerNet.loss", "loss on perturbed parameters", losses,
                            (2 * value.size,))
                same_as_reference("TwoLayerNet.loss", f"its losses next to the test point "
                                  f"(perturbed {name})", losses, reference_losses)
            else:
                losses = reference_losses
            expected = centered_difference(losses, value.shape)
            mistakes = {}
            if name.startswith("W"):
                mistakes = {"the regularization gradient reg * W is missing":
                            expected - 0.3 * value,
                            "the regularization gradient is 2 * reg * W, not reg * W":
                            expected + 0.3 * value}
            try:
                notes.append(close_check("TwoLayerNet.loss", f"grads[{name!r}] {value.shape} "
                                         f"(loss={loss!r}, reg=0.3)", grads[name], expected,
                                         what=what, mistakes=mistakes))
            except Failed as failure:
                raise Failed(str(failure) + note) from None
        return "; ".join(notes) + note
    return run


def _reference_losses(reference, name: str, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The reference net's loss with params[name] set to each row of perturbed(params[name])."""
    original = reference.params[name]
    try:
        losses = []
        for row in perturbed(original):
            reference.params[name] = row
            losses.append(reference.loss(X, y)[0])
        return np.array(losses)
    finally:
        reference.params[name] = original


check("TwoLayerNet_gradients_softmax", "TwoLayerNet: every gradient matches the numeric "
      "gradient (softmax head, reg > 0, nonzero biases)", "two_layer_net",
      needs=("TwoLayerNet_loss",))(_gradients("softmax"))
check("TwoLayerNet_gradients_bce", "TwoLayerNet: every gradient matches the numeric "
      "gradient (bce head, reg > 0, nonzero biases)", "two_layer_net",
      needs=("TwoLayerNet_loss",))(_gradients("bce"))


@check("TwoLayerNet_initial_loss", "TwoLayerNet: with small weights the initial loss is "
       "about log(C)", "two_layer_net")
def initial_loss(ctx: Context) -> str | None:
    rng = ctx.rng("TwoLayerNet_initial_loss")
    notes = []
    for loss, classes in (("softmax", 10), ("bce", 2)):
        ctx.sandbox.call("two_layer_net.TwoLayerNet", 20, 30, classes, weight_scale=1e-3,
                         loss=loss, seed=0, keep="initial")
        X = rng.standard_normal((100, 20))
        y = rng.integers(0, classes, size=100)
        value, _ = unpack("TwoLayerNet.loss", ctx.sandbox.call("$initial.loss", X, y),
                          ("loss", "grads"))
        notes.append(close_check("TwoLayerNet.loss", f"initial loss (loss={loss!r}, "
                                 f"weight_scale=1e-3)", value, np.log(classes),
                                 what=f"log(C) = log({classes})", tol=1e-3))
    return "; ".join(notes)


@check("TwoLayerNet_predict", "TwoLayerNet: predict gives the reference labels, for both heads",
       "two_layer_net")
def predict(ctx: Context) -> str | None:
    for loss in HEADS:
        net, reference, X, _ = _fixed_nets(ctx, f"predict_{loss}", loss)
        got = ctx.sandbox.call(f"${net.path[0]}.predict", X)
        array_check("TwoLayerNet.predict", f"y_pred (loss={loss!r})", got, (N,))
        expected = reference.predict(X)
        if not np.array_equal(np.asarray(got), expected):
            raise Failed(f"TwoLayerNet.predict: got {np.asarray(got).tolist()}, expected "
                         f"{expected.tolist()} (loss={loss!r}: the class with the highest "
                         f"score, or 1 where the probability is at least 0.5).")
    return None


@check("train_history", "train: history has one loss per step and one accuracy per epoch",
       "two_layer_net")
def history(ctx: Context) -> str | None:
    rng = ctx.rng("train_history")
    X, y = rng.standard_normal((50, D)), rng.integers(0, C, size=50)
    ctx.sandbox.call("two_layer_net.TwoLayerNet", D, H, C, seed=0, keep="history_net")
    result = ctx.sandbox.call("two_layer_net.train", Ref(("history_net",)), X, y, X[:10],
                              y[:10], learning_rate=0.1, num_epochs=3, batch_size=16, seed=0)
    if not isinstance(result, dict):
        what = result.description if isinstance(result, Opaque) else type(result).__name__
        raise Failed(f"train: returned {what}, expected a dict history.")
    steps = 3 * 4  # 50 examples in batches of 16: 4 steps per epoch
    for key, length in (("loss", steps), ("train_acc", 3), ("val_acc", 3)):
        got = result.get(key)
        size = np.size(got) if isinstance(got, (np.ndarray, list, tuple)) else None
        if size != length:
            raise Failed(f"train: history[{key!r}] has {size if size is not None else 'no'} "
                         f"entries, expected {length} (3 epochs of 50 examples in batches of "
                         f"16: {steps} steps).")
    return None
