"""Grade one submission: run every check in the sandbox and score it by the rubric.

Scores are computed here, in the grading process, from values the worker
sent back; nothing the submission writes anywhere counts.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from autograder.cancel import Cancel
from autograder.checks import Check, Context, run_check
from autograder.checks import all_checks as _all_checks
from autograder.checks.training import load_dataset
from autograder.errors import BackpropHwError
from autograder.reference_calls import replaced_functions
from autograder.rubric import Rubric, load_rubric
from autograder.sandbox import Sandbox, SandboxRefused
from autograder.submission import STUDENT_MODULES, prepared

GRADED, SUBMISSION_PROBLEM, GRADER_ERROR = "graded", "submission problem", "grader error"


@dataclass
class TestResult:
    """One graded test, in Gradescope's terms, with what it grades."""

    name: str
    score: float
    max_score: float
    output: str
    visibility: str = "visible"
    id: str = ""          # the rubric key
    function: str = ""    # the function it grades
    kind: str = ""        # what property (see autograder.checks.KINDS)
    mistake: str | None = None  # the known mistake a failure matched (the hint's category)
    call_failure: str | None = None  # how a call into the submission failed it (CallFailed.kind)


@dataclass
class Report:
    """Everything about one grading run."""

    submission: str
    tests: list[TestResult]
    execution_time: float
    protections: list[str] = field(default_factory=list)
    problem: str | None = None       # why the submission could not be graded at all
    printed: str = ""
    peak_memory_mib: float = 0.0  # of the submission's process
    grader_error: str | None = None  # the grader's own failure (for the staff); nothing graded
    unusable: dict[str, str] = field(default_factory=dict)  # file -> why it could not be
    #                              imported, when the others were graded (not ``problem``)

    @property
    def status(self) -> str:
        """graded, submission problem (nothing could be graded) or grader error."""
        if self.grader_error:
            return GRADER_ERROR
        return SUBMISSION_PROBLEM if self.problem else GRADED

    @property
    def notes(self) -> list[str]:
        """One line per file that could not be used, for the top of the feedback."""
        return [f"{why if why.startswith(name) else f'{name} could not be used: {why}'}: "
                f"the tests of its functions earn nothing; the other files were graded"
                for name, why in self.unusable.items()]

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 6)

    def gradescope(self) -> dict:
        """The results.json Gradescope reads."""
        notes = [f"Graded {self.score:g} / {self.max_score:g} points."]
        if self.grader_error:
            notes.append(GRADER_FAILED_TEXT)
        elif self.problem:
            notes.append(f"Submission problem: {self.problem}.")
        notes += [f"{note}." for note in self.notes]
        tests = [{"name": t.name, "score": t.score, "max_score": t.max_score,
                  "output": t.output, "visibility": t.visibility, "tags": [t.id, t.function],
                  "extra_data": {"mistake": t.mistake, "call_failure": t.call_failure}}
                 for t in self.tests]
        # extra_data is for the course staff: Gradescope does not show it to students.
        return {"score": self.score, "execution_time": round(self.execution_time, 3),
                "output": "\n".join(notes), "tests": tests,
                "extra_data": {"status": self.status,
                               "reason": self.grader_error or self.problem
                               or "; ".join(self.notes),
                               "grader_failed": self.grader_error is not None,
                               "sandbox": self.protections,
                               "insecure": any(p.startswith("INSECURE") for p in
                                               self.protections),
                               "peak_memory_mib": round(self.peak_memory_mib, 1)}}


def all_checks(rubric: Rubric) -> list[Check]:
    """The checks in the order they run: layers, losses, the net, the trainer, training."""
    return _all_checks(rubric.datasets, rubric.train_timeout)


def _points(rubric: Rubric, check: Check) -> tuple[float, str]:
    rule = rubric.datasets[check.dataset] if check.dataset else rubric.tests[check.id]
    return rule.points, rule.visibility


def _run_order(checks: list[Check], every: list[Check]) -> list[Check]:
    """``checks`` and, before each, the checks it needs (recursively)."""
    by_id = {c.id: c for c in every}
    order, seen = [], set()

    def visit(check: Check) -> None:
        if check.id not in seen:
            seen.add(check.id)
            for need in (*check.needs, *((check.awarded_if,) if check.awarded_if else ())):
                visit(by_id[need])
            order.append(check)
    for check in checks:
        visit(check)
    return order


