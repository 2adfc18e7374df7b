"""Grade one submission: run every check in the sandbox and score it by the rubric.

Scores are computed here, in the grading process, from values the worker
sent back; nothing the submission writes anywhere counts.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.checks import CHECKS, Check, Context, known_tests, run_check
from autograder.checks.training import training_check
from autograder.rubric import Rubric, load_rubric
from autograder.sandbox import Sandbox
from autograder.submission import prepared


@dataclass
class TestResult:
    """One graded test, in Gradescope's terms."""

    name: str
    score: float
    max_score: float
    output: str
    visibility: str = "visible"


@dataclass
class Report:
    """Everything about one grading run."""

    submission: str
    tests: list[TestResult]
    execution_time: float
    protections: list[str] = field(default_factory=list)
    problem: str | None = None
    printed: str = ""
    peak_memory_mib: float = 0.0  # of the submission's process

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 6)

    def gradescope(self) -> dict:
        """The results.json Gradescope reads."""
        notes = [f"Graded {self.score:g} / {self.max_score:g} points."]
        if self.problem:
            notes.append(f"Submission problem: {self.problem}.")
        # extra_data is for the course staff: Gradescope does not show it to students.
        return {"score": self.score, "execution_time": round(self.execution_time, 3),
                "output": "\n".join(notes), "tests": [asdict(t) for t in self.tests],
                "extra_data": {"sandbox": self.protections,
                               "peak_memory_mib": round(self.peak_memory_mib, 1)}}


def all_checks(rubric: Rubric) -> list[Check]:
    """The checks in the order they run: layers, losses, the net, then training."""
    known_tests()  # imports the check modules, which register themselves
    return [*CHECKS, *(training_check(rule, rubric.train_timeout)
                       for rule in rubric.datasets.values())]


def _points(rubric: Rubric, check: Check) -> tuple[float, str]:
    if check.id in rubric.tests:
        rule = rubric.tests[check.id]
        return rule.points, rule.visibility
    rule = rubric.datasets[check.id.removeprefix("train_")]
    return rule.points, rule.visibility


def run_checks(folder: Path, checks: list[Check], rubric: Rubric, seed: int,
               problem: str | None = None, hide: tuple[Path, ...] = ()
               ) -> tuple[list[tuple[Check, bool, str]], Sandbox]:
    """Run ``checks`` (and, unreported, the checks they need) on the code in ``folder``.

    ``hide``: more folders the submission must not see (e.g. the other submissions).

    Returns ``[(check, passed, output)]`` in the order given, and the closed
    sandbox (for its protections and what the submission printed).
    """
    by_id = {c.id: c for c in all_checks(rubric)}
    wanted = {c.id for c in checks}
    order, seen = [], set()

    def visit(check: Check) -> None:
        if check.id not in seen:
            seen.add(check.id)
            for need in check.needs:
                visit(by_id[need])
            order.append(check)
    for check in checks:
        visit(check)
    results = []
    with Sandbox(folder, rubric.limits, hide) as sandbox:
        ctx = Context(sandbox, seed)
        for check in order:
            if problem:
                passed, output = False, f"{check.function}: not graded: {problem}."
            else:
                passed, output = run_check(check, ctx)
            ctx.passed[check.id] = passed
            if check.id in wanted:
                results.append((check, passed, output))
    return results, sandbox


def grade(path: Path, rubric: Rubric | None = None, hide: tuple[Path, ...] = ()) -> Report:
    """Grade the submission at ``path`` (a folder or a .zip).

    ``hide``: folders the submission must not see besides the grader's own and
    the one ``path`` sits in (e.g. a batch's output folder).

    Raises FileNotFoundError when ``path`` does not exist and RubricError for
    a bad rubric; anything wrong with the submission itself only costs points.
    """
    started = time.monotonic()
    rubric = rubric or load_rubric()
    checks = [c for c in all_checks(rubric) if _points(rubric, c)[0] > 0]
    with prepared(Path(path)) as (folder, problem):
        # The folder the submission came from may hold other students' work.
        outcomes, sandbox = run_checks(folder, checks, rubric, rubric.seed, problem,
                                       hide=(Path(path).resolve().parent, *hide))
    tests = []
    for check, passed, output in outcomes:
        points, visibility = _points(rubric, check)
        tests.append(TestResult(check.name, points if passed else 0.0, points, output,
                                visibility))
    return Report(str(path), tests, time.monotonic() - started, sandbox.protections, problem,
                  sandbox.output, sandbox.peak_memory_mib)


def format_report(report: Report, for_student: bool = False) -> str:
    """The report a person reads: one line per test, the reason under each failure.

    ``for_student`` leaves out the tests the rubric does not make visible
    (their points still count in the total) and the sandbox details.
    """
    lines = [f"backprop-hw: {_printable(report.submission)}: {report.score:g} / "
             f"{report.max_score:g} points ({report.execution_time:.1f} s)"]
    if report.problem:
        lines.append(f"  submission problem: {report.problem}")
    shown = [t for t in report.tests if not for_student or t.visibility == "visible"]
    for test in shown:
        mark = "PASS" if test.score >= test.max_score else "FAIL"
        lines.append(f"  {mark} {test.score:g}/{test.max_score:g}  {test.name}")
        if mark == "FAIL":
            lines.append(f"         {test.output}")
    if len(shown) < len(report.tests):
        lines.append(f"  ({len(report.tests) - len(shown)} more tests are not shown)")
    if not for_student:
        lines.append("  sandbox: " + ("; ".join(report.protections) or "not started"))
    if report.printed.strip():
        first = report.printed.strip().splitlines()[0][:100]
        lines.append(f"  the submission printed {len(report.printed)} characters (first line: "
                     f"{_printable(first)!r})")
    return "\n".join(lines)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in
                   text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
