"""Grade a whole class: one folder holding every student's submission.

Every entry of the folder (a folder, or a .zip file) is one student; the
student's name is the entry's name without ``.zip``. Each student's results
are written as soon as that student is graded, ``<student>.json`` last, so a
batch that is stopped loses nothing: run it again and it grades only the
students that have no readable ``<student>.json`` yet, and those the grader
itself failed on last time. Ctrl-C or SIGTERM stops it cleanly: the running
workers are killed, and grades.csv and report.html are written for the
students done.
"""

from __future__ import annotations

import hashlib
import re
import signal
import stat
import sys
import threading
import traceback
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autograder import grades, report
from autograder.cancel import Cancel
from autograder.errors import BackpropHwError, Interrupted, UsageError
from autograder.files import write_json_atomic, write_text_atomic
from autograder.grade import (
    GRADER_ERROR,
    GRADER_FAILED_TEXT,
    SUBMISSION_PROBLEM,
    format_report,
    grade,
    verify_data,
)
from autograder.grades import read_results
from autograder.rubric import Rubric
from autograder.sandbox import SandboxRefused


class BatchError(UsageError):
    """The batch cannot start: the submissions folder or the output folder is unusable."""


@dataclass
class BatchResult:
    """What one batch run did, student names in each list."""

    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # graded: nothing could be (a 0)
    retried: list[str] = field(default_factory=list)    # the grader had failed on them before
    scores: dict[str, float] = field(default_factory=dict)  # by result stem, bar grader errors
    max_score: float = 0.0
    csv_path: Path | None = None
    report_path: Path | None = None
    report_note: str = ""
    interrupted: int | None = None   # the signal that stopped the batch
    left: int = 0                    # students not graded because of it

    @property
    def mean(self) -> float | None:
        """Mean score over the students in grades.csv the grader did not fail on (None when
        there is none): a grader error's 0 is not the student's score."""
        return sum(self.scores.values()) / len(self.scores) if self.scores else None

    def summary(self) -> str:
        """A few lines for the person who ran the batch."""
        lines = [f"batch: {len(self.graded)} graded, {len(self.skipped)} skipped "
                 f"(already graded), {len(self.failed)} failed (grader error)"]
        if self.problems:
            lines.append(f"  {len(self.problems)} could not be graded at all (submission "
                         f"problem, a 0 with the reason): "
                         + ", ".join(sorted(map(printable, self.problems))))
        if self.retried:
            lines.append("  graded again after a grader error last time: "
                         + ", ".join(sorted(map(printable, self.retried))))
        if self.failed:
            lines.append("  the grader failed on: " + ", ".join(sorted(map(printable, self.failed)))
                         + " (each got a 0 with the reason, left out of lms.csv; the same "
                           "command grades them again)")
        if self.ignored:
            lines.append("  ignored (neither a folder nor a .zip): " + ", ".join(self.ignored))
        if self.mean is not None:
            lines.append(f"  mean score {self.mean:.2f} / {self.max_score:g} over "
                         f"{len(self.scores)} student(s)")
        if self.csv_path is not None:
            lines.append(f"  grades written to {self.csv_path} (legend: {grades.LEGEND_CSV}, "
                         f"for an LMS: {grades.LMS_CSV})")
        if self.report_path is not None:
            lines.append(f"  class report: {self.report_path}{self.report_note}")
        return "\n".join(lines)

    def interrupted_line(self) -> str:
        """The one line said when a signal stopped the batch."""
        name = "Ctrl-C" if self.interrupted == signal.SIGINT else \
            signal.Signals(self.interrupted or signal.SIGTERM).name
        return (f"batch stopped by {name}: {len(self.graded) + len(self.failed)} graded in this "
                f"run, {self.left} not yet; grades.csv and report.html cover those done; run "
                f"the same command again to grade the rest")


BIDI_CONTROLS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                         "\u2066\u2067\u2068\u2069"))


def printable(student: str) -> str:
    """A student's name as text that prints and encodes (folder names need not be UTF-8),
    without the bidirectional controls that make a name display as another."""
    text = student.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # No terminal escapes either: a name ends up on the progress bar and in the summary.
    return "".join(ch if ch.isprintable() else "?" for ch in text.translate(BIDI_CONTROLS))


