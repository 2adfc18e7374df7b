"""The frozen datasets (data/*.npz), their manifest, the rubric's [training]
table and the students' solutions/local_moons.npz agree with each other and
with a fresh run of data/make_datasets.py.

Shapes: a dataset file holds X_train (N, D), y_train (N,), X_test (M, D),
y_test (M,); local_moons.npz holds X_train (N1, 2), y_train (N1,),
X_val (N2, 2), y_val (N2,) and a 0-d unicode ``config`` (JSON).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
LOCAL_MOONS = ROOT / "solutions" / "local_moons.npz"


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "_make_datasets_under_test", DATA / "make_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


md = _load_script()
NAMES = list(md.DATASETS)
ARRAY_KEYS = ["X_train", "y_train", "X_test", "y_test"]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DATA / md.MANIFEST_NAME).read_text())


@pytest.fixture(scope="module")
def rubric() -> dict:
    return md.load_rubric(md.RUBRIC)


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _config() -> dict:
    return json.loads(_load(LOCAL_MOONS)["config"].item())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- files

def test_manifest_lists_exactly_the_rubric_datasets(manifest, rubric):
    assert list(manifest["datasets"]) == NAMES
    assert set(rubric) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_checksum_matches_file(manifest, name):
    entry = manifest["datasets"][name]
    assert entry["file"] == f"{name}.npz"
    assert _sha256(DATA / entry["file"]) == entry["sha256"], \
        "data file changed: run python data/make_datasets.py"


def test_local_moons_checksum_matches_file(manifest):
    assert _sha256(LOCAL_MOONS) == manifest["local_moons"]["sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_npz_arrays_have_recorded_shapes_dtypes_and_standardized_features(manifest, name):
    entry = manifest["datasets"][name]
    arrays = _load(DATA / entry["file"])
    assert list(arrays) == ARRAY_KEYS
    for key, array in arrays.items():
        assert list(array.shape) == entry["arrays"][key]["shape"], key
        assert str(array.dtype) == entry["arrays"][key]["dtype"], key
    X_train, y_train, X_test, y_test = (arrays[k] for k in ARRAY_KEYS)
    assert X_train.dtype == np.float64 and X_test.dtype == np.float64
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    n, d = X_train.shape
    assert X_test.shape[1] == d and y_train.shape == (n,) and y_test.shape == (len(X_test),)
    assert np.isfinite(X_train).all() and np.isfinite(X_test).all()
    # Standardized with the training statistics: mean 0, std 1 (or constant 0).
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-10)
    std = X_train.std(axis=0)
    assert np.all(np.isclose(std, 1.0) | np.isclose(std, 0.0))
    assert np.isclose(std, 1.0).sum() >= 1
    # Test split: stratified, 30 %, every class present in both splits.
    classes = entry["n_classes"]
    assert set(np.unique(y_train)) == set(range(classes)) == set(np.unique(y_test))
    assert abs(len(X_test) / (n + len(X_test)) - 0.3) < 0.01
    np.testing.assert_allclose(np.bincount(y_train) / n,
                               np.bincount(y_test) / len(y_test), atol=0.05)


def test_local_moons_holds_only_moons_training_data(manifest):
    local = _load(LOCAL_MOONS)
    assert list(local) == ["X_train", "y_train", "X_val", "y_val", "config"]
    for key, array in local.items():
        assert list(array.shape) == manifest["local_moons"]["arrays"][key]["shape"], key
    assert local["config"].shape == () and local["config"].dtype.kind == "U"
    assert local["X_train"].dtype == np.float64 and local["y_train"].dtype == np.int64
    moons = _load(DATA / "moons.npz")
    local_rows = np.concatenate([local["X_train"], local["X_val"]])
    local_labels = np.concatenate([local["y_train"], local["y_val"]])
    # Together exactly the moons training split (as a set of rows), no test row.
    order = np.lexsort(local_rows.T)
    moons_order = np.lexsort(moons["X_train"].T)
    np.testing.assert_array_equal(local_rows[order], moons["X_train"][moons_order])
    np.testing.assert_array_equal(local_labels[order], moons["y_train"][moons_order])
    test_rows = {row.tobytes() for row in moons["X_test"]}
    assert not any(row.tobytes() in test_rows for row in local_rows)


# --------------------------------------------------------------------------- rubric

def test_manifest_hyperparameters_equal_the_rubric(manifest, rubric):
    for name in NAMES:
        assert manifest["datasets"][name]["hyperparameters"] == \
            rubric[name]["hyperparameters"], \
            f"{name}: rubric.toml changed: run python data/make_datasets.py"
    assert _config()["hyperparameters"] == rubric["moons"]["hyperparameters"]


def test_an_edited_rubric_is_told_apart(manifest, tmp_path):
    text = md.RUBRIC.read_text()
    assert "\nhidden_dim = 32 " in text
    edited = tmp_path / "rubric.toml"
    edited.write_text(text.replace("\nhidden_dim = 32 ", "\nhidden_dim = 33 "))
    changed = md.load_rubric(edited)
    assert all(changed[name]["hyperparameters"] != manifest["datasets"][name]["hyperparameters"]
               for name in NAMES)


def test_rubric_overrides_and_thresholds(tmp_path):
    text = md.RUBRIC.read_text()
    edited = tmp_path / "rubric.toml"
    wine = '[training.datasets.wine]\npoints = 4\nthreshold = "manifest"'
    assert wine in text
    edited.write_text(text.replace(wine, "[training.datasets.wine]\npoints = 4\n"
                                   "threshold = 0.5\nnum_epochs = 3"))
    rubric = md.load_rubric(edited)
    assert rubric["wine"]["threshold"] == 0.5
    assert rubric["wine"]["hyperparameters"]["num_epochs"] == 3
    assert rubric["iris"]["hyperparameters"]["num_epochs"] != 3
    assert md.effective_threshold(rubric["wine"], {"threshold": 0.9}) == 0.5
    assert md.effective_threshold(rubric["iris"], {"threshold": 0.9}) == 0.9
    edited.write_text(text.replace("\nreg = ", "\nregularization = "))
    with pytest.raises(md.RubricError):
        md.load_rubric(edited)


# --------------------------------------------------------------------------- thresholds

@pytest.mark.parametrize("name", NAMES)
def test_threshold_follows_the_rule(manifest, rubric, name):
    entry = manifest["datasets"][name]
    ref = entry["reference_accuracy"]
    accuracies = [run["accuracy"] for run in ref["runs"]]
    assert len(accuracies) >= 5 and accuracies == ref["accuracies"]
    assert ref["min"] == min(accuracies)
    assert [(r["init_seed"], r["shuffle_seed"]) for r in ref["runs"]] == \
        md.seed_pairs(rubric[name]["hyperparameters"], len(accuracies))
    assert (entry["threshold"], entry["beats_linear"]) == md.choose_threshold(
        entry["linear_accuracy"], entry["linear_upper_bound"], ref["min"])
    assert entry["threshold"] <= ref["min"] - md.MIN_MARGIN
    hyper = rubric[name]["hyperparameters"]
    grader = entry["grader"]
    assert (grader["init_seed"], grader["shuffle_seed"]) == \
        (hyper["init_seed"], hyper["shuffle_seed"])
    assert grader["passes"] and grader["accuracy"] >= entry["threshold"]


@pytest.mark.parametrize("name", md.NONLINEAR)
def test_nonlinear_threshold_lies_strictly_between_linear_and_reference(manifest, name):
    entry = manifest["datasets"][name]
    assert entry["beats_linear"]
    assert entry["linear_accuracy"] <= entry["linear_upper_bound"] < entry["threshold"]
    assert entry["threshold"] < entry["reference_accuracy"]["min"]


# --------------------------------------------------------------------------- training

def _accuracy(arrays, x_eval, y_eval, hyper, classes, init_seed, shuffle_seed):
    return md.reference_accuracy(arrays["X_train"], arrays["y_train"], arrays[x_eval],
                                 arrays[y_eval], hyper, classes, init_seed, shuffle_seed)


@pytest.mark.parametrize("name", NAMES)
def test_reference_reaches_the_threshold_for_every_listed_seed(manifest, rubric, name):
    entry = manifest["datasets"][name]
    threshold = md.effective_threshold(rubric[name], entry)
    arrays = _load(DATA / entry["file"])
    hyper = rubric[name]["hyperparameters"]
    for run in entry["reference_accuracy"]["runs"]:
        accuracy = _accuracy(arrays, "X_test", "y_test", hyper, entry["n_classes"],
                             run["init_seed"], run["shuffle_seed"])
        assert accuracy >= threshold, (name, run)


def test_reference_reaches_the_local_moons_threshold_for_every_seed(rubric):
    config = _config()
    local = _load(LOCAL_MOONS)
    assert len(config["seeds"]) >= 5
    assert config["linear_upper_bound"] < config["threshold"] < config["reference_min"]
    for init_seed, shuffle_seed in config["seeds"]:
        accuracy = _accuracy(local, "X_val", "y_val", config["hyperparameters"],
                             config["n_classes"], init_seed, shuffle_seed)
        assert accuracy >= config["threshold"], (init_seed, shuffle_seed)


@pytest.mark.parametrize("name", md.NONLINEAR)
def test_a_net_without_its_nonlinearity_fails(manifest, rubric, monkeypatch, name):
    """With ReLU replaced by the identity the net is linear and must score below
    the threshold: the grader catches a broken hidden layer."""
    md.load_reference()
    reference = sys.modules[md.REFERENCE_MODULE]
    monkeypatch.setattr(reference, "relu_forward", lambda x: (x, None))
    monkeypatch.setattr(reference, "relu_backward", lambda dout, cache: dout)
    entry = manifest["datasets"][name]
    hyper = rubric[name]["hyperparameters"]
    with np.errstate(all="ignore"):
        accuracy = _accuracy(_load(DATA / entry["file"]), "X_test", "y_test", hyper,
                             entry["n_classes"], hyper["init_seed"], hyper["shuffle_seed"])
    assert accuracy < md.effective_threshold(rubric[name], entry)


# --------------------------------------------------------------------------- regeneration

def test_regenerating_gives_byte_identical_files(tmp_path):
    local = tmp_path / "local_moons.npz"
    md.write(tmp_path, local)
    for name in NAMES:
        assert (tmp_path / f"{name}.npz").read_bytes() == (DATA / f"{name}.npz").read_bytes(), name
    assert local.read_bytes() == LOCAL_MOONS.read_bytes()
    assert (tmp_path / md.MANIFEST_NAME).read_text() == (DATA / md.MANIFEST_NAME).read_text(), \
        "manifest out of date: run python data/make_datasets.py"
