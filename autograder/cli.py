"""The ``backprop-hw`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from autograder import errors, release
from autograder.errors import MissingPath
from autograder.paths import ASSIGNMENT, IN_CHECKOUT, SOLUTIONS
from autograder.rubric import RUBRIC, Rubric, load_rubric


def _release(args: argparse.Namespace) -> int:
    if not IN_CHECKOUT:
        raise release.ReleaseError("release writes assignment/ from solutions/ in a checkout "
                                   "of the repository (pip install -e .), not from an "
                                   "installed package")
    if args.check:
        problems = release.differences()
        for line in problems:
            print(line)
        if problems:
            print(f"{ASSIGNMENT} is out of date: run 'backprop-hw release'.")
            return 1
        print(f"{ASSIGNMENT} matches a fresh release of {SOLUTIONS}.")
        return 0
    changed = release.write_release()
    print(f"released {SOLUTIONS} -> {ASSIGNMENT}: "
          f"{len(changed)} file(s) written{': ' + ', '.join(changed) if changed else ''}")
    for line in release.differences():
        print(f"warning: {line}")
    return 0


def _grading_rubric(args: argparse.Namespace) -> Rubric:
    """The rubric, with --insecure applied to its limits."""
    rubric = load_rubric(args.rubric)
    if args.insecure:
        print("warning: --insecure: submission code may run without isolation; grade only "
              "code you trust", file=sys.stderr)
        rubric = dataclasses.replace(rubric, limits=dataclasses.replace(rubric.limits,
                                                                        insecure=True))
    return rubric


def _grade(args: argparse.Namespace) -> int:
    from autograder.files import write_json_atomic
    from autograder.grade import format_report, grade
    report = grade(args.path, _grading_rubric(args))
    print(format_report(report))
    if args.json:
        write_json_atomic(report.gradescope(), args.json)
        print(f"results written to {args.json}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from autograder.batch import run_batch
    if not args.directory.is_dir():
        what = "is not a folder" if args.directory.exists() else "does not exist"
        raise MissingPath(f"the submissions folder {args.directory} {what}")
    if args.jobs > (os.cpu_count() or 1):
        print(f"warning: -j {args.jobs} is more than the {os.cpu_count()} CPUs here: "
              f"submissions may hit their time limits", file=sys.stderr)
    result = run_batch(args.directory, args.out, _grading_rubric(args), jobs=args.jobs,
                       force=args.force)
    if result.interrupted is not None:
        print(f"backprop-hw batch: {result.interrupted_line()}", file=sys.stderr)
        return errors.SIGNALLED + result.interrupted
    print(result.summary())
    return 0


def _gradescope(args: argparse.Namespace) -> int:
    from autograder.gradescope import build_bundle
    names = build_bundle(args.out, args.rubric)
    print(f"Gradescope autograder written to {args.out}: {len(names)} files "
          f"(setup.sh, run_autograder, autograder/, solutions/, data/)")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _nbgrader_course(args: argparse.Namespace) -> int:
    from autograder.nbgrader_course import ASSIGNMENT_ID, make_course
    written = make_course(args.directory, load_rubric(args.rubric),
                          None if args.rubric == RUBRIC else args.rubric)
    print(f"wrote {len(written)} files into {args.directory}; next, from there:\n"
          f"  nbgrader generate_assignment {ASSIGNMENT_ID}\n"
          f"  nbgrader autograde {ASSIGNMENT_ID}\n"
          f"  nbgrader generate_feedback {ASSIGNMENT_ID}")
    return 0


def _handout(args: argparse.Namespace) -> int:
    from autograder.handout import render_handout
    from autograder.math_svg import UnsupportedFormula
    try:
        out = render_handout(args.out)
    except UnsupportedFormula as error:  # the notebook's fault, not the command's: no traceback
        print(f"backprop-hw handout: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB): the executed solutions notebook")
    return 0


def _report(args: argparse.Namespace) -> int:
    from autograder.grades import read_all
    from autograder.report import write_report
    if not args.directory.is_dir():
        what = "is not a folder" if args.directory.exists() else "does not exist"
        raise MissingPath(f"the results folder {args.directory} {what}")
    results = read_all(args.directory)
    if not results:
        raise errors.UsageError(f"{args.directory} holds no results (the <student>.json "
                                f"files that 'backprop-hw batch --out' writes)")
    skipped = sorted(p.name for p in args.directory.glob("*.json") if p.stem not in results)
    if skipped:
        print(f"warning: {len(skipped)} .json file(s) there are not a student's results, "
              f"left out: {', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}",
              file=sys.stderr)
    path, note = write_report(args.directory, results)
    print(f"class report written to {path} ({len(results)} students){note}")
    return 0


def _rubric_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rubric", type=Path, default=RUBRIC, metavar="FILE",
                        help="the rubric (TOML) to grade with (default: the package's "
                             "autograder/rubric.toml)")


def _insecure_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--insecure", action="store_true",
                        help="grade even where submission code cannot be isolated (no Landlock "
                             "or namespaces, and no unprivileged user): trusted code only")


def _command(commands: Any, name: str, summary: str, description: str,
             exits: str = errors.EXIT_CODES_HELP) -> argparse.ArgumentParser:
    """A subcommand whose --help has a description paragraph and its exit statuses."""
    return commands.add_parser(name, help=summary, description=f"{summary}. {description}",
                               epilog=exits)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop-hw", description="Release, grade and teach the backprop homework.",
        epilog="'backprop-hw COMMAND --help' describes each command and its exit statuses.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rel = _command(commands, "release", "write assignment/ (student stubs) from solutions/",
                   "Every solution region becomes raise NotImplementedError with its hint; the "
                   "notebook goes through nbgrader's preprocessors. Needs a checkout of the "
                   "repository.",
                   "exit status: 0 written (or, with --check, up to date); 1 with --check when "
                   "assignment/ is out of date; 2 a malformed solution region or not a "
                   f"checkout; {errors.SIGNAL_EXITS_HELP}")
    rel.add_argument("--check", action="store_true",
                     help="only report whether assignment/ is up to date (exit 1 if not)")
    rel.set_defaults(run=_release)

    grd = _command(commands, "grade", "grade one submission (a folder or a .zip)",
                   "Prints one line per test and the reason under each failure; --json also "
                   "writes Gradescope's results.json. Submission code runs in a sandbox; "
                   "scores are computed in this process.")
    grd.add_argument("path", nargs="?", type=Path, default=SOLUTIONS,
                     help="the submission (default: the reference solutions)")
    grd.add_argument("--json", type=Path, metavar="FILE",
                     help="also write Gradescope results.json to FILE")
    _rubric_option(grd)
    _insecure_option(grd)
    grd.set_defaults(run=_grade)

    bat = _command(commands, "batch",
                   "grade every submission in a folder (one folder or .zip per student)",
                   "Writes OUTDIR/<student>.json and <student>.txt as each student is done, "
                   "then grades.csv (short test ids, a max-points row, status and reason), "
                   "grades-legend.csv, lms.csv (name and total, for an LMS import) and "
                   "report.html (the class at a glance). Running it again grades only the "
                   "students without results and those the grader failed on, so Ctrl-C (or "
                   "SIGTERM) and the same command again resumes.")
    bat.add_argument("directory", type=Path, metavar="DIR",
                     help="the submissions: each entry (a folder or a .zip) is one student")
    bat.add_argument("--out", type=Path, required=True, metavar="OUTDIR",
                     help="where the results, grades.csv and report.html go")
    bat.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                     help="grade N submissions at once (default 1; at most the CPUs)")
    bat.add_argument("--force", action="store_true",
                     help="grade again students whose results are already in OUTDIR")
    _rubric_option(bat)
    _insecure_option(bat)
    bat.set_defaults(run=_batch)

    rep = _command(commands, "report", "rebuild a batch's report.html from its results",
                   "Reads every <student>.json in RESULTS_DIR and writes RESULTS_DIR/"
                   "report.html: the score histogram, each check's pass rate, the most common "
                   "known mistakes and who made them, and the submissions that timed out or "
                   "could not be graded. One file, no network needed; charts need matplotlib "
                   "(the [notebook] extra), without it the page has the tables only.",
                   "exit status: 0 written; 1 report.html cannot be written; 2 RESULTS_DIR "
                   f"does not exist or holds no results; {errors.SIGNAL_EXITS_HELP}")
    rep.add_argument("directory", type=Path, metavar="RESULTS_DIR",
                     help="a batch's output folder (its --out)")
    rep.set_defaults(run=_report)

    gs = _command(commands, "gradescope", "build the Gradescope autograder .zip",
                  "The bundle holds setup.sh, run_autograder, the autograder package with the "
                  "rubric, the reference solutions and the frozen data. The rubric is "
                  "validated first.",
                  "exit status: 0 written; 1 OUT.zip cannot be written; 2 a bad rubric or "
                  f"a missing or corrupt dataset; {errors.SIGNAL_EXITS_HELP}")
    gs.add_argument("out", type=Path, metavar="OUT.zip", help="the bundle to write")
    gs.add_argument("--rubric", type=Path, default=RUBRIC, metavar="FILE",
                    help="the rubric (TOML) the bundle grades with (default: the package's "
                         "autograder/rubric.toml)")
    gs.set_defaults(run=_gradescope)

    nbg = _command(commands, "nbgrader-course",
                   "write an nbgrader course directory for the assignment",
                   "The course's autograde step grades the students' .py files in the same "
                   "sandbox and with the same rubric as 'grade'. Needs the [notebook] extra.",
                   "exit status: 0 written; 1 the folder cannot be written; 2 a bad rubric, "
                   f"or the [notebook] extra is not installed; {errors.SIGNAL_EXITS_HELP}")
    nbg.add_argument("directory", type=Path, help="the course directory to create or update")
    _rubric_option(nbg)
    nbg.set_defaults(run=_nbgrader_course)

    hnd = _command(commands, "handout",
                   "render the executed solutions notebook to one HTML file",
                   "For TAs: the derivations, worked answers and plots. Needs the [notebook] "
                   "extra.",
                   "exit status: 0 written; 1 the solutions notebook fails when executed (the "
                   "error is named) or OUT cannot be written; 2 a formula cannot be drawn, or "
                   f"the [notebook] extra is not installed; {errors.SIGNAL_EXITS_HELP}")
    hnd.add_argument("out", nargs="?", type=Path, default=Path("backprop-solutions.html"),
                     help="the HTML file to write (default: backprop-solutions.html)")
    hnd.set_defaults(run=_handout)
    return parser


NOTEBOOK_COMMANDS = ("nbgrader-course", "handout")  # they need the [notebook] extra


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise errors.Interrupted(signum)  # unwinds, so every sandbox is closed on the way out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        return args.run(args)
    except ModuleNotFoundError as error:
        if args.command not in NOTEBOOK_COMMANDS:
            raise
        print(f"backprop-hw {args.command}: needs the notebook tools ({error.name} is not "
              f"installed): pip install 'backprop-hw[notebook]'", file=sys.stderr)
        return errors.USAGE
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errors.FAILED
    except (Exception, KeyboardInterrupt, errors.Interrupted) as error:
        code = errors.exit_code(error)
        if code is None:  # a bug: its traceback helps whoever fixes it
            raise
        what = "interrupted" if code > errors.SIGNALLED else str(error)
        print(f"backprop-hw {args.command}: {what}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
