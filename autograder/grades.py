"""A batch's results as tables: grades.csv, its legend, and lms.csv for an LMS import.

Each student's ``<stem>.json`` (Gradescope's results format, written by
``batch``) is the only input; these files are rebuilt from them every time.

- ``grades.csv``: one row per student. Columns: ``student`` (the stem of the
  student's result files), ``status`` (graded, submission problem, grader
  error), ``reason`` (why, for the last two), one column per test named by
  its short rubric id, and ``total``. The first row under the header is
  ``max points``: each test's points and the maximum total.
- ``grades-legend.csv``: one row per test id: the function it grades, the
  sentence reports show, its max points.
- ``lms.csv``: ``Student`` (the name of the student's entry in the
  submissions folder) and ``backprop-hw`` (the total), one row per student
  the grader did not fail on: the shape Canvas's and Moodle's grade imports
  take (map the columns in the import dialog). Students the grader failed on
  are left out, so that no LMS records a zero that is the grader's fault.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.files import write_text_atomic
from autograder.grade import GRADED, GRADER_ERROR, SUBMISSION_PROBLEM

GRADES_CSV = "grades.csv"
LEGEND_CSV = "grades-legend.csv"
LMS_CSV = "lms.csv"
MAX_POINTS_ROW = "max points"  # has a space: never the stem of a student's files
LMS_SCORE_COLUMN = "backprop-hw"


def read_results(path: Path) -> dict[str, Any] | None:
    """A student's results.json if it exists and is a complete one, else None."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("score"), (int, float)):
        return None
    return data


def _extra(data: dict[str, Any]) -> dict[str, Any]:
    extra = data.get("extra_data")
    return extra if isinstance(extra, dict) else {}


def grader_failed(data: dict[str, Any]) -> bool:
    """Whether these results are the grader's failure (then the next batch grades again)."""
    return bool(_extra(data).get("grader_failed"))


def class_totals(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """{student: total} for the class's statistics: a grader error's 0 is not the
    student's score, so those are left out."""
    return {stem: float(data["score"]) for stem, data in results.items()
            if not grader_failed(data)}


def status(data: dict[str, Any]) -> tuple[str, str]:
    """(graded | submission problem | grader error, the reason: for a graded submission,
    the files that could not be used, or "")."""
    extra = _extra(data)
    if grader_failed(data):
        return GRADER_ERROR, str(extra.get("reason") or extra.get("error") or "")
    if extra.get("status") == SUBMISSION_PROBLEM:
        return SUBMISSION_PROBLEM, str(extra.get("reason") or "")
    return GRADED, str(extra.get("reason") or "")


@dataclass(frozen=True)
class Test:
    """One test of one student's results."""

    id: str
    function: str
    name: str
    score: float
    max_score: float
    mistake: str | None = None       # the known mistake its failure matched
    call_failure: str | None = None  # "timeout", "not_run", "crashed", ...
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


def tests(data: dict[str, Any]) -> list[Test]:
    """The tests of one student's results (ids from the tags: [rubric id, function])."""
    found = []
    for test in data.get("tests") or []:
        if not isinstance(test, dict) or "name" not in test:
            continue
        tags = test.get("tags") if isinstance(test.get("tags"), list) else []
        extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
        score, max_score = test.get("score"), test.get("max_score")
        found.append(Test(str(tags[0]) if tags else str(test["name"]),
                          str(tags[1]) if len(tags) > 1 else "", str(test["name"]),
                          float(score) if isinstance(score, (int, float)) else 0.0,
                          float(max_score) if isinstance(max_score, (int, float)) else 0.0,
                          extra.get("mistake") or None, extra.get("call_failure") or None,
                          str(test.get("output") or "")))
    return found


def read_all(outdir: Path) -> dict[str, dict[str, Any]]:
    """{stem: results} for every readable ``<stem>.json`` in ``outdir``."""
    found = {}
    for path in sorted(Path(outdir).glob("*.json")):
        data = read_results(path)
        if data is not None and path.is_file() and not path.is_symlink():
            found[path.stem] = data
    return found


def csv_text(text: str) -> str:
    """``text`` for a spreadsheet cell: never read as a formula (OWASP's CSV injection rule)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _cell(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else ""


def _csv(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def legend(results: dict[str, dict[str, Any]]) -> dict[str, Test]:
    """{test id: its first appearance}, in grading order."""
    seen: dict[str, Test] = {}
    for data in results.values():
        for test in tests(data):
            seen.setdefault(test.id, test)
    return seen


def write_tables(outdir: Path, results: dict[str, dict[str, Any]],
                 names: dict[str, str] | None = None) -> Path:
    """Write grades.csv and grades-legend.csv from ``results`` ({stem: results}), and
    lms.csv when ``names`` ({stem: the student's name}) is given. Returns grades.csv."""
    columns = legend(results)
    max_total = sum(t.max_score for t in columns.values())
    rows = [["student", "status", "reason", *columns, "total"],
            [MAX_POINTS_ROW, "", "", *(_cell(t.max_score) for t in columns.values()),
             _cell(max_total)]]
    for stem, data in results.items():
        scores = {t.id: t.score for t in tests(data)}
        state, reason = status(data)
        rows.append([csv_text(stem), state, csv_text(reason),
                     *(_cell(scores.get(c)) for c in columns), _cell(data["score"])])
    path = Path(outdir) / GRADES_CSV
    write_text_atomic(_csv(rows), path)
    write_text_atomic(_csv([["id", "function", "description", "max_points"],
                            *([i, t.function, t.name, _cell(t.max_score)]
                              for i, t in columns.items())]), Path(outdir) / LEGEND_CSV)
    if names is not None:
        write_text_atomic(_csv([["Student", LMS_SCORE_COLUMN],
                                *([csv_text(names.get(stem, stem)), _cell(data["score"])]
                                  for stem, data in results.items()
                                  if not grader_failed(data))]), Path(outdir) / LMS_CSV)
    return path
