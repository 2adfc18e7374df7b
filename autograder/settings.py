"""Every number the rubric sets, declared once: key, type, bounds, default, description.

``autograder.rubric`` validates [limits] and [training] against these,
``autograder.sandbox.Limits`` takes its defaults from them, and
``data/make_datasets.py`` checks [training] with the same declarations, so
the grader and the data tooling never disagree about what a value may be.
This module imports nothing of the package's: everyone may import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One rubric key: what it is, what it may be, and what it is when left out."""

    key: str
    kind: type                       # int, float, str or list (of integers)
    default: Any                     # None: required, unless listed in OPTIONAL_HYPERPARAMETERS
    description: str
    low: float | None = None         # inclusive bounds for numbers (a list's items)
    high: float | None = None
    choices: tuple[str, ...] = ()    # allowed strings
    max_items: int = 0               # a list's longest length

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be this setting (what was expected), or None."""
        if self.kind is list:
            expected = f"a list of at most {self.max_items} integers in {self.bounds()}"
            if not isinstance(value, list) or len(value) > self.max_items or any(
                    isinstance(v, bool) or not isinstance(v, int) or not self.low <= v <= self.high
                    for v in value):
                return expected
            return None
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                return f"one of {', '.join(map(repr, self.choices))}"
            return None
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (self.kind is int and not isinstance(value, int)):
            return f"{'an integer' if self.kind is int else 'a number'} in {self.bounds()}"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"a finite {'integer' if self.kind is int else 'number'} in {self.bounds()}"
        return None

    def bounds(self) -> str:
        return f"[{self.low:g}, {self.high:g}]"


LIMITS = (
    Setting("call_timeout", float, 10.0, "seconds for one call into the submission", 0.1, 600),
    Setting("train_timeout", float, 30.0,
            "seconds for one training run: building the net, train, reading its params back",
            0.1, 3600),
    Setting("submission_timeout", float, 120.0, "seconds for all checks of one submission",
            1, 7200),
    Setting("memory_mb", int, 1024, "memory of the submission's process, MiB", 128, 65536),
    Setting("cpu_seconds", int, 60, "CPU time of the submission's process, s", 1, 7200),
    Setting("output_bytes", int, 1_000_000, "what the submission may print or write, bytes",
            1000, 100_000_000),
    Setting("disk_mb", int, 64, "what the submission may write into its folder, MiB", 1, 4096),
    Setting("processes", int, 2, "processes and threads of the worker's own uid when "
            "grading as root; the worker itself is 2, so 2 lets submissions start none", 2,
            4096),
)

HYPERPARAMETERS = (
    Setting("model", str, "two_layer", "the net trained: TwoLayerNet(D, hidden_dim, ...) or, "
            "with \"fc\", FullyConnectedNet(D, hidden_dims, ...)", choices=("two_layer", "fc")),
    Setting("hidden_dim", int, None, "H, hidden units of TwoLayerNet", 1, 4096),
    Setting("hidden_dims", list, None, "hidden widths of FullyConnectedNet (model = \"fc\")",
            1, 4096, max_items=8),
    Setting("learning_rate", float, None, "SGD step size", 1e-8, 100),
    Setting("num_epochs", int, None, "passes over the training set", 1, 10_000),
    Setting("batch_size", int, None, "minibatch size", 1, 1_000_000),
    Setting("lr_decay", float, None, "learning rate multiplied by this after every epoch",
            1e-6, 1),
    Setting("reg", float, None, "L2 strength", 0, 100),
    Setting("weight_scale", float, None, "std of the initial weights (absent: He init)",
            1e-12, 100),
    Setting("init_seed", int, None, "the net's seed=init_seed: its initial weights", 0,
            2**32 - 1),
    Setting("shuffle_seed", int, None, "train(..., seed=shuffle_seed)", 0, 2**32 - 1),
    Setting("loss", str, None, "the net's head: \"mse\" for a regression dataset (graded by "
            "test R^2), else \"softmax\" or \"bce\" (graded by test accuracy)",
            choices=("softmax", "bce", "mse")),
)
# The rubric may leave these out: they then mean their default (weight_scale None:
# He init; hidden_dims None: only model = "fc" needs it, see combination_problems).
# Use optional(hyper, key) to read one.
OPTIONAL_HYPERPARAMETERS = ("model", "hidden_dims", "weight_scale")

POINTS = Setting("points", float, 0, "points of a test", 0, 1000)
THRESHOLD = Setting("threshold", float, None, "test accuracy (R^2 for loss = \"mse\") that "
                    "earns the points", 0, 1)
SEED = Setting("seed", int, 0, "the seed of the inputs drawn at grade time", 0, 2**32 - 1)

LIMIT_DEFAULTS = {s.key: s.default for s in LIMITS}
OPTIONAL_DEFAULTS = {s.key: s.default for s in HYPERPARAMETERS
                     if s.key in OPTIONAL_HYPERPARAMETERS}


def optional(hyper: dict[str, Any], key: str) -> Any:
    """An optional hyperparameter of one dataset: its value, or its declared default."""
    return hyper.get(key, OPTIONAL_DEFAULTS[key])


def combination_problems(hyper: dict[str, Any], regression: bool) -> list[tuple[str, str]]:
    """``(key, what was expected)`` for each value of one dataset's resolved
    hyperparameters that does not fit the others or the dataset (``regression``:
    its targets are real numbers); each value is assumed valid on its own."""
    problems = []
    loss, model = hyper.get("loss"), optional(hyper, "model")
    if regression and loss != "mse":
        problems.append(("loss", '"mse" (this dataset is a regression)'))
    if not regression and loss == "mse":
        problems.append(("loss", '"softmax" or "bce" (this dataset is a classification)'))
    if loss == "mse" and model != "fc":
        problems.append(("model", '"fc" with loss = "mse" (TwoLayerNet has no regression '
                                  'head)'))
    if model == "fc" and optional(hyper, "hidden_dims") is None:
        problems.append(("hidden_dims", 'a list of hidden widths with model = "fc"'))
    return problems
