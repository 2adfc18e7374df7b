"""The grader on the gallery: full marks, zero, and exactly the right points lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from submissions import BUGS, buggy_files, gallery_files, make_submission, reference_files

from autograder.checks import HYGIENE, known_tests
from autograder.cli import main
from autograder.grade import Report, grade
from autograder.paths import SOLUTIONS
from autograder.rubric import load_rubric

GALLERY = Path(__file__).parent / "gallery"
NAMES = known_tests()
LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                   "sigmoid_forward", "sigmoid_backward", "softmax_loss", "bce_loss",
                   "mse_loss", "affine_jacobians")

# Where each known bug must cost points in the grader, and the hint it must give.
GRADER_EXPECTATIONS = {
    "affine_dw_transposed": ("affine_backward_gradient", "transposed"),
    "affine_db_keepdims": ("affine_backward_gradient", "axis of length 1"),
    "affine_db_wrong_axis": ("affine_backward_gradient", "wrong axis"),
    "affine_no_bias": ("affine_forward_values", "bias b is missing"),
    "relu_in_place": ("relu_forward_inputs", "in place"),
    "relu_backward_ignores_dout": ("relu_backward_gradient", "dout is not used"),
    "sigmoid_naive": ("sigmoid_stable", "Never call exp on a large positive number"),
    "sigmoid_naive_one_over": ("sigmoid_stable", "overflow is an error in this test"),
    "softmax_no_shift": ("softmax_loss_stable", "row's maximum"),
    "softmax_missing_1_over_N": ("softmax_loss_gradient", "missing 1/N"),
    "bce_no_clip": ("bce_loss_stable", "Clip probs"),
    "net_no_reg_gradient": ("TwoLayerNet_gradients_softmax", "regularization gradient"),
    "net_reg_without_half": ("TwoLayerNet_loss", "factor 0.5"),
    "net_bce_skips_sigmoid_backward": ("TwoLayerNet_gradients_bce", "without sigmoid_backward"),
    "net_dW_divided_by_N_twice": ("TwoLayerNet_gradients_softmax", "divided by N twice"),
    "net_loss_summed": ("TwoLayerNet_loss", "summed over the batch"),
    "mse_missing_factor_2": ("mse_loss_gradient", "factor 2"),
    "mse_mean_over_every_entry": ("mse_loss_value", "all N*K entries"),
    "mse_expanded_square": ("mse_loss_stable", "do not expand"),
    "jacobian_dx_not_transposed": ("affine_jacobians_values", "transposed"),
    "jacobian_db_ones": ("affine_jacobians_values", "numeric Jacobian"),
    "train_decays_by_one_minus": ("train_sgd", "does not match the documented minibatch SGD"),
    "fc_no_reg_gradient": ("FullyConnectedNet_gradients", "regularization gradient"),
    "fc_biases_regularized": ("FullyConnectedNet_loss", "biases are regularized too"),
    "fc_init_fixed_scale": ("FullyConnectedNet_init", "He"),
}
# A bug in a net's own code may also cost the training it drives (the net learning).
DRIVES_TRAINING = ("TwoLayerNet.loss", "FullyConnectedNet.loss", "FullyConnectedNet.__init__")


def by_id(report: Report) -> dict[str, tuple[float, float, str]]:
    """{test id: (score, max_score, output)}."""
    return {t.id: (t.score, t.max_score, t.output) for t in report.tests}


def by_function(report: Report) -> dict[str, tuple[float, float]]:
    """{function: (score, max_score)} over every test of that function."""
    found: dict[str, tuple[float, float]] = {}
    for t in report.tests:
        score, most = found.get(t.function, (0.0, 0.0))
        found[t.function] = (score + t.score, most + t.max_score)
    return found


@pytest.fixture(scope="module")
def reference_report() -> Report:
    return grade(SOLUTIONS)


def test_reference_gets_full_marks(reference_report):
    failed = [(t.name, t.output) for t in reference_report.tests if t.score < t.max_score]
    assert not failed
    assert reference_report.score == reference_report.max_score == 100
    assert len(reference_report.tests) == len(NAMES) + len(load_rubric().datasets)


def test_every_test_name_starts_with_what_it_grades(reference_report):
    for test in reference_report.tests:
        subject = test.name.split(":")[0]
        assert subject == test.function.split(".")[0], test.name
        assert subject in LAYER_FUNCTIONS + ("TwoLayerNet", "FullyConnectedNet", "train"), \
            test.name


# The gallery's submissions are graded once per session (tests/gallery_runs.py, with short
# time limits); the tests that read those grades share its xdist group.
gallery_test = pytest.mark.xdist_group("gallery")


@gallery_test
def test_stubs_get_zero_and_every_test_says_why(gallery):
    report = gallery["stubs"].report
    assert report.score == 0
    for test in report.tests:
        if test.kind in HYGIENE:  # not even run: the function computes nothing yet
            assert "no points yet" in test.output, (test.name, test.output)
        else:
            assert "NotImplementedError" in test.output, (test.name, test.output)


@gallery_test
def test_grading_twice_gives_the_same_result(tmp_path, reference_report, gallery, short_rubric):
    bug = BUGS[0]
    first = gallery[f"bug/{bug.name}"].report
    second = grade(make_submission(tmp_path / "b", buggy_files(bug)), short_rubric)
    assert [(t.name, t.score, t.output) for t in first.tests] == \
        [(t.name, t.score, t.output) for t in second.tests]
    again = grade(SOLUTIONS)
    assert [t.output for t in again.tests] == [t.output for t in reference_report.tests]


@gallery_test
@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name)
def test_a_known_bug_costs_only_its_own_function_and_is_named(gallery, bug):
    report = gallery[f"bug/{bug.name}"].report
    test_id, hint = GRADER_EXPECTATIONS[bug.name]
    score, max_score, output = by_id(report)[test_id]
    assert score == 0 < max_score, output
    assert hint in output, output
    buggy = next(t.function for t in report.tests if t.id == test_id)
    for test in report.tests:
        # A bug in the net's own code may cost the training it drives, nothing else.
        depends = buggy in DRIVES_TRAINING and test.kind == "training"
        if test.function != buggy and not depends:
            assert test.score == test.max_score, (test.id, test.output)


@gallery_test
def test_a_broken_forward_does_not_cost_its_backward(gallery):
    report = by_id(gallery["bug/affine_no_bias"].report)
    assert report["affine_forward_values"][0] == 0
    score, max_score, output = report["affine_backward_gradient"]
    assert score == max_score, output
    assert "cache (x, w, b) the docstring describes" in output


@gallery_test
def test_a_broken_layer_is_replaced_by_the_reference_in_the_net(gallery):
    report = by_id(gallery["bug/affine_dw_transposed"].report)
    score, max_score, output = report["TwoLayerNet_gradients_softmax"]
    assert score == max_score, output
    assert "graded with the reference affine_backward, affine_forward" in output


@gallery_test
@pytest.mark.parametrize("variant", sorted(p.name for p in (GALLERY / "correct").glob("*")
                                           if p.is_dir()))
def test_a_correct_submission_in_another_style_gets_full_marks(gallery, variant):
    report = gallery[f"correct/{variant}"].report
    failed = [(t.name, t.output) for t in report.tests if t.score < t.max_score]
    assert not failed


def test_hidden_dims_arrive_as_the_list_the_docstring_promises(tmp_path):
    """The grader passes hidden_dims as a list (the FullyConnectedNet checks and the
    regression training): a net that concatenates it with lists, as the local tests
    allow, gets full marks."""
    files = reference_files()
    old = "dims = [input_dim, *hidden_dims, out_dim]"
    assert files["fc_net.py"].count(old) == 1
    files["fc_net.py"] = files["fc_net.py"].replace(
        old, "dims = [input_dim] + hidden_dims + [out_dim]")
    report = grade(make_submission(tmp_path, files))
    failed = [(t.id, t.output) for t in report.tests if t.score < t.max_score]
    assert not failed
    assert {"FullyConnectedNet_init", "train_sine", "train_diabetes"} <= set(by_id(report))


def test_grade_command_writes_gradescope_json_and_exits_0_for_any_score(tmp_path, capsys):
    results = tmp_path / "out" / "results.json"
    assert main(["grade", str(make_submission(tmp_path / "stubs")), "--json", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0
    assert set(data) >= {"score", "execution_time", "tests"}
    assert all(set(t) == {"name", "score", "max_score", "output", "visibility", "tags",
                          "extra_data"} for t in data["tests"])
    assert {t["tags"][0] for t in data["tests"]} == set(NAMES) | {
        f"train_{name}" for name in ("moons", "circles", "iris", "digits", "wine", "sine",
                                     "diabetes")}
    assert "FAIL" in capsys.readouterr().out


def test_grade_command_fails_only_when_it_cannot_run(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "missing")]) == 2
    assert "no such submission" in capsys.readouterr().err
    bad_rubric = tmp_path / "rubric.toml"
    bad_rubric.write_text("[tests]\naffine_forward_values = -1\nnonsense = 2\n")
    assert main(["grade", str(SOLUTIONS), "--rubric", str(bad_rubric)]) == 2
    err = capsys.readouterr().err
    assert "affine_forward_values.points: expected a finite number in [0, 1000], got -1" in err
    assert "nonsense: no such test" in err
    assert "affine_backward_gradient: missing" in err


def test_grading_needs_only_numpy_and_the_standard_library():
    # Gradescope's image gets numpy (and tomli) only: grading must import nothing else.
    code = ("import sys; from autograder.cli import main; from autograder.paths import "
            "SOLUTIONS; main(['grade', str(SOLUTIONS)]); print(sorted({m.split('.')[0] for m "
            "in sys.modules} & {'sklearn', 'scipy', 'tqdm', 'nbgrader', 'nbformat', "
            "'nbclient', 'matplotlib', 'pytest'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


NOTEBOOK_GROUPS = ("affine_backward", "relu_backward", "sigmoid_backward", "sigmoid_forward",
                   "bce_loss", "TwoLayerNet", "train")


@pytest.mark.parametrize("variant", ["reference", *sorted(
    p.name for p in (GALLERY / "correct").glob("*") if p.is_dir())])
def test_notebook_checks_of_one_function_pass_on_every_correct_submission(tmp_path, variant,
                                                                          capsys):
    from autograder.notebook import check
    files = {} if variant == "reference" else gallery_files(GALLERY / "correct" / variant)
    folder = make_submission(tmp_path, files or None)
    if variant == "reference":
        folder = SOLUTIONS
    for function in NOTEBOOK_GROUPS:  # each alone: what it needs must run first, unreported
        check(function, folder=folder)
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.count("checks passed") == len(NOTEBOOK_GROUPS)


def test_a_corrupt_dataset_stops_grade_before_grading_with_exit_2(monkeypatch, capsys):
    from autograder import grade as grade_module
    from autograder.checks.training import DataError

    def corrupt(name):
        raise DataError(f"data/{name}.npz does not match the sha256 in data/manifest.json")
    monkeypatch.setattr(grade_module, "load_dataset", corrupt)
    assert main(["grade", str(SOLUTIONS)]) == 2
    captured = capsys.readouterr()
    assert "does not match the sha256" in captured.err and "PASS" not in captured.out


@pytest.mark.parametrize("old, new, key", [
    ("affine_forward_values = 2", "affine_forward_values = inf", "affine_forward_values.points"),
    ("call_timeout = 10.0", "call_timeout = inf", "[limits].call_timeout"),
    ("memory_mb = 1024", "memory_mb = 1000000000000", "[limits].memory_mb"),
    ("learning_rate = 1.2", "learning_rate = nan", "[training].learning_rate"),
    ("learning_rate = 1.2", "learning_rate = -0.1", "[training].learning_rate"),
    ("batch_size = 64", "batch_size = 0", "[training].batch_size"),
    ("num_epochs = 15", "num_epochs = 0", "[training].num_epochs"),
    ("hidden_dim = 32", "hidden_dim = -3", "[training].hidden_dim"),
])
def test_a_rubric_value_out_of_bounds_is_exit_2_naming_the_key_for_grader_and_data_tool(
        tmp_path, capsys, old, new, key):
    import importlib.util

    from autograder.paths import RUBRIC
    text = RUBRIC.read_text()
    assert text.count(old) == 1
    bad = tmp_path / "rubric.toml"
    bad.write_text(text.replace(old, new))
    assert main(["grade", str(SOLUTIONS), "--rubric", str(bad)]) == 2
    assert f"{key}: expected a finite" in capsys.readouterr().err
    if key.startswith("[training]"):  # data/make_datasets.py reads [training] the same way
        spec = importlib.util.spec_from_file_location("make_datasets_under_test",
                                                      SOLUTIONS.parent / "data" /
                                                      "make_datasets.py")
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        with pytest.raises(tool.RubricError, match=key.split(".")[-1]):
            tool.load_rubric(bad)


@pytest.mark.parametrize("old, new, message", [
    ("seed = 2026", "sed = 2026", "[grading].sed: unknown key (expected seed, visibility)"),
    ('learning_rate = 1.2', 'learning_rate = "1.2"',
     "[training].learning_rate: expected a number in [1e-08, 100], got '1.2'"),
    ('visibility = "visible"', 'visibility = "secret"',
     "[grading].visibility: expected one of"),
])
def test_a_bad_rubric_key_is_one_problem_named_once(tmp_path, capsys, old, new, message):
    # A typo is never silently a default, and a bad default is reported where it is
    # written, not again for every test or dataset that inherits it.
    from autograder.paths import RUBRIC
    text = RUBRIC.read_text()
    assert text.count(old) == 1
    bad = tmp_path / "rubric.toml"
    bad.write_text(text.replace(old, new))
    assert main(["grade", str(SOLUTIONS), "--rubric", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and "has 1 problem(s)" in err, err


@pytest.mark.parametrize("old, new, message", [
    ("hidden_dims = [24, 24]", "hidden_dims = [24, 0]",
     "[training.datasets.sine].hidden_dims: expected a list of at most 8 integers in "
     "[1, 4096], got [24, 0]"),
    ('model = "fc"\nhidden_dims = [24, 24]', 'model = "cnn"\nhidden_dims = [24, 24]',
     "[training.datasets.sine].model: expected one of 'two_layer', 'fc', got 'cnn'"),
    ('model = "fc"\nhidden_dims = [24, 24]\n', "",
     "[training.datasets.sine].model: expected \"fc\" with loss = \"mse\""),
    ("[training.datasets.moons]\n", '[training.datasets.moons]\nloss = "mse"\n',
     "[training.datasets.moons].loss: expected \"softmax\" or \"bce\" (this dataset is a "
     "classification), got 'mse'"),
    ('hidden_dims = [24, 24]\nloss = "mse"\n', "hidden_dims = [24, 24]\n",
     "[training.datasets.sine].loss: expected \"mse\" (this dataset is a regression)"),
])
def test_a_net_the_dataset_cannot_train_is_exit_2_naming_the_key(tmp_path, capsys, old, new,
                                                                   message):
    from autograder.paths import RUBRIC
    text = RUBRIC.read_text()
    assert text.count(old) == 1
    bad = tmp_path / "rubric.toml"
    bad.write_text(text.replace(old, new))
    assert main(["grade", str(SOLUTIONS), "--rubric", str(bad)]) == 2
    assert message in capsys.readouterr().err


@gallery_test
@pytest.mark.parametrize("case, test_id, mistake", [
    ("bug/affine_dw_transposed", "affine_backward_gradient", "transposed"),  # a shape's hint
    ("bug/affine_no_bias", "affine_forward_values", "the bias b is missing"),  # a value's
    ("near_miss/train_skips_last_batch", "train_sgd", "smaller batch of each epoch is skipped"),
])
def test_a_failure_names_its_known_mistake_as_data(gallery, case, test_id, mistake):
    """The class report counts known mistakes from this field, never from the text."""
    test = next(t for t in gallery[case].report.tests if t.id == test_id)
    assert test.score == 0 and test.mistake and mistake in test.mistake, (test.mistake,
                                                                          test.output)


def run_one_check(tmp_path: Path, check_id: str, file: str,
                  change: tuple[str, str] | None) -> tuple[bool, str]:
    """(passed, output) of one check on the reference with ``change`` (old, new) in ``file``."""
    from autograder.grade import all_checks, run_checks

    files = reference_files()
    if change is not None:
        assert files[file].count(change[0]) == 1
        files[file] = files[file].replace(*change)
    rubric = load_rubric()
    checks = [c for c in all_checks(rubric) if c.id == check_id]
    [(_, passed, output)], _, _ = run_checks(make_submission(tmp_path, files), checks, rubric,
                                             rubric.seed)
    return passed, output


OVERFIT_CASES = {
    # name: (old, new in the reference fc_net.py, what the failure must say)
    "tiny_init": ("scale = np.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale",
                  "scale = 1e-3", "of 20 training points right, expected 100%"),
    "grads_miss_a_key": ("        return float(loss), grads",
                         '        grads.pop("b1", None)\n        return float(loss), grads',
                         "grads does not have the keys of params"),
    "grads_transposed": ('        return float(loss), grads',
                         '        grads["W1"] = grads["W1"].T\n        return float(loss), grads',
                         "grads['W1']"),
    "no_tuple": ("        return float(loss), grads", "        return float(loss)",
                 "expected a tuple"),
    "nan_grads": ("        return float(loss), grads",
                  '        grads["W1"] = grads["W1"] * np.nan\n        return float(loss), grads',
                  "grads['W1']"),
    # Accepted as the other checks accept it: not a failure.
    "a_list": ("        return float(loss), grads", "        return [float(loss), grads]", None),
}


@pytest.mark.parametrize("case", ["reference", *OVERFIT_CASES])
def test_the_overfit_check_judges_the_params_gradient_descent_ends_with(tmp_path, case):
    """FullyConnectedNet_overfit runs its 40 steps in the worker (worker.descend) and
    judges the params they end with here: a net that cannot learn from its own
    initialization fails, and so does one whose loss returns the wrong grads, saying
    what is wrong with them."""
    change = OVERFIT_CASES[case][:2] if case != "reference" else None
    passed, output = run_one_check(tmp_path, "FullyConnectedNet_overfit", "fc_net.py", change)
    if case == "reference" or OVERFIT_CASES[case][2] is None:
        assert passed and "training accuracy 100% on 20 points" in output, output
    else:
        assert not passed and OVERFIT_CASES[case][2] in output, output


SGD_CASES = {
    # name: (old, new in the reference train, what the failure must say)
    "never_shuffled": ("        order = rng.permutation(n)\n", "        order = np.arange(n)\n",
                       "never shuffled"),
    "same_order_every_epoch": ("        order = rng.permutation(n)\n",
                               "        order = np.random.default_rng(seed).permutation(n)\n",
                               "every epoch uses the same order"),
    "global_rng": ("        order = rng.permutation(n)\n",
                   "        order = np.random.permutation(n)\n",
                   "two runs with the same seed end with different parameters"),
    # lr_decay's schedule, seen only over three epochs or more: decayed once, not compounded
    "decayed_once": ("        learning_rate *= lr_decay\n",
                     "        learning_rate *= lr_decay if epoch == 0 else 1.0\n",
                     "does not match the documented minibatch SGD's"),
    "decay_ignored_lr_over_epoch": ("        learning_rate *= lr_decay\n",
                                    "        learning_rate = learning_rate * (epoch + 1) / "
                                    "(epoch + 2)\n",
                                    "does not match the documented minibatch SGD's"),
    "an_epoch_too_few": ("    for epoch in range(num_epochs):\n",
                         "    for epoch in range(num_epochs - 1):\n",
                         "called model.loss(X_batch, y_batch) 4 times, expected 6"),
}


@pytest.mark.parametrize("case", ["reference", *SGD_CASES])
def test_the_sgd_check_names_a_shuffle_or_schedule_mistake(tmp_path, case):
    """The probe's epochs show each of these shuffle, lr_decay and epoch mistakes."""
    change = SGD_CASES[case][:2] if case != "reference" else None
    passed, output = run_one_check(tmp_path, "train_sgd", "two_layer_net.py", change)
    if case == "reference":
        assert passed, output
    else:
        assert not passed and SGD_CASES[case][2] in output, output


