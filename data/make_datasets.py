"""Freeze the grading datasets as .npz files and describe them in manifest.json.

Run from anywhere::

    python data/make_datasets.py            # write data/*.npz, data/manifest.json
                                            # and solutions/local_moons.npz
    python data/make_datasets.py --out DIR  # write the dataset files and the
                                            # manifest into DIR instead
    python data/make_datasets.py --check    # regenerate in memory, compare, exit 1
                                            # if anything on disk differs

Each dataset file ``<name>.npz`` holds four arrays, N training and M test
examples of D features. A classification set (moons, circles, iris, digits,
wine)::

    X_train: (N, D) float64, standardized with the training mean and std
    y_train: (N,)   int64 labels in 0..C-1
    X_test:  (M, D) float64, standardized with the *training* mean and std
    y_test:  (M,)   int64 labels in 0..C-1

A regression set (sine: y = sin(3x) + noise, which no linear model fits;
diabetes) has real targets instead, standardized like the features (with the
training split's mean and std, so that MSE training is well scaled)::

    y_train: (N, 1) float64,  y_test: (M, 1) float64

The split is 30 % test with a fixed random_state, stratified for
classification; every random draw is seeded, and the .npz files are written
byte-deterministically (zip entries stored uncompressed with a fixed date), so
regenerating gives files with the same sha256 as long as numpy and
scikit-learn produce the same data.

The grading hyperparameters come from ``autograder/rubric.toml`` ([training]);
the reference net is trained exactly as the grader trains the submission's
(``autograder.training_run``). The manifest records, per dataset, the test
score (accuracy, or R^2 for regression) of a linear model, an optimistic bound
on any linear model, the reference net's score for several seeds, whether it
clearly beats the linear bound, and the threshold the autograder uses.

``solutions/local_moons.npz`` is shipped to students for a local training test.
It holds only the moons *training* split, re-split 70/30::

    X_train: (N1, 2) float64, y_train: (N1,) int64
    X_val:   (N2, 2) float64, y_val:   (N2,) int64
    config:  0-d unicode array, a JSON object with the hyperparameters, the
             seeds and the validation accuracy threshold
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import platform
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import sklearn
from sklearn import datasets as skdatasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from autograder import settings, training_run
from autograder.paths import DATA, RUBRIC, SOLUTIONS
from autograder.reference import reference

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

LOCAL_MOONS = SOLUTIONS / "local_moons.npz"
MANIFEST_NAME = "manifest.json"


def make_sine(n_samples: int, frequency: float, low: float, high: float, noise: float,
              random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n_samples, 1) uniform in [low, high), y (n_samples,) = sin(frequency * x) plus
    Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(random_state)
    x = rng.uniform(low, high, size=n_samples)
    return x[:, None], np.sin(frequency * x) + noise * rng.standard_normal(n_samples)


# name -> (generator, its keyword arguments). Two-dimensional toy problems
# first: a linear model cannot solve them, so they catch a broken hidden layer.
DATASETS = {
    "moons": ("sklearn.datasets.make_moons",
              {"n_samples": 300, "noise": 0.2, "random_state": 0}),
    "circles": ("sklearn.datasets.make_circles",
                {"n_samples": 300, "noise": 0.1, "factor": 0.5, "random_state": 0}),
    "iris": ("sklearn.datasets.load_iris", {}),
    "digits": ("sklearn.datasets.load_digits", {}),
    "wine": ("sklearn.datasets.load_wine", {}),
    "sine": ("data/make_datasets.py make_sine",
             {"n_samples": 300, "frequency": 3.0, "low": -2.0, "high": 2.0, "noise": 0.1,
              "random_state": 0}),
    "diabetes": ("sklearn.datasets.load_diabetes", {}),
}
GENERATORS = {"data/make_datasets.py make_sine": make_sine}
# Datasets with real targets (loss = "mse", graded by test R^2).
REGRESSION = ("sine", "diabetes")
# Datasets on which the reference net must clearly beat every linear model.
NONLINEAR = ("moons", "circles", "sine")

SPLIT = {"function": "sklearn.model_selection.train_test_split",
         "test_size": 0.3, "random_state": 0,
         "stratify": "y for classification; none for regression"}
LOCAL_SPLIT = {"function": "sklearn.model_selection.train_test_split",
               "source": "moons.npz X_train, y_train (the test split is never shipped)",
               "test_size": 0.3, "random_state": 1, "stratify": "y"}
STANDARDIZATION = ("X = (X - mean) / std with the training split's per-feature mean and "
                   "std (population std, ddof=0); a std of 0 is replaced by 1. Regression "
                   "targets y likewise, with the training split's mean and std of y")

# Reference runs: seed k in 0..N_SEEDS-1 uses init_seed + k and shuffle_seed + k;
# k = 0 is the grader's own seed pair.
N_SEEDS = 10
# Thresholds sit at least this far below the reference's worst seed.
MIN_MARGIN = 0.02
# Where the net does not beat the linear bound, the threshold is min - FALLBACK_GAP.
FALLBACK_GAP = 0.03

# Hyperparameters in [training]: the grader's own declarations (the optional ones,
# such as weight_scale, take their declared default when absent).
HYPERPARAMETERS = {s.key: s for s in settings.HYPERPARAMETERS}
# Per-dataset grading keys that are not hyperparameters (the autograder reads them).
DATASET_KEYS = {"points", "threshold", "visibility"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- rubric

class RubricError(ValueError):
    """A [training] table that cannot be used."""


def _check_value(where: str, key: str, value):
    expected = HYPERPARAMETERS[key].problem(value)
    if expected:
        raise RubricError(f"{where}.{key}: expected {expected}, got {value!r}")
    return float(value) if HYPERPARAMETERS[key].kind is float else value


def load_rubric(path: Path = RUBRIC) -> dict:
    """Read ``path`` and resolve its [training] table, one entry per dataset.

    Returns a dict ``name -> {"hyperparameters": dict, "points": number,
    "threshold": "manifest" | float}``, where ``hyperparameters`` has every key
    the rubric sets (``weight_scale`` None when the rubric omits it) with the
    dataset's overrides applied; the other optional keys (model, hidden_dims)
    only where the rubric sets them.
    """
    with open(path, "rb") as file:
        training = tomllib.load(file).get("training")
    if not isinstance(training, dict):
        raise RubricError(f"{path}: no [training] table")
    defaults = {"weight_scale": None}
    for key, value in training.items():
        if key == "datasets":
            continue
        if key not in HYPERPARAMETERS:
            raise RubricError(f"{path}: unknown key training.{key}")
        defaults[key] = _check_value("training", key, value)
    missing = set(HYPERPARAMETERS) - set(settings.OPTIONAL_HYPERPARAMETERS) - set(defaults)
    if missing:
        raise RubricError(f"{path}: [training] lacks {', '.join(sorted(missing))}")
    tables = training.get("datasets", {})
    if set(tables) != set(DATASETS):
        raise RubricError(f"{path}: [training.datasets.*] must be exactly "
                          f"{sorted(DATASETS)}, got {sorted(tables)}")
    resolved = {}
    for name in DATASETS:
        table, where = tables[name], f"training.datasets.{name}"
        hyper = {key: defaults[key] for key in HYPERPARAMETERS if key in defaults}
        for key, value in table.items():
            if key in HYPERPARAMETERS:
                hyper[key] = _check_value(where, key, value)
            elif key not in DATASET_KEYS:
                raise RubricError(f"{path}: unknown key {where}.{key}")
        for key, expected in settings.combination_problems(hyper, name in REGRESSION):
            raise RubricError(f"{path}: {where}.{key}: expected {expected}, got "
                              f"{hyper.get(key)!r}")
        threshold = table.get("threshold", "manifest")
        if threshold != "manifest":
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                raise RubricError(f'{where}.threshold must be "manifest" or a number')
            threshold = float(threshold)
        resolved[name] = {"hyperparameters": hyper, "points": table.get("points", 0),
                          "threshold": threshold}
    return resolved


def effective_threshold(rubric_entry: dict, manifest_entry: dict) -> float:
    """The accuracy the grader requires: the rubric's number, else the manifest's."""
    threshold = rubric_entry["threshold"]
    return manifest_entry["threshold"] if threshold == "manifest" else threshold


# --------------------------------------------------------------------------- data

def _standardized(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays (N, D), (M, D) scaled with the training columns' mean and std."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return (train - mean) / std, (test - mean) / std


def make_arrays(name: str) -> dict[str, np.ndarray]:
    """Generate, split and standardize dataset ``name``.

    Returns ``{"X_train": (N, D) float64, "y_train": (N,) int64,
    "X_test": (M, D) float64, "y_test": (M,) int64}``; for a regression set
    y_train (N, 1) and y_test (M, 1) float64, standardized.
    """
    generator, params = DATASETS[name]
    if generator in GENERATORS:
        X, y = GENERATORS[generator](**params)
    elif generator.split(".")[-1].startswith("load_"):
        X, y = getattr(skdatasets, generator.rsplit(".", 1)[1])(return_X_y=True, **params)
    else:
        X, y = getattr(skdatasets, generator.rsplit(".", 1)[1])(**params)
    regression = name in REGRESSION
    y = np.asarray(y, dtype=np.float64)[:, None] if regression else np.asarray(y, np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        np.asarray(X, dtype=np.float64), y, test_size=SPLIT["test_size"],
        random_state=SPLIT["random_state"], stratify=None if regression else y)
    X_train, X_test = _standardized(X_train, X_test)
    if regression:
        y_train, y_test = _standardized(y_train, y_test)
    return {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Serialize ``arrays`` as an .npz archive, byte for byte reproducibly.

    Entries are stored uncompressed, in the given order, with a fixed date and
    mode; numbers are little-endian. ``np.load(..., allow_pickle=False)`` reads it.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            array = np.asarray(array)
            if array.dtype.kind in "fiuU":
                array = array.astype(array.dtype.newbyteorder("<"))
            if not array.flags.c_contiguous:
                array = array.copy(order="C")  # (np.ascontiguousarray makes 0-d 1-d)
            npy = io.BytesIO()
            np.lib.format.write_array(npy, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, npy.getvalue())
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- models

def seed_pairs(hyper: dict, count: int = N_SEEDS) -> list[tuple[int, int]]:
    """``[(init_seed + k, shuffle_seed + k) for k in range(count)]``; k = 0 is the grader's."""
    return [(hyper["init_seed"] + k, hyper["shuffle_seed"] + k) for k in range(count)]