def _use_reference_layers(ctx: Context, every: list[Check]) -> str:
    """Before a net check: layers that failed a check of theirs become the reference's.

    Returns a note for the report ("" when every layer passed).
    """
    failed = {c.function for c in every
              if c.module == "layers" and c.id in ctx.verdicts and not ctx.verdicts[c.id]}
    ctx.reference_functions = replaced_functions(failed)
    unusable = bool(ctx.load_errors.get("layers"))
    ctx.sandbox.use_reference_layers(ctx.reference_functions, unusable)
    if not ctx.reference_functions:
        return ""
    return (f" [graded with the reference {', '.join(ctx.reference_functions)} in place of "
            f"yours, which do not pass their own checks]")


def _judge(check: Check, ctx: Context, every: list[Check]) -> tuple[bool, str]:
    """One check's verdict, with the no-points-for-no-work rule applied."""
    if check.awarded_if and not ctx.verdicts.get(check.awarded_if):
        return False, (f"{check.function}: no points yet: this check counts only once "
                       f"{check.function} computes the right values ({check.awarded_if} "
                       f"fails).")
    note = _use_reference_layers(ctx, every) if check.module != "layers" else ""
    passed, output = run_check(check, ctx)
    return passed, output + note


def run_checks(folder: Path, checks: list[Check], rubric: Rubric, seed: int,
               problem: str | None = None, hide: tuple[Path, ...] = (),
               cancel: Cancel | None = None
               ) -> tuple[list[tuple[Check, bool, str]], Sandbox, Context]:
    """Run ``checks`` (and, unreported, the checks they need) on the code in ``folder``.

    ``hide``: more folders the submission must not see (e.g. the other submissions).
    ``cancel``: once set, raise Interrupted before the next check (its ``stop``
    kills the worker of a check under way).

    Returns ``[(check, passed, output)]`` in the order given, the closed
    sandbox (for its protections and what the submission printed) and the
    checks' context (the modules that did not load, the known mistakes matched).
    """
    every = all_checks(rubric)
    wanted = {c.id for c in checks}
    results = []
    with Sandbox(folder, rubric.limits, hide) as sandbox, \
            (cancel.watching(sandbox) if cancel else nullcontext()):
        ctx = Context(sandbox, seed)
        for check in _run_order(checks, every):
            if cancel:
                cancel.check()
            if problem:
                passed, output = False, f"{check.function}: not graded: {problem}."
            else:
                passed, output = _judge(check, ctx, every)
            ctx.verdicts[check.id] = passed
            if check.id in wanted:
                results.append((check, passed, output))
    return results, sandbox, ctx


def verify_data(rubric: Rubric) -> None:
    """Raise DataError unless every dataset the rubric trains on matches its manifest."""
    for name in rubric.datasets:
        load_dataset(name)


def nothing_importable(load_errors: dict[str, str | None]) -> str | None:
    """Why none of the submission's files could be used, or None when one could."""
    tried = {f"{module}.py": error for module, error in load_errors.items()}
    if not tried or not all(tried.values()):
        return None
    if all(error.endswith("is missing from the submission") for error in tried.values()):
        return f"none of {', '.join(STUDENT_MODULES)} is in the submission"
    return "none of its files could be imported: " + "; ".join(tried.values())


GRADER_FAILED_TEXT = ("The grader failed on this submission and could not grade it. This is "
                      "not a verdict on the code: the course staff will look at it.")


