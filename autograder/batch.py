"""Grade a whole class: one folder holding every student's submission.

Every entry of the folder (a folder, or a .zip file) is one student; the
student's name is the entry's name without ``.zip``. Each student's results
are written as soon as that student is graded, ``<student>.json`` last, so a
batch that is killed loses nothing: run it again and it grades only the
students that have no readable ``<student>.json`` yet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import stat
import sys
import traceback
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autograder.files import write_json_atomic, write_text_atomic
from autograder.grade import format_report, grade
from autograder.rubric import Rubric
from autograder.sandbox import SandboxRefused

GRADES_CSV = "grades.csv"


class BatchError(ValueError):
    """The batch cannot start: the submissions folder or the output folder is unusable."""


@dataclass
class BatchResult:
    """What one batch run did, student names in each list."""

    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    max_score: float = 0.0
    csv_path: Path | None = None

    @property
    def mean(self) -> float | None:
        """Mean score over every student in grades.csv (None when there is none)."""
        return sum(self.scores.values()) / len(self.scores) if self.scores else None

    def summary(self) -> str:
        """A few lines for the person who ran the batch."""
        lines = [f"batch: {len(self.graded)} graded, {len(self.skipped)} skipped "
                 f"(already graded), {len(self.failed)} failed (grader error)"]
        if self.failed:
            lines.append("  the grader failed on: " + ", ".join(sorted(map(printable, self.failed)))
                         + " (each got a 0 with the reason; delete their .json to retry)")
        if self.ignored:
            lines.append("  ignored (neither a folder nor a .zip): " + ", ".join(self.ignored))
        if self.mean is not None:
            lines.append(f"  mean score {self.mean:.2f} / {self.max_score:g} over "
                         f"{len(self.scores)} student(s)")
        if self.csv_path is not None:
            lines.append(f"  grades written to {self.csv_path}")
        return "\n".join(lines)


BIDI_CONTROLS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                         "\u2066\u2067\u2068\u2069"))


def printable(student: str) -> str:
    """A student's name as text that prints and encodes (folder names need not be UTF-8),
    without the bidirectional controls that make a name display as another."""
    text = student.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.translate(BIDI_CONTROLS)


def result_stem(student: str) -> str:
    """The file name (without suffix) of a student's results: safe and short.

    Names that are already safe are kept; others get their unsafe characters
    replaced and a short hash of the real name, so two students never share one.
    """
    safe = re.sub(r"[^\w.-]", "_", printable(student), flags=re.ASCII).lstrip(".")[:80]
    if safe == student:
        return safe
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{safe}-{digest}"


def student_name(entry: Path) -> str:
    """The student an entry of the submissions folder belongs to: its name without .zip."""
    name = entry.name
    return name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else name


def find_submissions(directory: Path, outdir: Path | None = None
                     ) -> tuple[dict[str, Path], list[str]]:
    """Return ({student: submission path}, names of ignored entries) for ``directory``.

    Hidden entries and ``outdir`` (when it lies inside ``directory``) are left
    out silently; anything that is neither a folder nor a regular zip file
    (links, FIFOs, other files) is ignored and listed. Raises BatchError when
    two entries belong to the same student.
    """
    directory = Path(directory)
    skip = Path(outdir).resolve() if outdir is not None else None
    found: dict[str, Path] = {}
    ignored: list[str] = []
    clashes: list[str] = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or (skip is not None and entry.resolve() == skip):
            continue
        try:
            mode = entry.lstat().st_mode  # never through a link: it may point anywhere
        except OSError:
            continue
        if not (stat.S_ISDIR(mode) or (stat.S_ISREG(mode) and (
                entry.name.lower().endswith(".zip") or zipfile.is_zipfile(entry)))):
            ignored.append(entry.name + (" (a link)" if stat.S_ISLNK(mode) else ""))
            continue
        name = student_name(entry)
        if name in found:
            clashes.append(f"{found[name].name} and {entry.name}")
        found[name] = entry
    if clashes:
        raise BatchError(f"two submissions for the same student in {directory}: "
                         + "; ".join(clashes) + " (keep one of each)")
    return found, ignored


def read_results(path: Path) -> dict[str, Any] | None:
    """A student's results.json if it exists and is a complete one, else None."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("score"), (int, float)):
        return None
    return data


GRADER_ERRORS = "grader-errors.log"  # in the output folder: for the course staff only


def failure_results(student: str, error: BaseException) -> tuple[dict[str, Any], str, str]:
    """Results (Gradescope format), the student's text and the staff's log entry for a
    student the grader itself failed on. The reason and traceback stay out of what the
    student sees (extra_data is hidden from students on Gradescope)."""
    reason = f"{type(error).__name__}: {error}"
    output = ("The grader failed on this submission and could not grade it. This is not a "
              "verdict on the code: the course staff will look at it.")
    text = f"backprop-hw: {printable(student)}: not graded: {output}"
    log = "\n".join([f"== {printable(student)}: {reason}",
                     *traceback.format_exception(type(error), error, error.__traceback__)])
    data = {"score": 0.0, "execution_time": 0.0, "output": output, "tests": [],
            "extra_data": {"grader_failed": True, "error": reason}}
    return data, text, log