def result_stem(student: str) -> str:
    """The file name (without suffix) of a student's results: safe and short.

    Names that are already safe (letters and digits of any script, _ . -) are kept; others
    get their unsafe characters replaced and a short hash of the real name, so two students
    never share one.
    """
    text = unicodedata.normalize("NFC", printable(student))  # macOS writes names as NFD
    safe = re.sub(r"[^\w.-]", "_", text).lstrip(".")[:80]
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


GRADER_ERRORS = "grader-errors.log"  # in the output folder: for the course staff only


def failure_results(student: str, error: BaseException) -> tuple[dict[str, Any], str, str]:
    """Results (Gradescope format), the student's text and the staff's log entry for a
    student the grader itself failed on. The reason and traceback stay out of what the
    student sees (extra_data is hidden from students on Gradescope)."""
    reason = f"{type(error).__name__}: {error}"
    text = f"backprop-hw: {printable(student)}: not graded: {GRADER_FAILED_TEXT}"
    log = "\n".join([f"== {printable(student)}: {reason}",
                     *traceback.format_exception(type(error), error, error.__traceback__)])
    data = {"score": 0.0, "execution_time": 0.0, "output": GRADER_FAILED_TEXT, "tests": [],
            "extra_data": {"status": GRADER_ERROR, "reason": reason, "grader_failed": True,
                           "error": reason}}
    return data, text, log


def grade_student(student: str, submission: Path, outdir: Path, rubric: Rubric,
                  grader: Callable[..., Any] | None = None, cancel: Cancel | None = None
                  ) -> tuple[str, float]:
    """Grade one submission and write its ``.txt`` and then its ``.json`` to ``outdir``.

    Returns (its status: graded, submission problem or grader error; its score).
    Any exception from the grader becomes a 0 with the reason, but for the
    errors that mean nothing can be graded here (no isolation, a bad rubric or
    dataset), which stop the batch. Raises Interrupted, writing nothing, once
    ``cancel`` is set; writing the files may raise OSError.
    """
    log = None
    try:
        result = (grader or grade)(submission, rubric, hide=(outdir.resolve(),), cancel=cancel)
        data, text = result.gradescope(), format_report(result, for_student=True)
        if result.status == GRADER_ERROR:
            log = f"== {printable(student)}: {result.grader_error}"
    except (BackpropHwError, SandboxRefused):  # the machine or the configuration: stop
        raise
    except Exception as error:  # one bad submission never stops the batch
        data, text, log = failure_results(student, error)
    if cancel is not None:
        cancel.check()  # a grade cut short by the kill is not written
    if log is not None:
        with open(outdir / GRADER_ERRORS, "a", encoding="utf-8") as errors:
            errors.write(log + "\n")
    write_text_atomic(text + "\n", outdir / f"{result_stem(student)}.txt")
    # Last: its presence marks the student done.
    write_json_atomic(data, outdir / f"{result_stem(student)}.json")
    return grades.status(data)[0], float(data["score"])


def write_grades_csv(outdir: Path, students: dict[str, Path] | list[str]
                     ) -> tuple[Path, dict[str, dict]]:
    """Write grades.csv, grades-legend.csv and lms.csv (see autograder.grades) from the
    results of ``students`` found in ``outdir``; students without readable results are
    left out. Returns grades.csv's path and {result stem: results}."""
    by_stem, names = {}, {}
    for student in sorted(students):
        stem = result_stem(student)
        data = read_results(outdir / f"{stem}.json")
        if data is not None:
            by_stem[stem], names[stem] = data, printable(student)
    return grades.write_tables(outdir, by_stem, names), by_stem


def _progress(total: int, stream: TextIO) -> Any:
    from tqdm import tqdm
    return tqdm(total=total, file=stream, unit="student", desc="grading", dynamic_ncols=True,
                mininterval=0.5 if stream.isatty() else 10.0)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C while the batch cleans up must not leave it half done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def _check_folders(directory: Path, outdir: Path, jobs: int) -> None:
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise BatchError(f"the submissions folder {directory} {what}")
    if jobs < 1:
        raise BatchError(f"-j must be at least 1, got {jobs}")
    if outdir.exists() and not outdir.is_dir():
        raise BatchError(f"the output {outdir} exists and is not a folder")
    if outdir.resolve() == directory.resolve():
        raise BatchError("the output folder must not be the submissions folder itself")


