"""Training on the frozen datasets: the submission's own net and trainer, the rubric's
hyperparameters, accuracy on the held-out split against the threshold.

The worker gets the training split and the held-out inputs; the held-out
labels stay in the grading process, which computes the accuracy itself.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

import numpy as np

from autograder.checks import Check, Context, Failed, array_check
from autograder.paths import DATA
from autograder.rubric import DatasetRule
from autograder.sandbox import Ref


class DataError(RuntimeError):
    """A frozen dataset is missing or does not match its manifest: the grader's fault."""


@cache
def load_dataset(name: str) -> dict[str, np.ndarray]:
    """X_train (N, D), y_train (N,), X_test (M, D), y_test (M,), checked against the manifest."""
    path = DATA / f"{name}.npz"
    try:
        manifest = json.loads((DATA / "manifest.json").read_text())["datasets"][name]
        raw = path.read_bytes()
    except (OSError, KeyError, ValueError) as error:
        raise DataError(f"cannot read dataset {name!r}: {error}") from None
    if hashlib.sha256(raw).hexdigest() != manifest["sha256"]:
        raise DataError(f"{path} does not match the sha256 in data/manifest.json; "
                        f"regenerate with python data/make_datasets.py")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in ("X_train", "y_train", "X_test", "y_test")}


def training_check(rule: DatasetRule, timeout: float) -> Check:
    """The check for one dataset, named after it and its threshold."""
    def run(ctx: Context) -> str | None:
        data = load_dataset(rule.name)
        hp = rule.hyperparameters
        handle = f"train_{rule.name}"
        classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
        ctx.sandbox.call("two_layer_net.TwoLayerNet", data["X_train"].shape[1],
                         hp["hidden_dim"], classes, weight_scale=hp.get("weight_scale"),
                         reg=hp["reg"], loss=hp["loss"], seed=hp["init_seed"], keep=handle)
        ctx.sandbox.call("two_layer_net.train", Ref((handle,)), data["X_train"],
                         data["y_train"], learning_rate=hp["learning_rate"],
                         num_epochs=hp["num_epochs"], batch_size=hp["batch_size"],
                         lr_decay=hp["lr_decay"], seed=hp["shuffle_seed"], timeout=timeout)
        predictions = ctx.sandbox.call(f"${handle}.predict", data["X_test"])
        array_check("TwoLayerNet.predict", f"y_pred on the {rule.name} test inputs",
                    predictions, data["y_test"].shape)
        accuracy = float(np.mean(np.asarray(predictions) == data["y_test"]))
        summary = f"{rule.name} test accuracy {accuracy:.3f}, threshold {rule.threshold:.2f}"
        if accuracy < rule.threshold:
            raise Failed(f"train: {summary}: the trained net is not accurate enough (check the "
                         f"ReLU, the gradients and the update params -= learning_rate * grads).")
        return summary

    return Check(f"train_{rule.name}",
                 f"train: {rule.name} test accuracy reaches {rule.threshold:.2f}",
                 "two_layer_net", run)

