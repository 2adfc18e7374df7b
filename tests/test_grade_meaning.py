"""What a grade means (issue 7): points say that the student can do backprop.

The gallery's hostile submissions (tests/gallery/hostile) compute nothing, echo their
inputs, get gradients by numeric differences, cheat at training or return garbage; its
near misses (tests/gallery/near_miss) are the reference with one small mistake. A case
folder holds only the files that differ from the reference. Every case is graded here and
held, check by check, to what its grade must mean:

- no points for no work: a hygiene check (shape, inputs, stability, history, the initial
  loss) pays only when the same function's values (or gradient) check passes;
- a backward pass is backprop: the reference's analytic gradient, in about the
  reference's time (numeric differences fail, saying so);
- training is judged on the parameters train leaves, which the grader reads back and
  scores with the reference forward: predict and whatever else the submission reports
  play no part;
- one bug costs one function: the net's and the trainer's checks run on the reference
  layers in place of any that failed their own checks;
- whatever comes back, grading finishes with a complete report that says what was wrong.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from submissions import gallery_files, make_submission

from autograder.grade import Report, grade

GALLERY = Path(__file__).parent / "gallery"
KINDS_OF_CASES = ("hostile", "near_miss")
pytestmark = pytest.mark.xdist_group("gallery")  # graded once, in tests/gallery_runs.py

LAYERS = ("affine", "relu", "sigmoid")
LOSSES = ("softmax_loss", "bce_loss", "mse_loss")
DATASETS = ("moons", "circles", "iris", "digits", "wine", "sine", "diabetes")
LAYER_FUNCTIONS = (*(f"{layer}_{way}" for layer in LAYERS for way in ("forward", "backward")),
                   *LOSSES, "affine_jacobians")
FC_FUNCTIONS = ("FullyConnectedNet.__init__", "FullyConnectedNet.loss",
                "FullyConnectedNet.predict", "FullyConnectedNet")
TWO_LAYER_FUNCTIONS = ("TwoLayerNet.__init__", "TwoLayerNet.loss", "TwoLayerNet.predict",
                       "train")
NET_FUNCTIONS = (*TWO_LAYER_FUNCTIONS, *FC_FUNCTIONS)
ALL_FUNCTIONS = LAYER_FUNCTIONS + NET_FUNCTIONS


def _contract() -> dict[str, tuple[str, str | None]]:
    """Check id -> (the function it grades, its kind where the contract fixes it)."""
    ids: dict[str, tuple[str, str | None]] = {}
    for layer in LAYERS:
        forward, backward = f"{layer}_forward", f"{layer}_backward"
        ids |= {f"{forward}_values": (forward, "values"),
                f"{forward}_output": (forward, "shape"),
                f"{forward}_inputs": (forward, "inputs"),
                f"{backward}_gradient": (backward, "gradient"),
                f"{backward}_shapes": (backward, "shape"),
                f"{backward}_inputs": (backward, "inputs")}
    ids["sigmoid_stable"] = ("sigmoid_forward", "stability")
    for loss in LOSSES:
        ids |= {f"{loss}_value": (loss, None), f"{loss}_gradient": (loss, None),
                f"{loss}_output": (loss, "shape"), f"{loss}_stable": (loss, "stability"),
                f"{loss}_inputs": (loss, "inputs")}
    ids["affine_jacobians_values"] = ("affine_jacobians", "values")
    ids["affine_jacobians_shapes"] = ("affine_jacobians", "shape")
    ids["FullyConnectedNet_init"] = ("FullyConnectedNet.__init__", "init")
    for name in ("outputs", "loss", "gradients", "regression"):
        ids[f"FullyConnectedNet_{name}"] = ("FullyConnectedNet.loss", None)
    ids["FullyConnectedNet_predict"] = ("FullyConnectedNet.predict", "predict")
    ids["FullyConnectedNet_overfit"] = ("FullyConnectedNet", "training")
    ids["TwoLayerNet_init"] = ("TwoLayerNet.__init__", None)
    for name in ("scores", "probs", "loss", "gradients_softmax", "gradients_bce",
                 "initial_loss"):
        ids[f"TwoLayerNet_{name}"] = ("TwoLayerNet.loss", None)
    ids["TwoLayerNet_predict"] = ("TwoLayerNet.predict", None)
    ids["train_sgd"] = ("train", None)
    ids["train_history"] = ("train", "history")
    ids |= {f"train_{name}": ("train", None) for name in DATASETS}
    return ids


CONTRACT = _contract()


def _gates() -> dict[str, str]:
    """Hygiene check id -> the check it is awarded with (rule 1)."""
    gates = {"sigmoid_stable": "sigmoid_forward_values", "train_history": "train_sgd",
             "affine_jacobians_shapes": "affine_jacobians_values",
             "TwoLayerNet_initial_loss": "TwoLayerNet_loss"}
    for layer in LAYERS:
        for what in ("output", "inputs"):
            gates[f"{layer}_forward_{what}"] = f"{layer}_forward_values"
        for what in ("shapes", "inputs"):
            gates[f"{layer}_backward_{what}"] = f"{layer}_backward_gradient"
    for loss in LOSSES:
        for what in ("output", "stable", "inputs"):
            gates[f"{loss}_{what}"] = f"{loss}_value"
    return gates


GATES = _gates()
TRAINING = tuple(f"train_{name}" for name in DATASETS)
BACKWARD_GRADIENTS = tuple(f"{layer}_backward_gradient" for layer in LAYERS)
NET_GRADIENTS = ("TwoLayerNet_gradients_softmax", "TwoLayerNet_gradients_bce")


def checks_of(*functions: str) -> tuple[str, ...]:
    """Every check id that grades one of ``functions``."""
    return tuple(test_id for test_id, (function, _) in CONTRACT.items()
                 if function in functions)


@dataclass(frozen=True)
class Expect:
    """What grading gallery case ``case`` (a folder under tests/gallery) must give.

    ``zero``: checks that score 0; ``full``: checks that keep all their points;
    ``phrase``: a regular expression the output of every ``zero`` check must match;
    ``touched``: the functions allowed to lose points (every other one keeps all of
    them); ``a_zero_in``: at least one check of these functions scores 0, saying
    ``phrase``.
    """

    case: str
    zero: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    touched: tuple[str, ...] = ()
    phrase: str = ""
    a_zero_in: tuple[str, ...] = ()


EXPECTATIONS = (
    # -- no work, no points ------------------------------------------------------------
    Expect("hostile/null_functions", zero=tuple(CONTRACT), touched=ALL_FUNCTIONS),
    Expect("hostile/echo_functions", zero=checks_of(*LAYER_FUNCTIONS),
           touched=LAYER_FUNCTIONS),
    # -- right numbers, no backprop ----------------------------------------------------
    Expect("hostile/finite_difference_backward",
           zero=BACKWARD_GRADIENTS + NET_GRADIENTS + ("FullyConnectedNet_gradients",),
           phrase="numeric differences",
           full=(*checks_of("affine_forward", "relu_forward", "sigmoid_forward", *LOSSES,
                            "TwoLayerNet.__init__", "TwoLayerNet.predict",
                            "FullyConnectedNet.__init__", "FullyConnectedNet.predict"),
                 "TwoLayerNet_scores", "TwoLayerNet_probs", "TwoLayerNet_loss",
                 "FullyConnectedNet_outputs", "FullyConnectedNet_loss",
                 "FullyConnectedNet_regression", "train_sgd", "train_history"),
           touched=("affine_backward", "relu_backward", "sigmoid_backward",
                    "TwoLayerNet.loss", "FullyConnectedNet.loss", "FullyConnectedNet",
                    "train")),
    # -- cheating at training ----------------------------------------------------------
    Expect("hostile/knn_train", zero=TRAINING, touched=("train", "TwoLayerNet.predict")),
    Expect("hostile/sklearn_via_importlib", zero=TRAINING, touched=("train",)),
    Expect("hostile/label_replay", zero=TRAINING, touched=("train", "TwoLayerNet.predict")),
    # -- broken files and garbage returns: they cost what returned them ------------------
    Expect("hostile/sys_exit_on_import", zero=checks_of(*TWO_LAYER_FUNCTIONS),
           touched=TWO_LAYER_FUNCTIONS),
    Expect("hostile/garbage_history_arrays", zero=("train_history",), touched=("train",)),
    Expect("hostile/garbage_none_on_second_call", phrase="None",
           a_zero_in=("sigmoid_forward", "sigmoid_backward"),
           touched=("sigmoid_forward", "sigmoid_backward")),
    Expect("hostile/garbage_ragged_dx", zero=("relu_backward_gradient",),
           touched=("relu_backward",)),
    Expect("hostile/garbage_object_loss", zero=("softmax_loss_value",),
           touched=("softmax_loss",)),
    Expect("hostile/garbage_dict_out", zero=("affine_forward_values",),
           touched=("affine_forward",)),
    # float32 carries ~1e-7 relative error into whatever uses ReLU: it may pass or fail.
    Expect("hostile/garbage_float32", touched=("relu_forward", "relu_backward",
                                               *NET_FUNCTIONS)),
    Expect("hostile/garbage_huge_values", zero=("affine_backward_gradient",),
           touched=("affine_backward",)),
    Expect("hostile/garbage_nan_inf", zero=("bce_loss_value", "bce_loss_gradient"),
           touched=("bce_loss",)),
    # -- near misses: one small mistake costs the check that sees it ---------------------
    Expect("near_miss/affine_values_off_1e3", zero=checks_of("affine_forward"),
           touched=("affine_forward",)),
    Expect("near_miss/relu_backward_off_1e3", zero=checks_of("relu_backward"),
           touched=("relu_backward",)),
    Expect("near_miss/predict_off_on_few_labels", zero=("TwoLayerNet_predict",),
           full=TRAINING, touched=("TwoLayerNet.predict",)),
    Expect("near_miss/train_skips_last_batch", zero=("train_sgd", "train_history"),
           full=TRAINING, touched=("train",)),
    Expect("near_miss/train_ignores_lr_decay", zero=("train_sgd", "train_history"),
           full=TRAINING, touched=("train",)),
    Expect("near_miss/weight_scale_0_01", zero=("TwoLayerNet_init",),
           phrase=r"\bHe\b|[Ii]nitiali[sz]", full=TRAINING,
           touched=("TwoLayerNet.__init__",)),
)


# -- helpers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rubric(short_rubric):
    return short_rubric


@pytest.fixture(scope="module")
def reference_report(gallery) -> Report:
    return gallery["reference"].report


def case_files(case: str) -> dict[str, str]:
    """The submission of gallery ``case``: the reference, with the case's files over it."""
    return gallery_files(GALLERY / case)


