"""Training a net on one frozen dataset, written once.

One dataset's resolved hyperparameters (the rubric's ``[training]`` table
with the dataset's overrides) say which net to build, how ``train`` runs and
how the result is scored. The grader's training checks (the reference side:
initial weights, held-out score), ``data/make_datasets.py`` (the manifest's
reference scores over seeds) and ``benchmarks/bench_grading.py`` (its
training peer) all go through these functions, so they cannot drift apart.

A dataset is a dict of arrays: ``X_train (N, D)``, ``X_test (M, D)`` and either
integer labels ``y_train (N,)``, ``y_test (M,)`` (classification, scored by
accuracy) or real targets ``y_train (N, K)``, ``y_test (M, K)`` (regression,
``loss = "mse"``, scored by R^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from autograder.reference import initial_params as reference_initial_params
from autograder.reference import net_with, reference
from autograder.settings import optional

METRIC_OF_LOSS = {"softmax": "accuracy", "bce": "accuracy", "mse": "r2"}


@dataclass(frozen=True)
class NetSpec:
    """A net's constructor call: ``module.name(*args, **kwargs)``, the same in the
    grading process (the reference) and in the worker (the submission)."""

    module: str                     # "two_layer_net" or "fc_net"
    name: str                       # "TwoLayerNet" or "FullyConnectedNet"
    args: tuple
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"{self.module}.{self.name}"


def metric(hyper: dict[str, Any]) -> str:
    """"accuracy" or "r2": what the dataset's threshold is a threshold of."""
    return METRIC_OF_LOSS[hyper["loss"]]


def outputs(hyper: dict[str, Any], data: dict[str, np.ndarray]) -> int:
    """The net's num_classes: C classes (one more than the largest label), or the
    K columns of a regression target."""
    if metric(hyper) == "r2":
        return int(data["y_train"].shape[1])
    return int(max(data["y_train"].max(), data["y_test"].max())) + 1


def net_spec(hyper: dict[str, Any], data: dict[str, np.ndarray],
             init_seed: int | None = None) -> NetSpec:
    """The net to train on ``data``; ``init_seed`` replaces hyper["init_seed"]."""
    seed = hyper["init_seed"] if init_seed is None else init_seed
    kwargs = {"weight_scale": optional(hyper, "weight_scale"), "reg": hyper["reg"],
              "loss": hyper["loss"], "seed": seed}
    d, out = int(data["X_train"].shape[1]), outputs(hyper, data)
    if optional(hyper, "model") == "fc":
        return NetSpec("fc_net", "FullyConnectedNet", (d, list(hyper["hidden_dims"]), out),
                       kwargs)
    return NetSpec("two_layer_net", "TwoLayerNet", (d, hyper["hidden_dim"], out), kwargs)


def train_arguments(hyper: dict[str, Any], shuffle_seed: int | None = None) -> dict[str, Any]:
    """The keyword arguments of train(model, X, y, ...); ``shuffle_seed`` replaces
    hyper["shuffle_seed"]."""
    return {"learning_rate": hyper["learning_rate"], "num_epochs": hyper["num_epochs"],
            "batch_size": hyper["batch_size"], "lr_decay": hyper["lr_decay"],
            "seed": hyper["shuffle_seed"] if shuffle_seed is None else shuffle_seed}


def _reference_class(spec: NetSpec, modules: dict[str, ModuleType] | None) -> type:
    return getattr((modules or reference())[spec.module], spec.name)


def build(spec: NetSpec, modules: dict[str, ModuleType] | None = None):
    """The reference net ``spec`` describes, with its own initial weights."""
    return _reference_class(spec, modules)(*spec.args, **spec.kwargs)


def initial_params(spec: NetSpec, modules: dict[str, ModuleType] | None = None
                   ) -> dict[str, np.ndarray]:
    """The initial weights of the reference net ``spec`` describes (read-only: drawn
    once per grading process, from the spec's seed)."""
    return reference_initial_params(_reference_class(spec, modules), *spec.args, **spec.kwargs)


def with_params(spec: NetSpec, params: dict[str, np.ndarray],
                modules: dict[str, ModuleType] | None = None):
    """The reference net ``spec`` describes, holding float64 copies of ``params``."""
    return net_with(_reference_class(spec, modules), params, *spec.args, **spec.kwargs)


def r2_score(y: np.ndarray, predictions: np.ndarray) -> float:
    """1 - SS_res / SS_tot over every entry of ``y`` (M, K), in float64; SS_tot is
    taken about each column's mean. Non-finite predictions give -inf."""
    y = np.asarray(y, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64).reshape(y.shape)
    if not np.all(np.isfinite(predictions)):
        return -np.inf
    ss_res = float(np.sum((y - predictions) ** 2))
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot


def score(net: Any, X: np.ndarray, y: np.ndarray, which: str) -> float:
    """The trained ``net``'s test accuracy or R^2 on (X, y), from its forward pass."""
    with np.errstate(all="ignore"):  # weights a diverged train left may overflow
        predictions = net.predict(X)
    if which == "r2":
        return r2_score(y, predictions)
    return float(np.mean(predictions == y))


def train_reference(hyper: dict[str, Any], data: dict[str, np.ndarray],
                    init_seed: int | None = None, shuffle_seed: int | None = None,
                    modules: dict[str, ModuleType] | None = None) -> float:
    """Train the reference net on data's training split with the reference train;
    its score on the test split.

    The seeds given replace hyper's init_seed and shuffle_seed.
    """
    modules = modules or reference()
    net = build(net_spec(hyper, data, init_seed), modules)
    modules["two_layer_net"].train(net, data["X_train"], data["y_train"],
                                   **train_arguments(hyper, shuffle_seed))
    return score(net, data["X_test"], data["y_test"], metric(hyper))
