"""Checks of ``train``: the SGD it does, its history, and what it learns on frozen data.

``train`` is judged twice. On its own: it trains a probe model whose loss
the grading process computes, and must end with exactly the parameters the
documented minibatch SGD gives. Then with the submission's net, on each
frozen dataset (TwoLayerNet on the classification sets, FullyConnectedNet
with the mse head on the regression sets, as the rubric says): the grader
takes the trained parameters back and computes the held-out accuracy or R^2
itself with the reference forward pass. The held-out data never reaches the
worker, and nothing the submission reports (its history, ``predict``) counts.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import numpy as np

from autograder import training_run
from autograder.checks import Check, Context, Failed, close_check, describe
from autograder.checks.net import PARAM_NAMES, layer_check_ids, reference_net
from autograder.errors import DataError
from autograder.paths import DATA, IN_CHECKOUT
from autograder.sandbox import Ref

# The frozen data comes from the checkout's generator, or inside the installed package.
REPAIR = ("regenerate it with python data/make_datasets.py" if IN_CHECKOUT else
          "reinstall the package (pip install --force-reinstall backprop-hw, or . from a "
          "checkout)")


@cache
def load_dataset(name: str) -> dict[str, np.ndarray]:
    """X_train (N, D), y_train (N,), X_test (M, D), y_test (M,), checked against the manifest."""
    path = DATA / f"{name}.npz"
    try:
        manifest = json.loads((DATA / "manifest.json").read_text())["datasets"][name]
        raw = path.read_bytes()
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise DataError(f"cannot read dataset {name!r}: {error}; {REPAIR}") from None
    if hashlib.sha256(raw).hexdigest() != manifest.get("sha256"):
        raise DataError(f"{path} does not match the sha256 in {DATA / 'manifest.json'}; "
                        f"{REPAIR}")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in ("X_train", "y_train", "X_test", "y_test")}


# -- the probe: train on its own ------------------------------------------------

# Three epochs of a full and a smaller batch: step counts of a skipped last batch (3), an
# epoch too few (4) and too many (8) all differ, and three learning rates tell lr_decay's
# schedules apart (0.7, not 0.5: lr / (1 + epoch) and lr * (1 - lr_decay) differ too).
PROBE = {"n": 12, "d": 4, "h": 5, "classes": 3, "num_epochs": 3, "batch_size": 8,
         "learning_rate": 0.5, "lr_decay": 0.7, "seed": 7, "reg": 0.01}


def _probe_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    p = PROBE
    shapes = {"W1": (p["d"], p["h"]), "b1": (p["h"],), "W2": (p["h"], p["classes"]),
              "b2": (p["classes"],)}
    return {name: 0.5 * rng.standard_normal(shape) for name, shape in shapes.items()}


def _checked_params(function: str, params: Any, shapes: dict[str, tuple[int, ...]]
                    ) -> dict[str, np.ndarray]:
    """``params`` as float64 arrays of ``shapes``, or Failed saying what is wrong."""
    if not isinstance(params, dict):
        raise Failed(f"{function}: model.params is {describe(params)}, expected a dict of "
                     f"arrays.")
    found = {}
    for name, shape in shapes.items():
        value = params.get(name)
        if not isinstance(value, np.ndarray) or value.shape != shape:
            raise Failed(f"{function}: model.params[{name!r}] is {describe(value)}, expected "
                         f"an array of shape {shape}.")
        if not np.all(np.isfinite(value)):
            raise Failed(f"{function}: model.params[{name!r}] has non-finite entries after "
                         f"training (the loss diverged?).")
        found[name] = value.astype(np.float64)
    return found


def _probe_answer(ctx: Context, shapes: dict[str, tuple[int, ...]], X_train: np.ndarray,
                  steps: list[np.ndarray]):
    """The grading process's side of the probe model: the reference net's loss and predict.

    Every loss(X, y) on training rows is recorded in ``steps`` as the rows' indices.
    """
    rows = {row.tobytes(): i for i, row in enumerate(X_train)}

    def answer(name: str, args: list[Any]) -> Any:
        if name not in ("probe_loss", "probe_predict") or len(args) != (
                3 if name == "probe_loss" else 2):
            raise ValueError(f"{name} cannot be called that way")
        try:
            params = _checked_params("train", args[0], shapes)
        except Failed as failure:
            raise ValueError(str(failure)) from None
        X = np.asarray(args[1], dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != shapes["W1"][0] or X.shape[0] > 10_000:
            raise ValueError(f"X has shape {X.shape}, expected (N, {shapes['W1'][0]})")
        net = reference_net(ctx, params, "softmax", PROBE["reg"], PROBE["classes"])
        if name == "probe_predict":
            return net.predict(X)
        y = args[2]
        if y is None:
            return net.loss(X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (X.shape[0],) or not np.all(np.isin(y, np.arange(PROBE["classes"]))):
            raise ValueError(f"y must hold {X.shape[0]} labels in [0, {PROBE['classes']})")
        steps.append(np.array([rows.get(row.tobytes(), -1) for row in X]))
        return net.loss(X, y.astype(np.int64))
    return answer


def _probe_data(ctx: Context) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rng = ctx.rng("train/probe")
    X = rng.standard_normal((PROBE["n"], PROBE["d"]))
    y = rng.integers(0, PROBE["classes"], size=PROBE["n"])
    return X, y, _probe_params(rng)


def _run_probe(ctx: Context, handle: str, timeout: float, validation: bool
               ) -> tuple[Any, dict[str, np.ndarray], list[np.ndarray]]:
    """Run the submission's train on a probe model.

    Returns its history, the final params and the batches (row indices) of its steps.
    """
    X, y, params = _probe_data(ctx)
    shapes = {name: value.shape for name, value in params.items()}
    steps: list[np.ndarray] = []
    ctx.probe = _probe_answer(ctx, shapes, X, steps)
    model = ctx.sandbox.probe_model(handle, params)
    extra = (X[:10], y[:10]) if validation else ()
    history = ctx.sandbox.call(
        "two_layer_net.train", model, X, y, *extra, learning_rate=PROBE["learning_rate"],
        num_epochs=PROBE["num_epochs"], batch_size=PROBE["batch_size"],
        lr_decay=PROBE["lr_decay"], seed=PROBE["seed"], timeout=timeout, limit="training")
    final = ctx.sandbox.get(Ref((handle, "params")))
    return history, _checked_params("train", final, shapes), steps


def _epochs(steps: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The steps grouped by epoch; Failed unless each epoch visits every example once,
    in batches of batch_size (the last one smaller)."""
    n, size, epochs = PROBE["n"], PROBE["batch_size"], PROBE["num_epochs"]
    per_epoch = -(-n // size)
    setting = (f"{epochs} epochs of {n} examples in batches of {size}: {epochs * per_epoch} "
               f"steps")
    if len(steps) == epochs * (n // size) and n % size:
        skipped = "the last, smaller batch of each epoch is skipped"
        raise Failed(f"train: made {len(steps)} steps ({setting}); likely mistake: {skipped}.",
                     mistake=skipped)
    if len(steps) != epochs * per_epoch:
        raise Failed(f"train: called model.loss(X_batch, y_batch) {len(steps)} times, "
                     f"expected {epochs * per_epoch} ({setting}).")
    grouped = [steps[e * per_epoch:(e + 1) * per_epoch] for e in range(epochs)]
    for number, batches in enumerate(grouped, 1):
        sizes = [len(b) for b in batches]
        expected = [size] * (n // size) + ([n % size] if n % size else [])
        if sizes != expected or not np.array_equal(np.sort(np.concatenate(batches)),
                                                   np.arange(n)):
            raise Failed(f"train: epoch {number} does not walk through every training example "
                         f"exactly once in batches of batch_size (batch sizes {sizes}, "
                         f"expected {expected}).")
    orders = [np.concatenate(batches) for batches in grouped]
    if all(np.array_equal(order, np.arange(n)) for order in orders):
        raise Failed("train: the training set is never shuffled; draw a new order at the "
                     "start of every epoch with rng = np.random.default_rng(seed).")
    if all(np.array_equal(order, orders[0]) for order in orders):
        raise Failed("train: every epoch uses the same order; draw a new one at the start of "
                     "every epoch.")
    return grouped


def _replay(ctx: Context, grouped: list[list[np.ndarray]], decay: bool = True
            ) -> dict[str, np.ndarray]:
    """The documented SGD over the batches the submission chose."""
    X, y, params = _probe_data(ctx)
    net = reference_net(ctx, params, "softmax", PROBE["reg"], PROBE["classes"])
    lr = PROBE["learning_rate"]
    for batches in grouped:
        for batch in batches:
            _, grads = net.loss(X[batch], y[batch])
            for name in PARAM_NAMES:
                net.params[name] = net.params[name] - lr * grads[name]
        if decay:
            lr *= PROBE["lr_decay"]
    return net.params


def _train_sgd(timeout: float):
    def run(ctx: Context) -> str | None:
        _, final, steps = _run_probe(ctx, "probe", timeout, validation=False)
        _, again, _ = _run_probe(ctx, "probe_again", timeout, validation=False)
        if not all(np.array_equal(final[k], again[k]) for k in PARAM_NAMES):
            raise Failed("train: two runs with the same seed end with different parameters; "
                         "shuffle with rng = np.random.default_rng(seed), made once before "
                         "the first epoch.")
        _, _, start = _probe_data(ctx)
        if all(np.array_equal(final[k], start[k]) for k in PARAM_NAMES):
            raise Failed("train: model.params did not change: each step must update every "
                         "parameter with -learning_rate times its gradient.")
        grouped = _epochs(steps)
        expected = _replay(ctx, grouped)
        setting = (f"{PROBE['n']} examples, batch_size {PROBE['batch_size']}, "
                   f"{PROBE['num_epochs']} epochs, lr_decay {PROBE['lr_decay']}")

        def compare(no_decay: dict[str, np.ndarray] | None) -> str:
            return "; ".join(close_check(
                "train", f"params[{name!r}] after training ({setting})", final[name],
                expected[name], what="the documented minibatch SGD's on the same batches",
                mistakes=no_decay and {"lr_decay is not applied after each epoch":
                                       no_decay[name]})
                for name in PARAM_NAMES)

        try:
            return compare(None)
        except Failed:  # which known mistake it is: replayed only for a failure
            return compare(_replay(ctx, grouped, decay=False))
    return run


def _entries(value: Any) -> int | None:
    """How many entries a history list holds (whatever they are), or None."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return len(value)
    return None


def _train_history(timeout: float):
    def run(ctx: Context) -> str | None:
        history, _, _ = _run_probe(ctx, "history", timeout, validation=True)
        if not isinstance(history, dict):
            raise Failed(f"train: returned {describe(history)}, expected a dict history.")
        p = PROBE
        steps = p["num_epochs"] * -(-p["n"] // p["batch_size"])
        for key, length in (("loss", steps), ("train_acc", p["num_epochs"]),
                            ("val_acc", p["num_epochs"])):
            got = _entries(history.get(key))
            if got != length:
                raise Failed(f"train: history[{key!r}] has {got if got is not None else 'no'} "
                             f"entries, expected {length} ({p['num_epochs']} epochs of "
                             f"{p['n']} examples in batches of {p['batch_size']}: {steps} "
                             f"steps).")
            for index, entry in enumerate(history[key]):
                if not (isinstance(entry, (float, int, np.floating, np.integer)) or (
                        isinstance(entry, np.ndarray) and entry.shape == ())):
                    raise Failed(f"train: history[{key!r}][{index}] is {describe(entry)}, "
                                 f"expected a float (float(loss), not the array).")
        return None
    return run


def checks(train_timeout: float = 30.0) -> list[Check]:
    layers = layer_check_ids()  # two_layer_net.py imports layers.py: replace failed ones
    return [
        Check("train_sgd", "train", "values", "train: updates params by the documented "
              "minibatch SGD (seeded shuffle every epoch, last batch, lr_decay)",
              "two_layer_net", _train_sgd(train_timeout), needs=layers),
        Check("train_history", "train", "history", "train: history has one loss per step and "
              "one accuracy per epoch", "two_layer_net", _train_history(train_timeout),
              needs=(*layers, "train_sgd"), awarded_if="train_sgd"),
    ]


# -- training on the frozen datasets ---------------------------------------------

METRIC_TEXT = {"accuracy": "test accuracy", "r2": "test R^2"}
FIT_HINT = {"accuracy": "the trained net is not accurate enough (check the net's gradients "
                        "and the update params -= learning_rate * grads)",
            "r2": "the trained net does not fit the held-out targets well enough (check "
                  "FullyConnectedNet's gradients with loss=\"mse\" and the update "
                  "params -= learning_rate * grads)"}


def training_check(rule: Any, timeout: float, needs: tuple[str, ...] = ()) -> Check:
    """The check for one dataset (a rubric DatasetRule), named after it and its threshold.

    The submission's net is built in the worker and set to the reference's initial
    weights (a bug in __init__ costs only __init__'s checks), trained there by the
    submission's train on the training split; the parameters it leaves are read back
    and scored here, on the test split, with the reference forward pass.
    """
    hp = rule.hyperparameters
    which = training_run.metric(hp)
    what = f"{rule.name} {METRIC_TEXT[which]}"

    def run(ctx: Context) -> str | None:
        data = load_dataset(rule.name)
        handle = f"train_{rule.name}"
        spec = training_run.net_spec(hp, data)
        start = training_run.initial_params(spec, ctx.ref)
        trained = ctx.sandbox.build(
            spec.target, *spec.args, keep=handle, params=start, read=("params",),
            then=("two_layer_net.train", (Ref((handle,)), data["X_train"], data["y_train"]),
                  training_run.train_arguments(hp)), timeout=timeout, limit="training",
            **spec.kwargs)
        shapes = {name: value.shape for name, value in start.items()}
        params = _checked_params("train", trained, shapes)
        if all(np.array_equal(params[k], start[k]) for k in start):
            raise Failed(f"train: on {rule.name} model.params did not change from their "
                         f"initial values: train must update the net's parameters.")
        net = training_run.with_params(spec, params, ctx.ref)
        value = training_run.score(net, data["X_test"], data["y_test"], which)
        summary = f"{what} {value:.3f}, threshold {rule.threshold:.2f}"
        if not value >= rule.threshold:  # (a NaN fails too)
            raise Failed(f"train: {summary}: {FIT_HINT[which]}.")
        return summary

    return Check(f"train_{rule.name}", "train", "training",
                 f"train: {what} reaches {rule.threshold:.2f}", "two_layer_net", run,
                 needs=needs, dataset=rule.name)


def dataset_checks(datasets: dict, timeout: float) -> list[Check]:
    return [training_check(rule, timeout, layer_check_ids()) for rule in datasets.values()]