def grade_case(case: str, tmp_path: Path, rubric) -> Report:
    return grade(make_submission(tmp_path / "submission", case_files(case)), rubric)


def by_id(report: Report) -> dict:
    """{check id: TestResult}."""
    return {test.id: test for test in report.tests}


def function_scores(report: Report) -> dict[str, tuple[float, float]]:
    """{function: (score, max_score)} summed over the function's checks."""
    totals: dict[str, tuple[float, float]] = {}
    for test in report.tests:
        score, max_score = totals.get(test.function, (0.0, 0.0))
        totals[test.function] = (score + test.score, max_score + test.max_score)
    return totals


def describe(test) -> str:
    return f"{test.id} ({test.score:g}/{test.max_score:g}): {test.output}"


def assert_grade_is_well_formed(report: Report, reference: Report) -> None:
    """Rules every report obeys, whatever was graded."""
    tests = by_id(report)
    assert len(tests) == len(report.tests), "two tests share an id"
    # Complete: every check the rubric gives points to, each graded.
    assert sorted(tests) == sorted(t.id for t in reference.tests)
    assert report.max_score == reference.max_score
    for test in report.tests:
        assert test.function == CONTRACT[test.id][0], describe(test)
        assert test.max_score == by_id(reference)[test.id].max_score, describe(test)
        assert 0 <= test.score <= test.max_score, describe(test)
        assert isinstance(test.output, str), describe(test)
        assert "Traceback" not in test.output, describe(test)
        if test.score < test.max_score:
            assert test.output.strip(), f"{test.id} lost points without saying why"
    # No points for hygiene when the function's values are wrong.
    for test_id, gate in GATES.items():
        if test_id in tests and gate in tests and tests[gate].score < tests[gate].max_score:
            assert tests[test_id].score == 0, (
                f"{test_id} scored {tests[test_id].score:g} although {gate} failed: "
                f"{tests[gate].output}")


