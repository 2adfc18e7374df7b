"""The local tests and the grader agree, function by function (issue 7, item 9).

For every submission of the gallery (the reference, the untouched stubs, each
known bug, the correct variants, the hostile cases and the near misses), all
local tests of a function pass in ``cd assignment && pytest`` exactly when the
grader gives that function full points. Training on the held-out datasets is
left out on both sides (the local moons test, graded "train (held-out)", is not
run).

Each submission's local tests run once per session, in a pytest process of their
own, with a small plugin that records every test's ``grades`` mark and outcome, and
it is graded once (tests/gallery_runs.py); the held-out datasets' checks are left
out of the grader's verdicts.
"""

from __future__ import annotations

import functools

import pytest
from gallery_runs import LocalRun, submissions

from autograder.rubric import load_rubric

# The gallery's runs are made once, in this group, and take minutes: they start first.
pytestmark = [pytest.mark.xdist_group("gallery"), pytest.mark.heavy]

FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
             "sigmoid_forward", "sigmoid_backward", "softmax_loss", "bce_loss", "mse_loss",
             "affine_jacobians", "TwoLayerNet.__init__", "TwoLayerNet.loss",
             "TwoLayerNet.predict", "train", "FullyConnectedNet.__init__",
             "FullyConnectedNet.loss", "FullyConnectedNet.predict", "FullyConnectedNet")
NAMES = [name for name, _ in submissions()]


@functools.cache
def held_out_ids() -> frozenset[str]:
    return frozenset(f"train_{name}" for name in load_rubric().datasets)


@pytest.fixture(scope="module")
def reference_run(gallery) -> LocalRun:
    return gallery["reference"].local


def functions_by_file(reference: LocalRun) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for node, functions in reference.tests.items():
        found.setdefault(node.split("::")[0], set()).update(functions or ())
    return found


def local_verdicts(run: LocalRun, reference: LocalRun) -> dict[str, tuple[bool, list[str]]]:
    """{function: (all its local tests pass, why not)}."""
    why: dict[str, list[str]] = {f: [] for f in FUNCTIONS}
    for file, error in run.collect_errors.items():
        for function in functions_by_file(reference).get(file, ()):
            if function in why:
                why[function].append(f"{file} could not be collected: {error[-300:]}")
    expected_tests = set(reference.tests)
    for node in expected_tests - set(run.tests):
        if not any(node.startswith(file) for file in run.collect_errors):
            for function in reference.tests[node] or ():
                if function in why:
                    why[function].append(f"{node} was not collected")
    for node, functions in run.tests.items():
        if node not in run.passed:
            text = run.failures.get(node, "did not run to the end (the run died or hung?)")
            for function in functions or ():
                if function in why:
                    why[function].append(f"{node}: {text[-300:]}")
    return {f: (not reasons, reasons) for f, reasons in why.items()}


def grader_verdicts(report) -> dict[str, tuple[bool, list[str]]]:
    """{function: (full points, why not)}, training on held-out data aside."""
    held_out = held_out_ids()
    found: dict[str, tuple[bool, list[str]]] = {f: (True, []) for f in FUNCTIONS}
    seen = set()
    for test in report.tests:
        if test.id in held_out:
            continue
        seen.add(test.function)
        if test.score < test.max_score - 1e-9:
            found[test.function] = (False, [*found[test.function][1],
                                            f"{test.id}: {test.output[:300]}"])
    for function in set(FUNCTIONS) - seen:
        found[function] = (False, ["the grader has no test of it"])
    return found


def test_every_local_test_names_the_functions_it_grades(reference_run):
    assert len(reference_run.tests) >= 40, reference_run.log
    for node, functions in reference_run.tests.items():
        assert functions, f"{node} has no grades mark"
        assert set(functions) <= set(FUNCTIONS), (node, functions)
    graded = {f for functions in reference_run.tests.values() for f in functions}
    assert graded == set(FUNCTIONS), set(FUNCTIONS) - graded
    assert set(reference_run.passed) == set(reference_run.tests), (reference_run.failures,
                                                                   reference_run.log)


@pytest.mark.parametrize("name", NAMES)
def test_local_tests_and_grader_agree_per_function(gallery, reference_run, name):
    run, report = gallery[name].local, gallery[name].report
    local, graded = local_verdicts(run, reference_run), grader_verdicts(report)
    disagreements = []
    for function in FUNCTIONS:
        (local_ok, local_why), (grader_ok, grader_why) = local[function], graded[function]
        if local_ok != grader_ok:
            disagreements.append(
                f"{function}: local tests {'pass' if local_ok else 'fail'}, grader gives "
                f"{'full' if grader_ok else 'partial'} points\n    local: "
                + ("\n    local: ".join(local_why) or "-")
                + "\n    grader: " + ("\n    grader: ".join(grader_why) or "-"))
    assert not disagreements, f"{name}:\n" + "\n".join(disagreements) + "\n" + run.log[-2000:]