def test_a_loss_that_hangs_after_its_first_step_costs_about_one_calls_time(tmp_path):
    """The overfit check's last 39 steps run as one request: their time limit follows the
    first step's time (with one call's time at least), not 39 calls' time."""
    import re

    from gallery_runs import rubric_with

    from autograder.grade import all_checks, run_checks

    files = reference_files()
    old = "        ### BEGIN SOLUTION hint: one loop over the L layers"
    assert files["fc_net.py"].count(old) == 1
    files["fc_net.py"] = files["fc_net.py"].replace(
        old, "        _CALLS.append(1)\n        while len(_CALLS) > 1:\n            pass\n" + old)
    files["fc_net.py"] += "\n_CALLS = []\n"
    rubric = rubric_with(tmp_path, call_timeout=1.0)
    overfit = [c for c in all_checks(rubric) if c.id == "FullyConnectedNet_overfit"]
    [(_, passed, output)], _, _ = run_checks(make_submission(tmp_path / "s", files), overfit,
                                             rubric, rubric.seed)
    seconds = re.search(r"timed out after ([0-9.]+) s \(39 steps' time limit\)", output)
    assert not passed and seconds, output
    assert float(seconds.group(1)) < 5, output  # 39 calls' time would be 39 s


@pytest.mark.parametrize("check_id", ["train_moons", "train_sgd"])
def test_a_train_that_hangs_times_out_on_the_training_time_limit_by_name(tmp_path, check_id):
    from gallery_runs import rubric_with

    from autograder.grade import all_checks, run_checks

    files = reference_files()
    old = "    history = {\"loss\": [], \"train_acc\": [], \"val_acc\": []}\n"
    assert files["two_layer_net.py"].count(old) == 1
    files["two_layer_net.py"] = files["two_layer_net.py"].replace(
        old, old + "    while True:\n        pass\n")
    rubric = rubric_with(tmp_path, call_timeout=5.0, train_timeout=1.0)
    chosen = [c for c in all_checks(rubric) if c.id == check_id]
    [(_, passed, output)], _, _ = run_checks(make_submission(tmp_path / "s", files), chosen,
                                             rubric, rubric.seed)
    assert not passed and "timed out after 1 s (training time limit)" in output, output