# -- the contract, on the reference ---------------------------------------------------

def test_the_reference_gets_every_check_of_the_contract_in_full(reference_report):
    tests = by_id(reference_report)
    assert sorted(tests) == sorted(CONTRACT)
    assert len(reference_report.tests) == len(CONTRACT)
    for test_id, (function, kind) in CONTRACT.items():
        test = tests[test_id]
        assert test.function == function, describe(test)
        if kind is not None:
            assert test.kind == kind, (test_id, test.kind)
        assert test.max_score > 0 and test.score == test.max_score, describe(test)
    assert reference_report.score == reference_report.max_score == 100


def test_every_gallery_case_has_expectations_and_a_readme_line():
    folders = {f"{kind}/{path.name}" for kind in KINDS_OF_CASES
               for path in (GALLERY / kind).iterdir() if path.is_dir()}
    assert folders == {expect.case for expect in EXPECTATIONS}
    for kind in KINDS_OF_CASES:
        listed = re.findall(r"^- `([^`]+)`:", (GALLERY / kind / "README.md").read_text(),
                            flags=re.M)
        assert sorted(listed) == sorted(f.split("/")[1] for f in folders
                                        if f.startswith(kind + "/"))
    for folder in folders:
        names = {path.name for path in (GALLERY / folder).glob("*.py")}
        assert names and names <= {"layers.py", "two_layer_net.py", "fc_net.py"}, folder


