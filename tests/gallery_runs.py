"""Every submission of the gallery, run the two ways a student's code is judged.

The reference, the untouched stubs, each known bug and every folder under
tests/gallery are each built once per test session, their local tests run
(``cd assignment && pytest``, as a student runs them, in a process of their
own, forked from one that imported pytest once: local_pytest_server.py) and
graded by ``grade`` with the test rubric's short limits. The tests of the local
tests (test_student_tests.py), of the agreement between local tests and grader
(test_agreement.py) and of what a grade means (test_grade_meaning.py) all read
these same runs, so no submission is run or graded twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from submissions import BUGS, buggy_files, gallery_files, make_submission, reference_files

from autograder.grade import Report, grade
from autograder.paths import RUBRIC
from autograder.rubric import Rubric, load_rubric

GALLERY = Path(__file__).parent / "gallery"
LOCAL_TIMEOUT = 600
# Training on the local moons stands for the grader's held-out training, which the
# agreement leaves out on both sides.
MOONS = "test_two_layer_net.py::test_train_reaches_threshold_on_moons"

# Loaded with -p into the student's pytest: one JSON line per event, written as it
# happens, so that a run that dies midway still tells what it got through.
PLUGIN = '''
import json
import os

_OUT = os.environ["GALLERY_RESULTS"]


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
                "text": str(report.longrepr) if report.failed else ""})
'''


def rubric_with(folder: Path, **values: float) -> Rubric:
    """The rubric with ``values`` for its top-level keys (limits), written into ``folder``
    and read back, so the grader's own validation sees it."""
    text = RUBRIC.read_text()
    for key, value in values.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
    path = folder / "rubric.toml"
    path.write_text(text)
    return load_rubric(path)


def short_rubric(folder: Path) -> Rubric:
    """The rubric with short limits, written into ``folder``. Calls get 2 s: enough for
    any reference call, and a numeric-difference backward on a large layer times out
    quickly. Training gets 3 s: the slowest correct variant (loops) trains any dataset in
    well under 1 s, and a numeric-difference net times out at each of them. (Loading
    sklearn without Landlock takes longer: that test gives train 5 s.)"""
    return rubric_with(folder, call_timeout=2.0, train_timeout=3.0, submission_timeout=120.0,
                       memory_mb=1024)


def gallery_cases() -> list[tuple[str, dict[str, str]]]:
    """(name, files over the reference) of every gallery folder present."""
    cases = []
    for kind in ("correct", "hostile", "near_miss"):
        for folder in sorted(p for p in (GALLERY / kind).glob("*") if p.is_dir()):
            cases.append((f"{kind}/{folder.name}", gallery_files(folder)))
    return cases


def submissions() -> list[tuple[str, dict[str, str]]]:
    """(name, files) of every submission: "reference", "stubs", "bug/<name>", "<kind>/<case>"."""
    return [("reference", reference_files()), ("stubs", {}),
            *((f"bug/{bug.name}", buggy_files(bug)) for bug in BUGS), *gallery_cases()]


@dataclasses.dataclass
class LocalRun:
    """What one run of the local tests gave."""

    tests: dict[str, tuple[str, ...] | None]  # node id -> its grades mark's functions
    failures: dict[str, str]                  # node id -> failure text, for every failed test
    passed: set[str]
    collect_errors: dict[str, str]            # file -> error text
    log: str


@dataclasses.dataclass
class GalleryRun:
    """One submission: where it was built, its local tests' run and its grade."""

    name: str
    folder: Path
    local: LocalRun
    report: Report


class LocalPytest:
    """A ``local_pytest_server`` process: the local tests of one submission after another,
    each in a fresh fork of a process that has imported pytest and numpy once."""

    def __init__(self, plugin_dir: Path) -> None:
        # A student's venv has pytest alone: none of the plugins this project's venv holds.
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir),
                                                           os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("local_pytest_server.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd="/")

    def run(self, folder: Path, args: list[str], env: dict[str, str], log: Path) -> int | None:
        """``cd folder && python -m pytest args``: its exit code, None once killed."""
        request = {"folder": str(folder), "args": args, "env": env, "log": str(log),
                   "timeout": LOCAL_TIMEOUT}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())["code"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def run_local_tests(folder: Path, server: LocalPytest) -> LocalRun:
    """Run the local tests in ``folder`` (the held-out moons test left out)."""
    results = folder.parent / f"{folder.name}.jsonl"
    results.unlink(missing_ok=True)
    output = folder.parent / f"{folder.name}.log"
    code = server.run(folder, ["-p", "gallery_plugin", "-p", "no:cacheprovider", "--deselect",
                               MOONS], {"GALLERY_RESULTS": str(results)}, output)
    log = output.read_text(encoding="utf-8", errors="replace")[-7000:] if code is not None \
        else f"the local tests did not finish within {LOCAL_TIMEOUT} s"
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


# Where a case's grade would mostly wait for time limits that decide nothing its
# expectations hold it to: the finite-difference nets train for the whole train limit
# on each of the seven datasets (its training may lose points: test_grade_meaning).
TRAIN_TIMEOUT = {"hostile/finite_difference_backward": 1.0}


def run_gallery(root: Path, rubric: Rubric) -> dict[str, GalleryRun]:
    """Build, run locally and grade every submission under ``root``, a few at a time."""
    (root / "gallery_plugin.py").write_text(PLUGIN, encoding="utf-8")
    rubrics = {name: dataclasses.replace(rubric, train_timeout=seconds)
               for name, seconds in TRAIN_TIMEOUT.items()}

    servers, made = threading.local(), []

    def both(item: tuple[int, tuple[str, dict[str, str]]]) -> tuple[str, GalleryRun]:
        number, (name, files) = item
        if not hasattr(servers, "one"):  # one per thread: a server runs one at a time
            servers.one = LocalPytest(root)
            made.append(servers.one)
        folder = make_submission(root / f"s{number}", files)
        return name, GalleryRun(name, folder, run_local_tests(folder, servers.one),
                                grade(folder, rubrics.get(name, rubric)))
    # Few at a time: the timing checks on both sides allow 50 times backprop's time, not
    # a machine that is busy with ten submissions at once.
    jobs = max(1, min(4, os.cpu_count() or 2))
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return dict(pool.map(both, enumerate(submissions())))
    finally:
        for server in made:
            server.close()