@pytest.mark.parametrize("chosen", [{}, {"OMP_NUM_THREADS": "3"}])
def test_the_grading_process_uses_one_blas_thread_unless_the_caller_chose(chosen):
    """Importing the package (the command line does it first) sets one BLAS thread before
    numpy is imported; a thread count the caller set is left as it is."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in names} | chosen
    done = subprocess.run([sys.executable, "-c", "import autograder, os; print([os.environ.get(n)"
                           f" for n in {names!r}])"], capture_output=True, text=True, env=env,
                          timeout=60, cwd=SOLUTIONS.parent)
    expected = [chosen.get(n) for n in names] if chosen else ["1", "1", "1"]
    assert done.stdout.strip() == str(expected), done.stderr


def test_a_large_input_is_drawn_once_per_seed_and_no_check_can_change_it():
    # Every submission of a batch gets the same large inputs: drawn once, read-only after.
    from types import SimpleNamespace

    import numpy as np

    from autograder.checks import Context
    from autograder.reference import initial_params

    draws = []

    def draw(rng):
        draws.append(1)
        return rng.standard_normal(3), {"W": (rng.standard_normal(2),)}

    first, second = (Context(SimpleNamespace(), seed).fixed("test/large", draw)
                     for seed in (1, 1))
    assert first is second and len(draws) == 1
    other = Context(SimpleNamespace(), 2).fixed("test/large", draw)
    assert len(draws) == 2 and not np.array_equal(other[0], first[0])
    for array in (first[0], first[1]["W"][0]):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    from autograder.reference import reference
    params = initial_params(reference()["two_layer_net"].TwoLayerNet, 4, 3, 2, seed=0)
    assert params["W1"] is initial_params(reference()["two_layer_net"].TwoLayerNet, 4, 3, 2,
                                          seed=0)["W1"]
    with pytest.raises(ValueError, match="read-only"):
        params["W1"][0, 0] = 1.0


def test_a_reference_layer_hands_back_the_submissions_own_inputs_in_its_cache(tmp_path):
    # As the real layer would (and without sending them back): the cache is (x, w, b).
    from autograder.reference_calls import call_reference_layer
    from autograder.sandbox import Sandbox
    (tmp_path / "layers.py").write_text("def affine_forward(x, w, b):\n    raise ValueError\n")
    (tmp_path / "probe.py").write_text(
        "import numpy as np\nimport layers\n\n\ndef cache_is_inputs():\n"
        "    x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)\n"
        "    out, cache = layers.affine_forward(x, w, b)\n"
        "    return float(cache[0] is x and cache[1] is w and cache[2] is b), out\n")
    with Sandbox(tmp_path, load_rubric().limits) as box:
        box.use_reference_layers(("affine_forward", "affine_backward"), False)
        box.on_callback = call_reference_layer
        same, out = box.call("probe.cache_is_inputs")
    assert same == 1.0 and out.tolist() == [[3.0] * 4] * 2