def linear_scores(data: dict[str, np.ndarray], which: str) -> dict:
    """Linear baselines on ``data``'s test split: see linear_accuracies, linear_r2."""
    if which == "r2":
        return linear_r2(data["X_train"], data["y_train"], data["X_test"], data["y_test"])
    return linear_accuracies(data["X_train"], data["y_train"], data["X_test"], data["y_test"])


def linear_r2(X_train, y_train, X_eval, y_eval) -> dict:
    """Linear baselines for X_train: (N, D), y_train: (N, K), X_eval: (M, D), y_eval: (M, K).

    Returns ``linear_r2`` (LinearRegression fitted on the training data, R^2 on
    the evaluation data, as autograder.training_run.r2_score computes it) and
    ``linear_upper_bound``: the R^2 of a LinearRegression fitted *on the
    evaluation data itself*, the best any linear model can reach there.
    """
    linear = LinearRegression().fit(X_train, y_train)
    bound = LinearRegression().fit(X_eval, y_eval)
    upper = training_run.r2_score(y_eval, bound.predict(X_eval))
    return {"linear_r2": training_run.r2_score(y_eval, linear.predict(X_eval)),
            "linear_upper_bound": upper,
            "linear_upper_bound_models": {"LinearRegression (fitted on the test split)": upper}}