def run_batch(directory: Path, outdir: Path, rubric: Rubric, jobs: int = 1,
              force: bool = False, progress: TextIO | None = None,
              grader: Callable[..., Any] | None = None) -> BatchResult:
    """Grade every submission in ``directory`` into ``outdir``; see the module docstring.

    ``jobs`` submissions are graded at once (each in its own sandboxed child
    process). With ``force``, students already graded are graded again.
    ``grader`` replaces ``grade`` (for tests). Raises BatchError when the
    folders are unusable and DataError for a corrupt dataset, before anyone is
    graded. KeyboardInterrupt or Interrupted (SIGTERM) stops it: the result's
    ``interrupted`` says which signal, after the files for those done are written.
    """
    directory, outdir = Path(directory), Path(outdir)
    _check_folders(directory, outdir, jobs)
    verify_data(rubric)  # a corrupt dataset stops the batch, it does not give everyone 0
    submissions, ignored = find_submissions(directory, outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    result = BatchResult(ignored=ignored, max_score=rubric.max_score)
    todo = {}
    for student, path in submissions.items():
        done = None if force else read_results(outdir / f"{result_stem(student)}.json")
        if done is not None and not grades.grader_failed(done):
            result.skipped.append(student)
        else:
            todo[student] = path
            if done is not None:
                result.retried.append(student)

    if todo:
        # Load the reference once, here: threads would race to import it.
        from autograder.reference import reference
        reference()
        _grade_all(todo, outdir, rubric, jobs, progress or sys.stderr, grader, result)
    result.csv_path, found = write_grades_csv(outdir, submissions)
    result.scores = grades.class_totals(found)
    result.report_path, result.report_note = report.write_report(outdir, found)
    return result


def _grade_all(todo: dict[str, Path], outdir: Path, rubric: Rubric, jobs: int,
               stream: TextIO, grader: Callable[..., Any] | None, result: BatchResult) -> None:
    """Grade ``todo`` with ``jobs`` threads into ``result``, the bar naming who is graded."""
    cancel, lock, running = Cancel(), threading.Lock(), {}

    with _progress(len(todo), stream) as bar:
        def show() -> None:  # under lock
            names = ", ".join(printable(s) for s in running)
            bar.set_postfix_str(names if len(names) <= 60 else names[:57] + "...")

        def task(student: str, path: Path) -> tuple[str, float]:
            with lock:
                running[student] = None
                show()
            try:
                return grade_student(student, path, outdir, rubric, grader, cancel)
            finally:
                with lock:
                    running.pop(student, None)
                    show()

        def record(future: Future, student: str) -> None:
            try:
                state, _ = future.result()
            except OSError as error:  # its results could not be written
                state = GRADER_ERROR
                bar.write(f"could not write the results of {printable(student)}: {error}",
                          file=stream)
            if state == GRADER_ERROR:
                result.failed.append(student)
                bar.write(f"the grader failed on {printable(student)}: see "
                          f"{outdir / GRADER_ERRORS}", file=stream)
            else:
                result.graded.append(student)
                if state == SUBMISSION_PROBLEM:
                    result.problems.append(student)
            with lock:
                bar.update(1)

        pool = ThreadPoolExecutor(max_workers=jobs)
        futures = {pool.submit(task, student, path): student for student, path in todo.items()}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    record(future, futures[future])
        except (KeyboardInterrupt, Interrupted) as stop:
            result.interrupted = getattr(stop, "signum", signal.SIGINT)
            with _signals_ignored():
                _stop_all(cancel, pool, pending, result.interrupted)
                for future in pending:  # some finished while the others were stopped
                    if not future.cancelled() and future.exception() is None:
                        record(future, futures[future])
                result.left = len(todo) - len(result.graded) - len(result.failed)
        except BaseException:
            with _signals_ignored():
                _stop_all(cancel, pool, pending, signal.SIGTERM)
            raise
        finally:
            pool.shutdown(wait=True)


def _stop_all(cancel: Cancel, pool: ThreadPoolExecutor, pending: set[Future],
              signum: int) -> None:
    """Stop the grades under way and wait for their threads (the kill makes it quick)."""
    cancel.stop(signum)
    pool.shutdown(wait=False, cancel_futures=True)
    while not all(f.done() for f in pending):
        wait(pending, timeout=0.2)
        cancel.kill_running()  # a check may have started a fresh worker meanwhile