# -- every case ------------------------------------------------------------------------

@pytest.mark.parametrize("expect", EXPECTATIONS, ids=lambda expect: expect.case)
def test_a_gallery_case_scores_what_it_must(gallery, reference_report, expect):
    report = gallery[expect.case].report
    assert_grade_is_well_formed(report, reference_report)
    tests = by_id(report)
    for test_id in expect.zero:
        test = tests[test_id]
        assert test.score == 0, describe(test)
        assert re.search(expect.phrase, test.output), describe(test)
    for test_id in expect.full:
        assert tests[test_id].score == tests[test_id].max_score, describe(tests[test_id])
    if expect.a_zero_in:
        zeros = [t for t in report.tests if t.function in expect.a_zero_in and t.score == 0]
        assert zeros, f"no check of {expect.a_zero_in} lost its points"
        assert any(re.search(expect.phrase, t.output) for t in zeros), \
            [describe(t) for t in zeros]
    # One bug costs one function: everything the case did not touch keeps all its points.
    for function, (score, max_score) in function_scores(report).items():
        if function not in expect.touched:
            lost = [describe(t) for t in report.tests
                    if t.function == function and t.score < t.max_score]
            assert score == max_score, lost
    if expect.zero == tuple(CONTRACT):
        assert report.score == 0


def test_the_sklearn_cheat_earns_nothing_even_without_landlock(tmp_path, rubric,
                                                               reference_report):
    """Landlock keeps site-packages unreadable where the kernel offers it. Where it does
    not (older kernels, container seccomp profiles), the import rules must still hold
    against a train that strips sys.meta_path and imports sklearn with importlib."""
    # 5 s to train: so that loading sklearn, which takes seconds, fails for what it does.
    without = dataclasses.replace(rubric, train_timeout=5.0, limits=dataclasses.replace(
        rubric.limits, landlock=False, insecure=True))
    report = grade_case("hostile/sklearn_via_importlib", tmp_path, without)
    assert "landlock: not used" in "; ".join(report.protections)
    assert_grade_is_well_formed(report, reference_report)
    tests = by_id(report)
    for test_id in TRAINING:
        assert tests[test_id].score == 0, describe(tests[test_id])


def test_a_train_that_never_decays_its_learning_rate_is_told_so(gallery):
    # The replay without lr_decay runs only once the check has failed: it must still run.
    test = by_id(gallery["near_miss/train_ignores_lr_decay"].report)["train_sgd"]
    assert "likely mistake: lr_decay is not applied after each epoch" in test.output, \
        describe(test)