def grade_student(student: str, submission: Path, outdir: Path, rubric: Rubric,
                  grader: Callable[..., Any] | None = None) -> tuple[bool, float]:
    """Grade one submission and write its ``.txt`` and then its ``.json`` to ``outdir``.

    Returns (graded without a grader failure, score). Any exception from the
    grader becomes a 0 with the reason; writing the files may still raise OSError.
    """
    try:
        report = (grader or grade)(submission, rubric, hide=(outdir.resolve(),))
        data, text, ok = report.gradescope(), format_report(report, for_student=True), True
    except SandboxRefused:  # no submission may be graded here: stop the batch
        raise
    except Exception as error:  # one bad submission never stops the batch
        data, text, log = failure_results(student, error)
        with open(outdir / GRADER_ERRORS, "a", encoding="utf-8") as errors:
            errors.write(log + "\n")
        ok = False
    write_text_atomic(text + "\n", outdir / f"{result_stem(student)}.txt")
    # Last: its presence marks the student done.
    write_json_atomic(data, outdir / f"{result_stem(student)}.json")
    return ok, float(data["score"])


def _cell(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else ""


def csv_text(text: str) -> str:
    """``text`` for a spreadsheet cell: never read as a formula (OWASP's CSV injection rule)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_grades_csv(outdir: Path, students: Iterable[str]) -> tuple[Path, dict[str, float]]:
    """Write ``outdir/grades.csv`` from the results of ``students`` found in ``outdir``.

    Columns: student (the stem of the student's result files), one per test name
    (its score; empty when that student's results have no such test), total.
    Students without readable results are left out. Returns the file's path and {student: total}.
    """
    rows: dict[str, dict[str, Any]] = {}
    columns: dict[str, None] = {}  # test names, in order of first appearance
    for student in sorted(students):
        data = read_results(outdir / f"{result_stem(student)}.json")
        if data is None:
            continue
        scores = {}
        for test in data.get("tests") or []:
            if isinstance(test, dict) and "name" in test:
                scores[str(test["name"])] = test.get("score")
                columns.setdefault(str(test["name"]), None)
        rows[student] = {"scores": scores, "total": data["score"]}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *map(csv_text, columns), "total"])
    for student, row in rows.items():
        # The result files' stem: unique, even for names that print alike.
        writer.writerow([csv_text(result_stem(student)),
                         *(_cell(row["scores"].get(c)) for c in columns), _cell(row["total"])])
    path = outdir / GRADES_CSV
    write_text_atomic(buffer.getvalue(), path)
    return path, {s: float(r["total"]) for s, r in rows.items()}


def _progress(total: int, stream: TextIO) -> Any:
    from tqdm import tqdm
    return tqdm(total=total, file=stream, unit="student", desc="grading", dynamic_ncols=True,
                mininterval=0.5 if stream.isatty() else 10.0)


def run_batch(directory: Path, outdir: Path, rubric: Rubric, jobs: int = 1,
              force: bool = False, progress: TextIO | None = None,
              grader: Callable[..., Any] | None = None) -> BatchResult:
    """Grade every submission in ``directory`` into ``outdir``; see the module docstring.

    ``jobs`` submissions are graded at once (each in its own sandboxed child
    process). With ``force``, students already graded are graded again.
    ``grader`` replaces ``grade`` (for tests). Raises BatchError when the
    folders are unusable.
    """
    directory, outdir = Path(directory), Path(outdir)
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise BatchError(f"the submissions folder {directory} {what}")
    if jobs < 1:
        raise BatchError(f"-j must be at least 1, got {jobs}")
    if outdir.exists() and not outdir.is_dir():
        raise BatchError(f"the output {outdir} exists and is not a folder")
    if outdir.resolve() == directory.resolve():
        raise BatchError("the output folder must not be the submissions folder itself")
    submissions, ignored = find_submissions(directory, outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    result = BatchResult(ignored=ignored, max_score=rubric.max_score)
    todo = {}
    for student, path in submissions.items():
        if not force and read_results(outdir / f"{result_stem(student)}.json") is not None:
            result.skipped.append(student)
        else:
            todo[student] = path

    if todo:
        # Load the reference once, here: threads would race to import it.
        from autograder.reference import reference
        reference()
        stream = progress if progress is not None else sys.stderr
        with _progress(len(todo), stream) as bar, ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(grade_student, student, path, outdir, rubric, grader): student
                       for student, path in todo.items()}
            try:
                for future in as_completed(futures):
                    student = futures[future]
                    try:
                        ok, _ = future.result()
                    except OSError as error:  # its results could not be written
                        ok = False
                        bar.write(f"could not write the results of {printable(student)}: "
                                  f"{error}", file=stream)
                    (result.graded if ok else result.failed).append(student)
                    if not ok:
                        bar.write(f"the grader failed on {printable(student)}: see "
                                  f"{outdir / GRADER_ERRORS}", file=stream)
                    bar.update(1)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    result.csv_path, result.scores = write_grades_csv(outdir, submissions)
    return result
