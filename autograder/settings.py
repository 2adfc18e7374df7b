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
    kind: type                       # int, float or str
    default: Any                     # None: required (or, for weight_scale, "He init")
    description: str
    low: float | None = None         # inclusive bounds for numbers
    high: float | None = None
    choices: tuple[str, ...] = ()    # allowed strings

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be this setting (what was expected), or None."""
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
    Setting("train_timeout", float, 30.0, "seconds for one call to train", 0.1, 3600),
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
    Setting("hidden_dim", int, None, "H, hidden units", 1, 4096),
    Setting("learning_rate", float, None, "SGD step size", 1e-8, 100),
    Setting("num_epochs", int, None, "passes over the training set", 1, 10_000),
    Setting("batch_size", int, None, "minibatch size", 1, 1_000_000),
    Setting("lr_decay", float, None, "learning rate multiplied by this after every epoch",
            1e-6, 1),
    Setting("reg", float, None, "L2 strength", 0, 100),
    Setting("weight_scale", float, None, "std of the initial weights (absent: He init)",
            1e-12, 100),
    Setting("init_seed", int, None, "TwoLayerNet(..., seed=init_seed)", 0, 2**32 - 1),
    Setting("shuffle_seed", int, None, "train(..., seed=shuffle_seed)", 0, 2**32 - 1),
    Setting("loss", str, None, "the net's head", choices=("softmax", "bce")),
)
OPTIONAL_HYPERPARAMETERS = ("weight_scale",)

POINTS = Setting("points", float, 0, "points of a test", 0, 1000)
THRESHOLD = Setting("threshold", float, None, "test accuracy that earns the points", 0, 1)
SEED = Setting("seed", int, 0, "the seed of the inputs drawn at grade time", 0, 2**32 - 1)

LIMIT_DEFAULTS = {s.key: s.default for s in LIMITS}
