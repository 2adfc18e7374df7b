"""The local tests and the grader agree, function by function (issue 7, item 9).

For every submission of the gallery (the reference, the untouched stubs, each
known bug, the correct variants, the hostile cases and the near misses), all
local tests of a function pass in ``cd assignment && pytest`` exactly when the
grader gives that function full points. Training on the held-out datasets is
left out on both sides (the local moons test, graded "train (held-out)", is not
run).

Each submission's local tests run once, in a pytest process of their own, with
a small plugin that records every test's ``grades`` mark and outcome; its
grading runs without the held-out datasets.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from submissions import BUGS, buggy_files, gallery_files, make_submission, reference_files

from autograder.grade import grade
from autograder.rubric import load_rubric

GALLERY = Path(__file__).parent / "gallery"
FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
             "sigmoid_forward", "sigmoid_backward", "softmax_loss", "bce_loss", "mse_loss",
             "affine_jacobians", "TwoLayerNet.__init__", "TwoLayerNet.loss",
             "TwoLayerNet.predict", "train", "FullyConnectedNet.__init__",
             "FullyConnectedNet.loss", "FullyConnectedNet.predict", "FullyConnectedNet")
LOCAL_TIMEOUT = 600
MOONS = "test_two_layer_net.py::test_train_reaches_threshold_on_moons"  # held-out: not run

# Loaded with -p into the student's pytest: one JSON line per event, written as it
# happens, so that a run that dies midway still tells what it got through.
PLUGIN = '''
import json
import os

_OUT = os.environ["AGREEMENT_RESULTS"]


def _write(record):
    with open(_OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\\n")


def pytest_collection_finish(session):
    for item in session.items:
        mark = item.get_closest_marker("grades")
        _write({"collected": item.nodeid, "functions": list(mark.args) if mark else None})


def pytest_collectreport(report):
    if report.failed:
        _write({"collect_error": report.nodeid, "text": str(report.longrepr)[-3000:]})


def pytest_runtest_logreport(report):
    if report.failed or report.when == "call":
        _write({"test": report.nodeid, "outcome": report.outcome,
                "text": str(report.longrepr)[-3000:] if report.failed else ""})
'''


def gallery_cases() -> list[tuple[str, dict[str, str]]]:
    """(name, files over the reference) of every gallery folder present."""
    cases = []
    for kind in ("correct", "hostile", "near_miss"):
        for folder in sorted(p for p in (GALLERY / kind).glob("*") if p.is_dir()):
            cases.append((f"{kind}/{folder.name}", gallery_files(folder)))
    return cases


SUBMISSIONS = [("reference", reference_files()), ("stubs", {}),
               *((f"bug/{bug.name}", buggy_files(bug)) for bug in BUGS),
               *gallery_cases()]


@dataclasses.dataclass
class LocalRun:
    """What one run of the local tests gave."""

    tests: dict[str, tuple[str, ...] | None]  # node id -> its grades mark's functions
    failures: dict[str, str]                  # node id -> failure text, for every failed test
    passed: set[str]
    collect_errors: dict[str, str]            # file -> error text
    log: str


def run_local_tests(folder: Path, plugin_dir: Path) -> LocalRun:
    results = folder.parent / f"{folder.name}.jsonl"
    results.unlink(missing_ok=True)
    env = {**os.environ, "AGREEMENT_RESULTS": str(results),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir),
                                                       os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "agreement_plugin",
                               "-p", "no:cacheprovider", "--deselect", MOONS], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=LOCAL_TIMEOUT)
        log = done.stdout[-5000:] + done.stderr[-2000:]
    except subprocess.TimeoutExpired:
        log = f"the local tests did not finish within {LOCAL_TIMEOUT} s"
    run = LocalRun({}, {}, set(), {}, log)
    lines = results.read_text(encoding="utf-8").splitlines() if results.exists() else []
    for record in map(json.loads, lines):
        if "collected" in record:
            functions = record["functions"]
            run.tests[record["collected"]] = tuple(functions) if functions is not None else None
        elif "collect_error" in record:
            run.collect_errors[record["collect_error"]] = record["text"]
        elif record["outcome"] == "failed":
            run.failures[record["test"]] = record["text"]
        elif record["outcome"] == "passed":
            run.passed.add(record["test"])
    run.passed -= set(run.failures)
    return run


@functools.cache
def held_out_ids() -> frozenset[str]:
    return frozenset(f"train_{name}" for name in load_rubric().datasets)


def rubric_without_training():
    """The rubric with the held-out datasets at 0 points: they are not run."""
    rubric = load_rubric()
    return dataclasses.replace(rubric, datasets={
        name: dataclasses.replace(rule, points=0.0) for name, rule in rubric.datasets.items()})


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("agreement_plugin")
    (folder / "agreement_plugin.py").write_text(PLUGIN, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, plugin_dir):
    """{submission name: (LocalRun, grader Report)}, computed a few at a time in threads."""
    rubric, root = rubric_without_training(), tmp_path_factory.mktemp("agreement")

    def both(item: tuple[int, tuple[str, dict[str, str]]]):
        number, (name, files) = item
        folder = make_submission(root / f"s{number}", files)
        return name, (run_local_tests(folder, plugin_dir), grade(folder, rubric))
    # Few at a time: the timing tests on both sides allow 50 times backprop's time, not
    # a machine that is busy with ten submissions at once.
    jobs = max(1, min(4, (os.cpu_count() or 2) // 2))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(pool.map(both, enumerate(SUBMISSIONS)))


@pytest.fixture(scope="module")
def reference_run(outcomes) -> LocalRun:
    return outcomes["reference"][0]


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


@pytest.mark.parametrize("name", [name for name, _ in SUBMISSIONS])
def test_local_tests_and_grader_agree_per_function(outcomes, reference_run, name):
    run, report = outcomes[name]
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
