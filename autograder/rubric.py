"""The rubric: points, visibility, limits, thresholds and training hyperparameters.

It is data (autograder/rubric.toml), loaded and validated here, so that an
instructor can change what a test is worth without touching code. Every
problem found is reported at once, each naming the key and what was expected.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import settings
from autograder.errors import UsageError
from autograder.paths import DATA, RUBRIC
from autograder.sandbox import Limits
from autograder.settings import Setting

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
HYPERPARAMETERS = {s.key: s for s in settings.HYPERPARAMETERS}
LIMITS = {s.key: s for s in settings.LIMITS}


class RubricError(UsageError):
    """The rubric file is missing, unreadable, or says something the grader cannot use."""


@dataclass(frozen=True)
class TestRule:
    points: float
    visibility: str


@dataclass(frozen=True)
class DatasetRule:
    """How to grade training on one frozen dataset."""

    name: str
    points: float
    threshold: float
    hyperparameters: dict[str, Any]
    visibility: str


@dataclass(frozen=True)
class Rubric:
    seed: int
    limits: Limits
    train_timeout: float
    tests: dict[str, TestRule]
    datasets: dict[str, DatasetRule]
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return (sum(t.points for t in self.tests.values())
                + sum(d.points for d in self.datasets.values()))


def _valid(setting: Setting, value: Any, where: str, problems: _Problems) -> bool:
    expected = setting.problem(value)
    return problems.expect(expected is None, where, expected or "", value)


class _Problems(list):
    def expect(self, ok: bool, where: str, expected: str, got: Any) -> bool:
        if not ok:
            self.append(f"{where}: expected {expected}, got {got!r}")
        return ok


def _visibility(table: dict, where: str, default: str, problems: _Problems) -> str:
    value = table.get("visibility", default)
    problems.expect(value in VISIBILITIES, f"{where}.visibility", f"one of {VISIBILITIES}", value)
    return value


def _points(value: Any, where: str, problems: _Problems) -> float:
    return float(value) if _valid(settings.POINTS, value, where, problems) else 0.0


def _tests(raw: dict, known: dict[str, str], default: str, problems: _Problems) -> dict:
    tests = {}
    for test_id, value in raw.items():
        where = f"[tests] {test_id}"
        if test_id not in known:
            problems.append(f"{where}: no such test; known tests are {', '.join(known)}")
            continue
        table = value if isinstance(value, dict) else {"points": value}
        for key in set(table) - {"points", "visibility"}:
            problems.append(f"{where}.{key}: unknown key (expected points, visibility)")
        tests[test_id] = TestRule(_points(table.get("points"), f"{where}.points", problems),
                                  _visibility(table, where, default, problems))
    for test_id in known:
        if test_id not in raw:
            problems.append(f"[tests] {test_id}: missing; give it points (0 leaves it out)")
    return tests


def _hyperparameters(table: dict, where: str, problems: _Problems) -> dict[str, Any]:
    found = {}
    for key, setting in HYPERPARAMETERS.items():
        if key in table and _valid(setting, table[key], f"{where}.{key}", problems):
            found[key] = table[key]
    return found


def _datasets(training: dict, manifest: dict, default: str, problems: _Problems) -> dict:
    defaults = _hyperparameters(training, "[training]", problems)
    # A default already reported as invalid is not reported again as missing in every dataset.
    reported = {key for key in HYPERPARAMETERS if key in training and key not in defaults}
    for key in set(training) - set(HYPERPARAMETERS) - {"datasets"}:
        problems.append(f"[training].{key}: unknown key")
    datasets = {}
    for name, table in training.get("datasets", {}).items():
        where = f"[training.datasets.{name}]"
        if name not in manifest:
            problems.append(f"{where}: no such dataset in {DATA / 'manifest.json'} "
                            f"(have {', '.join(manifest)})")
            continue
        for key in set(table) - set(HYPERPARAMETERS) - {"points", "threshold", "visibility"}:
            problems.append(f"{where}.{key}: unknown key")
        threshold = table.get("threshold", "manifest")
        if threshold == "manifest":
            threshold = manifest[name]["threshold"]
        if settings.THRESHOLD.problem(threshold):
            problems.append(f"{where}.threshold: expected \"manifest\" or a number in [0, 1], "
                            f"got {threshold!r}")
        hyper = {**defaults, **_hyperparameters(table, where, problems)}
        missing = HYPERPARAMETERS.keys() - set(settings.OPTIONAL_HYPERPARAMETERS) - hyper.keys()
        for key in sorted(missing - reported):
            problems.append(f"{where}: no {key} here or in [training]")
        regression = manifest[name].get("task") == "regression"
        for key, expected in ([] if missing else
                              settings.combination_problems(hyper, regression)):
            problems.append(f"{where}.{key}: expected {expected}, got {hyper.get(key)!r}")
        datasets[name] = DatasetRule(name, _points(table.get("points"), f"{where}.points",
                                                   problems),
                                     float(threshold) if not settings.THRESHOLD.problem(
                                         threshold) else 1.0,
                                     hyper, _visibility(table, where, default, problems))
    return datasets


def load_rubric(path: Path = RUBRIC, known_tests: dict[str, str] | None = None,
                manifest_path: Path = DATA / "manifest.json") -> Rubric:
    """Read and validate the rubric; raise RubricError listing every problem.

    ``known_tests`` maps each test id the grader has to its name; by default
    the grader's own checks.
    """
    if known_tests is None:
        from autograder.checks import known_tests as _known
        known_tests = _known()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise RubricError(f"cannot read the rubric {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"the rubric {path} is not valid TOML: {error}") from None
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))["datasets"]
    except (OSError, ValueError, KeyError) as error:
        raise RubricError(f"cannot read the data manifest {manifest_path}: {error}") from None

    problems = _Problems()
    for key in set(raw) - {"grading", "limits", "tests", "training"}:
        problems.append(f"[{key}]: unknown table (expected grading, limits, tests, training)")
    for key in ("grading", "limits", "tests", "training"):
        if not isinstance(raw.get(key, {}), dict):
            raise RubricError(f"{path}: {key} must be a table ([{key}]), got {raw[key]!r}")
    for name, table in raw.get("training", {}).get("datasets", {}).items():
        if not isinstance(table, dict):
            raise RubricError(f"{path}: [training.datasets.{name}] must be a table, "
                              f"got {table!r}")
    grading = raw.get("grading", {})
    for key in sorted(set(grading) - {"seed", "visibility"}):
        problems.append(f"[grading].{key}: unknown key (expected seed, visibility)")
    seed = grading.get("seed", 0)
    _valid(settings.SEED, seed, "[grading].seed", problems)
    default = _visibility(grading, "[grading]", "visible", problems)
    if default not in VISIBILITIES:  # reported once here, not again for every test
        default = "visible"
    limits_raw = raw.get("limits", {})
    limits = {}
    for key, value in limits_raw.items():
        if key not in LIMITS:
            problems.append(f"[limits].{key}: unknown key (expected {', '.join(LIMITS)})")
        elif _valid(LIMITS[key], value, f"[limits].{key}", problems):
            limits[key] = value
    train_timeout = float(limits.pop("train_timeout", LIMITS["train_timeout"].default))
    tests = _tests(raw.get("tests", {}), known_tests, default, problems)
    datasets = _datasets(raw.get("training", {}), manifest, default, problems)
    if problems:
        raise RubricError(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return Rubric(seed=seed, limits=Limits(**limits), train_timeout=train_timeout, tests=tests,
                  datasets=datasets, training=raw.get("training", {}))