def grade(path: Path, rubric: Rubric | None = None, hide: tuple[Path, ...] = (),
          cancel: Cancel | None = None) -> Report:
    """Grade the submission at ``path`` (a folder or a .zip).

    ``hide``: folders the submission must not see besides the grader's own and
    the one ``path`` sits in (e.g. a batch's output folder). ``cancel``: see
    ``run_checks``; a grade it stops raises Interrupted and returns nothing.

    Raises MissingPath when ``path`` does not exist, RubricError for a bad
    rubric and DataError for a corrupt dataset, all before any grading;
    anything wrong with the submission itself only costs points (``problem``
    when nothing at all could be graded), and a failure of the grader's own
    making still gives a complete report (``grader_error``).
    """
    started = time.monotonic()
    rubric = rubric or load_rubric()
    verify_data(rubric)
    checks = [c for c in all_checks(rubric) if _points(rubric, c)[0] > 0]
    protections, printed, peak, grader_error = [], "", 0.0, None
    unusable: dict[str, str] = {}
    mistakes: dict[str, str] = {}
    call_failures: dict[str, str] = {}
    with prepared(Path(path)) as (folder, problem):
        try:
            # The folder the submission came from may hold other students' work.
            outcomes, sandbox, ctx = run_checks(folder, checks, rubric, rubric.seed, problem,
                                                hide=(Path(path).resolve().parent, *hide),
                                                cancel=cancel)
            stats = sandbox.stats()
            protections, printed, peak = (list(stats.protections), stats.output,
                                          stats.peak_memory_mib)
            problem = problem or nothing_importable(ctx.load_errors)
            if not problem:
                unusable = {f"{module}.py": why for module, why in ctx.load_errors.items()
                            if why}
            mistakes, call_failures = ctx.mistakes, ctx.call_failures
        except (BackpropHwError, SandboxRefused):  # nothing can be graded here: stop
            raise
        except Exception as error:  # the grader's own failure: a complete zero, with why
            grader_error = f"{type(error).__name__}: {str(error)[:200]}"
            outcomes = [(c, False, f"{c.function}: not graded: the grader failed on this "
                                   f"submission.") for c in checks]
    if cancel:  # a check cut short by the kill must not become a verdict
        cancel.check()
    tests = []
    for check, passed, output in outcomes:
        points, visibility = _points(rubric, check)
        tests.append(TestResult(check.name, points if passed else 0.0, points, output,
                                visibility, check.id, check.function, check.kind,
                                None if passed else mistakes.get(check.id),
                                None if passed else call_failures.get(check.id)))
    return Report(str(path), tests, time.monotonic() - started, protections, problem,
                  printed, peak, grader_error, unusable)


def format_report(report: Report, for_student: bool = False) -> str:
    """The report a person reads: one line per test, the reason under each failure.

    ``for_student`` leaves out the tests the rubric does not make visible
    (their points still count in the total), the sandbox details and the
    instructor's folders (only the submission's own name is shown); a
    submission that could not be graded at all gets its reason once, not once
    per test.
    """
    name = Path(report.submission).name if for_student else report.submission
    lines = [f"backprop-hw: {_printable(name)}: {report.score:g} / "
             f"{report.max_score:g} points ({report.execution_time:.1f} s)"]
    if report.grader_error:
        lines.append(f"  not graded: {GRADER_FAILED_TEXT}" if for_student else
                     f"  grader error: {report.grader_error}")
        if for_student:
            return "\n".join(lines)
    if report.problem:
        lines.append(f"  submission problem: {report.problem}")
    lines += [f"  {note}." for note in report.notes]
    if for_student and report.problem and not any(t.score for t in report.tests):
        lines.append(f"  none of the {len(report.tests)} tests could run: fix the problem "
                     f"above and submit again.")
        return "\n".join(lines)
    shown = [t for t in report.tests if not for_student or t.visibility == "visible"]
    lines += test_lines(shown, indent="  ")
    if len(shown) < len(report.tests):
        lines.append(f"  ({len(report.tests) - len(shown)} more tests are not shown)")
    if not for_student:
        lines.append("  sandbox: " + ("; ".join(report.protections) or "not started"))
    if report.printed.strip():
        first = report.printed.strip().splitlines()[0][:100]
        lines.append(f"  the submission printed {len(report.printed)} characters (first line: "
                     f"{_printable(first)!r})")
    return "\n".join(lines)


def test_lines(tests: list[TestResult], indent: str = "") -> list[str]:
    """One line per test (PASS/FAIL, points, name) and the reason under each failure."""
    lines = []
    for test in tests:
        mark = "PASS" if test.score >= test.max_score else "FAIL"
        lines.append(f"{indent}{mark} {test.score:g}/{test.max_score:g}  {test.name}")
        if mark == "FAIL":
            lines.append(f"{indent}       {test.output}")
    return lines


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in
                   text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