def linear_accuracies(X_train, y_train, X_eval, y_eval) -> dict:
    """Linear baselines for X_train: (N, D), y_train: (N,), X_eval: (M, D), y_eval: (M,).

    Returns ``linear_accuracy`` (LogisticRegression, C=1, fitted on the
    training data, accuracy on the evaluation data) and ``linear_upper_bound``:
    the best accuracy on the evaluation data of linear models fitted *on the
    evaluation data itself* (LogisticRegression and LinearSVC over several C),
    an optimistic bound on what any linear classifier can reach there.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        linear = LogisticRegression(max_iter=10_000).fit(X_train, y_train)
        bound = {}
        for C in (1.0, 100.0, 1e4, 1e6):
            model = LogisticRegression(C=C, max_iter=100_000).fit(X_eval, y_eval)
            bound[f"LogisticRegression(C={C:g})"] = float(model.score(X_eval, y_eval))
        for C in (1.0, 100.0, 1e4):
            model = LinearSVC(C=C, max_iter=200_000, random_state=0).fit(X_eval, y_eval)
            bound[f"LinearSVC(C={C:g})"] = float(model.score(X_eval, y_eval))
    return {"linear_accuracy": float(linear.score(X_eval, y_eval)),
            "linear_upper_bound": max(bound.values()),
            "linear_upper_bound_models": bound}


def floor2(x: float) -> float:
    """Round down to a multiple of 0.01 (robust to 0.89999999...)."""
    return math.floor(x * 100 + 1e-9) / 100


def choose_threshold(linear_accuracy: float, linear_upper_bound: float,
                     reference_min: float, fraction: float = 0.5) -> tuple[float, bool]:
    """``(threshold, beats_linear)``.

    If the reference's worst seed beats ``max(linear_accuracy,
    linear_upper_bound)`` by more than 2 * MIN_MARGIN, the threshold lies
    ``fraction`` of the way from the linear bound to the reference min (the
    midpoint by default), rounded down to 0.01; otherwise
    ``reference_min - FALLBACK_GAP`` rounded down to 0.01.
    """
    linear = max(linear_accuracy, linear_upper_bound)
    if reference_min - linear > 2 * MIN_MARGIN:
        return floor2(linear + fraction * (reference_min - linear)), True
    return floor2(reference_min - FALLBACK_GAP), False


def evaluate(data: dict[str, np.ndarray], hyper: dict, fraction: float = 0.5) -> dict:
    """Linear baselines, reference runs over seed_pairs(hyper) and the threshold, all
    on ``data``'s test split, in the dataset's metric (accuracy or r2):
    ``linear_<metric>``, ``linear_upper_bound``, ``reference_<metric>`` (the runs,
    their values, min and mean), ``beats_linear`` and ``threshold``."""
    which = training_run.metric(hyper)
    result = linear_scores(data, which)
    runs = [{"init_seed": i, "shuffle_seed": s,
             which: training_run.train_reference(hyper, data, i, s)}
            for i, s in seed_pairs(hyper)]
    values = [run[which] for run in runs]
    threshold, beats = choose_threshold(result[f"linear_{which}"],
                                        result["linear_upper_bound"], min(values), fraction)
    result[f"reference_{which}"] = {"runs": runs, "values": values, "min": min(values),
                                    "mean": float(np.mean(values))}
    result["beats_linear"] = beats
    result["threshold"] = threshold
    result["threshold_basis"] = (
        "halfway between the linear bound and the reference's worst seed" if beats else
        f"the reference's worst seed - {FALLBACK_GAP:g}: the net does not clearly beat a "
        f"linear model here, so passing shows that train fits the data, not that a net "
        f"is needed")
    return result


# --------------------------------------------------------------------------- build

def local_moons(moons: dict[str, np.ndarray], hyper: dict) -> tuple[bytes, dict]:
    """The students' local file from the moons *training* split only.

    Returns ``(npz bytes, summary for the manifest)``. The moons train split
    (N, 2) is re-split 70/30 (stratified) into X_train (N1, 2), y_train (N1,),
    X_val (N2, 2), y_val (N2,); features keep the values of moons.npz.
    """
    X_train, X_val, y_train, y_val = train_test_split(
        moons["X_train"], moons["y_train"], test_size=LOCAL_SPLIT["test_size"],
        random_state=LOCAL_SPLIT["random_state"], stratify=moons["y_train"])
    split = {"X_train": X_train, "y_train": y_train, "X_test": X_val, "y_test": y_val}
    # Locally only a quarter of the way up from the linear bound: the validation
    # split has 63 examples, and a correct net whose random draws differ from the
    # reference's must not fail by one example.
    result = evaluate(split, hyper, fraction=0.25)
    if not result["beats_linear"] or result["threshold"] <= result["linear_upper_bound"]:
        raise RuntimeError(f"local moons: reference does not clearly beat a linear model: "
                           f"{result}")
    config = {
        "dataset": "moons",
        "split": "X_train/y_train and X_val/y_val are both from data/moons.npz's training split",
        "n_classes": training_run.outputs(hyper, split),
        "hyperparameters": hyper,
        "seeds": [[run["init_seed"], run["shuffle_seed"]]
                  for run in result["reference_accuracy"]["runs"]],
        "threshold": result["threshold"],
        "linear_upper_bound": result["linear_upper_bound"],
        "reference_min": result["reference_accuracy"]["min"],
    }
    text = json.dumps(config, sort_keys=True)
    arrays = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val,
              "config": np.array(text, dtype=f"<U{len(text)}")}
    data = npz_bytes(arrays)
    summary = {"file": "solutions/local_moons.npz", "sha256": sha256(data),
               "split": LOCAL_SPLIT, "arrays": _shapes(arrays), **result}
    return data, summary


def _shapes(arrays: dict[str, np.ndarray]) -> dict:
    return {key: {"shape": list(a.shape), "dtype": str(a.dtype)} for key, a in arrays.items()}


def build(rubric_path: Path = RUBRIC) -> tuple[dict[str, bytes], bytes, dict]:
    """Generate everything in memory.

    Returns ``(files, local_moons_bytes, manifest)``: ``files`` maps
    "<name>.npz" to its bytes for each dataset, the second item is
    solutions/local_moons.npz, and ``manifest`` the dict written as manifest.json.
    """
    rubric = load_rubric(rubric_path)
    files, entries, local = {}, {}, None
    for name, (generator, params) in DATASETS.items():
        arrays = make_arrays(name)
        data = npz_bytes(arrays)
        files[f"{name}.npz"] = data
        hyper = rubric[name]["hyperparameters"]
        which = training_run.metric(hyper)
        result = evaluate(arrays, hyper)
        if name in NONLINEAR and not (
                result["beats_linear"] and result["threshold"] > result["linear_upper_bound"]
                and result["threshold"] <= result[f"reference_{which}"]["min"] - MIN_MARGIN):
            raise RuntimeError(f"{name}: the reference does not clearly beat a linear "
                               f"model with these hyperparameters: {result}")
        grader = result[f"reference_{which}"]["runs"][0]
        regression = name in REGRESSION
        entries[name] = {
            "file": f"{name}.npz", "sha256": sha256(data),
            "generator": generator, "generator_params": params,
            "task": "regression" if regression else "classification", "metric": which,
            "n_outputs" if regression else "n_classes": training_run.outputs(hyper, arrays),
            "arrays": _shapes(arrays), "hyperparameters": hyper, **result,
            "grader": {**grader, "passes": grader[which] >= result["threshold"]},
        }
        if name == "moons":
            local = local_moons(arrays, hyper)
    local_bytes, local_summary = local
    manifest = {
        "description": "Frozen grading datasets, made by data/make_datasets.py from "
                       "scikit-learn generators; hyperparameters from autograder/rubric.toml.",
        "versions": {"numpy": np.__version__, "sklearn": sklearn.__version__},
        "split": SPLIT,
        "standardization": STANDARDIZATION,
        "reference": {
            "code": "solutions/two_layer_net.py (TwoLayerNet, train) and solutions/fc_net.py "
                    "(FullyConnectedNet), built and trained by autograder/training_run.py "
                    "as the grader trains a submission's net",
            "seeds": f"run k = 0..{N_SEEDS - 1} uses init_seed + k and shuffle_seed + k; "
                     "run 0 is the grader's seed pair (rubric init_seed, shuffle_seed)",
            "accuracy": "fraction of test examples whose predicted label is correct",
            "r2": "1 - SS_res / SS_tot on the test split, in float64: SS_res the summed "
                  "squared error of the predictions, SS_tot the summed squared deviation "
                  "of the test targets from their mean",
        },
        "threshold_rule": (
            f"In the dataset's metric (accuracy, or r2 for regression): b = "
            f"max(linear_<metric>, linear_upper_bound); if reference min - b > "
            f"{2 * MIN_MARGIN:g} (beats_linear): floor_0.01((b + min) / 2), else "
            f"floor_0.01(min - {FALLBACK_GAP:g}), which may lie below the linear "
            f"baseline. Pass when the test score >= threshold."),
        "datasets": entries,
        "local_moons": local_summary,
    }
    return files, local_bytes, manifest


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2) + "\n"


def training_cpu_seconds(rubric_path: Path = RUBRIC, data_dir: Path = DATA) -> float:
    """CPU seconds (time.process_time, all threads) to train the reference net
    once per dataset with the grader's seeds, on the files in ``data_dir``."""
    rubric = load_rubric(rubric_path)
    reference()  # imported outside the timing
    total = 0.0
    for name in DATASETS:
        with np.load(data_dir / f"{name}.npz", allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        start = time.process_time()
        training_run.train_reference(rubric[name]["hyperparameters"], arrays)
        total += time.process_time() - start
    return total


def check(out: Path, local_path: Path, rubric_path: Path = RUBRIC) -> list[str]:
    """Differences between the files on disk and a fresh build (empty if none)."""
    files, local_bytes, manifest = build(rubric_path)
    problems = []
    for name, data in {**files, MANIFEST_NAME: manifest_text(manifest).encode(),
                       local_path.name: local_bytes}.items():
        path = local_path if name == local_path.name else out / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_bytes() != data:
            problems.append(f"{path}: differs from a fresh build")
    return problems


def write(out: Path, local_path: Path, rubric_path: Path = RUBRIC) -> dict:
    """Build and write the dataset files and manifest to ``out``, the local file
    to ``local_path``; returns the manifest."""
    files, local_bytes, manifest = build(rubric_path)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / MANIFEST_NAME).write_text(manifest_text(manifest))
    local_path.parent.mkdir(parents=True, exist_ok=True)
    local_path.write_bytes(local_bytes)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA,
                        help="folder for <name>.npz and manifest.json (default: data/)")
    parser.add_argument("--local-out", type=Path, default=None,
                        help="path of the students' local moons file (default: "
                             "solutions/local_moons.npz, or DIR/local_moons.npz with --out)")
    parser.add_argument("--rubric", type=Path, default=RUBRIC, help="rubric.toml to read")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files differ from a fresh build")
    args = parser.parse_args(argv)
    local_path = args.local_out
    if local_path is None:
        same = args.out.resolve() == DATA.resolve()
        local_path = LOCAL_MOONS if same else args.out / LOCAL_MOONS.name
    if args.check:
        problems = check(args.out, local_path, args.rubric)
        for line in problems:
            print(line)
        print("out of date: run python data/make_datasets.py" if problems else "up to date")
        return 1 if problems else 0
    manifest = write(args.out, local_path, args.rubric)
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"Python {platform.python_version()}")
    print(f"{'dataset':8} {'metric':>8} {'linear':>7} {'lin.ub':>7} {'ref.min':>7} "
          f"{'ref.mean':>8} {'thresh':>6} beats linear")
    rows = {**manifest["datasets"], "local": {"metric": "accuracy", **manifest["local_moons"]}}
    for name, e in rows.items():
        which = e["metric"]
        print(f"{name:8} {which:>8} {e[f'linear_{which}']:7.3f} {e['linear_upper_bound']:7.3f} "
              f"{e[f'reference_{which}']['min']:7.3f} {e[f'reference_{which}']['mean']:8.3f} "
              f"{e['threshold']:6.2f} {'yes' if e['beats_linear'] else 'NO'}")
    seconds = training_cpu_seconds(args.rubric, args.out)
    print(f"training all {len(DATASETS)} datasets once: {seconds:.3f} s CPU")
    print(f"wrote {args.out} and {local_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
