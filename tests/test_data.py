"""The frozen datasets (data/*.npz), their manifest, the rubric's [training]
table and the students' solutions/local_moons.npz agree with each other and
with a fresh run of data/make_datasets.py.

Shapes: a dataset file holds X_train (N, D), y_train (N,), X_test (M, D),
y_test (M,) (regression: y_train (N, 1), y_test (M, 1) float64);
local_moons.npz holds X_train (N1, 2), y_train (N1,), X_val (N2, 2),
y_val (N2,) and a 0-d unicode ``config`` (JSON).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from autograder import training_run
from autograder.reference import reference

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
CLASSIFICATION = [name for name in NAMES if name not in md.REGRESSION]
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
    assert set(md.REGRESSION) == {"sine", "diabetes"} <= set(NAMES)
    for name in NAMES:
        entry = manifest["datasets"][name]
        regression = name in md.REGRESSION
        assert entry["task"] == ("regression" if regression else "classification")
        assert entry["metric"] == ("r2" if regression else "accuracy") == \
            training_run.metric(rubric[name]["hyperparameters"])


@pytest.mark.parametrize("name", NAMES)
def test_checksum_matches_file(manifest, name):
    entry = manifest["datasets"][name]
    assert entry["file"] == f"{name}.npz"
    assert _sha256(DATA / entry["file"]) == entry["sha256"], \
        "data file changed: run python data/make_datasets.py"


def test_local_moons_checksum_matches_file(manifest):
    assert _sha256(LOCAL_MOONS) == manifest["local_moons"]["sha256"]


def _check_standardized(train: np.ndarray) -> None:
    """Standardized with the training statistics: mean 0, std 1 (or constant 0)."""
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-10)
    std = train.std(axis=0)
    assert np.all(np.isclose(std, 1.0) | np.isclose(std, 0.0))
    assert np.isclose(std, 1.0).sum() >= 1


def _arrays_and_split_sizes(entry: dict) -> dict[str, np.ndarray]:
    arrays = _load(DATA / entry["file"])
    assert list(arrays) == ARRAY_KEYS
    for key, array in arrays.items():
        assert list(array.shape) == entry["arrays"][key]["shape"], key
        assert str(array.dtype) == entry["arrays"][key]["dtype"], key
    n, d = arrays["X_train"].shape
    m = len(arrays["X_test"])
    assert arrays["X_train"].dtype == np.float64 and arrays["X_test"].dtype == np.float64
    assert arrays["X_test"].shape[1] == d and len(arrays["y_train"]) == n
    assert len(arrays["y_test"]) == m and abs(m / (n + m) - 0.3) < 0.01
    assert all(np.isfinite(arrays[k]).all() for k in ARRAY_KEYS)
    _check_standardized(arrays["X_train"])
    return arrays


@pytest.mark.parametrize("name", md.REGRESSION)
def test_regression_targets_are_standardized_columns_the_linear_score_matches(manifest, name):
    entry = manifest["datasets"][name]
    arrays = _arrays_and_split_sizes(entry)
    y_train, y_test = arrays["y_train"], arrays["y_test"]
    assert y_train.dtype == np.float64 and y_test.dtype == np.float64
    assert y_train.shape[1] == y_test.shape[1] == entry["n_outputs"] == 1
    _check_standardized(y_train)  # so that MSE training is well scaled
    # The manifest's R^2 is sklearn's on the same split (K = 1: the same definition).
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    linear = LinearRegression().fit(arrays["X_train"], y_train)
    assert entry["linear_r2"] == pytest.approx(r2_score(y_test, linear.predict(arrays["X_test"])))


def test_r2_is_one_minus_residual_over_total_sum_of_squares():
    y = np.array([[1.0], [2.0], [3.0], [6.0]])
    assert training_run.r2_score(y, y) == 1.0
    assert training_run.r2_score(y, np.full_like(y, 3.0)) == 0.0
    assert training_run.r2_score(y, y + 1.0) == pytest.approx(1 - 4 / 14)
    assert training_run.r2_score(y, np.full_like(y, np.nan)) == -np.inf


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_npz_arrays_have_recorded_shapes_dtypes_and_standardized_features(manifest, name):
    entry = manifest["datasets"][name]
    arrays = _arrays_and_split_sizes(entry)
    y_train, y_test = arrays["y_train"], arrays["y_test"]
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert y_train.ndim == 1 and y_test.ndim == 1
    # Test split: stratified, every class present in both splits.
    classes = entry["n_classes"]
    assert set(np.unique(y_train)) == set(range(classes)) == set(np.unique(y_test))
    np.testing.assert_allclose(np.bincount(y_train) / len(y_train),
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
    moons = '[training.datasets.moons]\npoints = 3\nthreshold = "manifest"\n'
    assert moons in text
    edited.write_text(text.replace(moons, "[training.datasets.moons]\npoints = 3\n"
                                   "threshold = 0.5\nnum_epochs = 3\n"))
    rubric = md.load_rubric(edited)
    assert rubric["moons"]["threshold"] == 0.5
    assert rubric["moons"]["hyperparameters"]["num_epochs"] == 3
    assert rubric["iris"]["hyperparameters"]["num_epochs"] != 3
    assert md.effective_threshold(rubric["moons"], {"threshold": 0.9}) == 0.5
    assert md.effective_threshold(rubric["iris"], {"threshold": 0.9}) == 0.9
    edited.write_text(text.replace("\nreg = ", "\nregularization = "))
    with pytest.raises(md.RubricError):
        md.load_rubric(edited)


@pytest.mark.parametrize("old, new, key", [
    ('[training.datasets.moons]\n', '[training.datasets.moons]\nloss = "mse"\nmodel = "fc"\n'
     'hidden_dims = [4]\n', "training.datasets.moons.loss"),
    ('model = "fc"\nhidden_dims = [24, 24]\nloss = "mse"\n', 'model = "fc"\n'
     'hidden_dims = [24, 24]\n', "training.datasets.sine.loss"),
    ('model = "fc"\nhidden_dims = [24, 24]\n', '', "training.datasets.sine.model"),
    ('hidden_dims = [24, 24]\n', '', "training.datasets.sine.hidden_dims"),
])
def test_a_net_that_cannot_train_on_a_dataset_is_refused_naming_the_key(tmp_path, old, new,
                                                                        key):
    text = md.RUBRIC.read_text()
    assert text.count(old) == 1
    edited = tmp_path / "rubric.toml"
    edited.write_text(text.replace(old, new))
    with pytest.raises(md.RubricError, match=rf"{key}: expected"):
        md.load_rubric(edited)


# --------------------------------------------------------------------------- thresholds

@pytest.mark.parametrize("name", NAMES)
def test_threshold_follows_the_rule(manifest, rubric, name):
    entry = manifest["datasets"][name]
    which = entry["metric"]
    ref = entry[f"reference_{which}"]
    values = [run[which] for run in ref["runs"]]
    assert len(values) >= 5 and values == ref["values"]
    assert ref["min"] == min(values)
    assert [(r["init_seed"], r["shuffle_seed"]) for r in ref["runs"]] == \
        md.seed_pairs(rubric[name]["hyperparameters"], len(values))
    assert (entry["threshold"], entry["beats_linear"]) == md.choose_threshold(
        entry[f"linear_{which}"], entry["linear_upper_bound"], ref["min"])
    assert entry["threshold"] <= ref["min"] - md.MIN_MARGIN
    hyper = rubric[name]["hyperparameters"]
    grader = entry["grader"]
    assert (grader["init_seed"], grader["shuffle_seed"]) == \
        (hyper["init_seed"], hyper["shuffle_seed"])
    assert grader["passes"] and grader[which] >= entry["threshold"]


@pytest.mark.parametrize("name", NAMES)
def test_threshold_lies_between_linear_and_reference_or_the_manifest_says_it_does_not(
        manifest, name):
    entry = manifest["datasets"][name]
    which = entry["metric"]
    linear = max(entry[f"linear_{which}"], entry["linear_upper_bound"])
    worst = entry[f"reference_{which}"]["min"]
    assert entry["linear_upper_bound"] >= entry[f"linear_{which}"] - 1e-12
    assert entry["beats_linear"] == (worst - linear > 2 * md.MIN_MARGIN)
    if entry["beats_linear"]:
        assert linear < entry["threshold"] < worst
        assert entry["threshold_basis"].startswith("halfway")
    else:  # honest: no margin over a linear model is claimed
        assert entry["threshold"] < worst
        assert "does not clearly beat a linear model" in entry["threshold_basis"]


@pytest.mark.parametrize("name", md.NONLINEAR)
def test_nonlinear_threshold_lies_strictly_between_linear_and_reference(manifest, name):
    entry = manifest["datasets"][name]
    which = entry["metric"]
    assert entry["beats_linear"]
    assert entry[f"linear_{which}"] <= entry["linear_upper_bound"] < entry["threshold"]
    assert entry["threshold"] < entry[f"reference_{which}"]["min"]


def test_on_diabetes_the_net_does_not_beat_a_linear_model_and_the_manifest_says_so(manifest):
    entry = manifest["datasets"]["diabetes"]
    assert not entry["beats_linear"]
    assert entry["threshold"] < entry["linear_r2"]


# --------------------------------------------------------------------------- training

@pytest.mark.parametrize("name", NAMES)
def test_reference_reaches_the_threshold_for_every_listed_seed(manifest, rubric, name):
    entry = manifest["datasets"][name]
    threshold = md.effective_threshold(rubric[name], entry)
    arrays = _load(DATA / entry["file"])
    hyper = rubric[name]["hyperparameters"]
    for run in entry[f"reference_{entry['metric']}"]["runs"]:
        value = training_run.train_reference(hyper, arrays, run["init_seed"],
                                             run["shuffle_seed"])
        assert value == run[entry["metric"]] and value >= threshold, (name, run)


def test_reference_reaches_the_local_moons_threshold_for_every_seed(rubric):
    config = _config()
    local = _load(LOCAL_MOONS)
    split = {"X_train": local["X_train"], "y_train": local["y_train"],
             "X_test": local["X_val"], "y_test": local["y_val"]}
    assert len(config["seeds"]) >= 5
    assert config["linear_upper_bound"] < config["threshold"] < config["reference_min"]
    for init_seed, shuffle_seed in config["seeds"]:
        accuracy = training_run.train_reference(config["hyperparameters"], split, init_seed,
                                                shuffle_seed)
        assert accuracy >= config["threshold"], (init_seed, shuffle_seed)


@pytest.mark.parametrize("name", md.NONLINEAR)
def test_a_net_without_its_nonlinearity_fails(manifest, rubric, monkeypatch, name):
    """With ReLU replaced by the identity the net is linear and must score below
    the threshold: the grader catches a broken hidden layer."""
    for module in ("two_layer_net", "fc_net"):
        monkeypatch.setattr(reference()[module], "relu_forward", lambda x: (x, None))
        monkeypatch.setattr(reference()[module], "relu_backward", lambda dout, cache: dout)
    entry = manifest["datasets"][name]
    hyper = rubric[name]["hyperparameters"]
    with np.errstate(all="ignore"):
        value = training_run.train_reference(hyper, _load(DATA / entry["file"]))
    assert value < md.effective_threshold(rubric[name], entry)


# --------------------------------------------------------------------------- regeneration

def test_regenerating_gives_byte_identical_files(tmp_path):
    local = tmp_path / "local_moons.npz"
    md.write(tmp_path, local)
    for name in NAMES:
        assert (tmp_path / f"{name}.npz").read_bytes() == (DATA / f"{name}.npz").read_bytes(), name
    assert local.read_bytes() == LOCAL_MOONS.read_bytes()
    assert (tmp_path / md.MANIFEST_NAME).read_text() == (DATA / md.MANIFEST_NAME).read_text(), \
        "manifest out of date: run python data/make_datasets.py"


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_damaged_dataset_is_named_with_the_manifest_it_checks_and_how_to_repair_it(
        tmp_path, monkeypatch, damage):
    import shutil

    from autograder.checks import training
    from autograder.errors import DataError
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    if damage == "corrupt":
        (copy / "moons.npz").write_bytes(b"not an npz")
    else:
        (copy / "moons.npz").unlink()
    monkeypatch.setattr(training, "DATA", copy)
    training.load_dataset.cache_clear()
    try:
        with pytest.raises(DataError) as raised:
            training.load_dataset("moons")
    finally:
        training.load_dataset.cache_clear()
    message = str(raised.value)
    assert "moons" in message and training.REPAIR in message
    if damage == "corrupt":  # the manifest that was checked, wherever the data lives
        assert str(copy / "manifest.json") in message
