"""The ``backprop-hw`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path

from autograder import release
from autograder.checks.training import DataError
from autograder.paths import ASSIGNMENT, IN_CHECKOUT, SOLUTIONS
from autograder.rubric import RUBRIC, Rubric, RubricError, load_rubric
from autograder.sandbox import SandboxRefused


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
        raise FileNotFoundError(f"the submissions folder {args.directory} {what}")
    if args.jobs > (os.cpu_count() or 1):
        print(f"warning: -j {args.jobs} is more than the {os.cpu_count()} CPUs here: "
              f"submissions may hit their time limits", file=sys.stderr)
    result = run_batch(args.directory, args.out, _grading_rubric(args), jobs=args.jobs,
                       force=args.force)
    print(result.summary())
    return 0


def _gradescope(args: argparse.Namespace) -> int:
    from autograder.gradescope import build_bundle
    names = build_bundle(args.out)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop-hw", description="Release, grade and teach the backprop homework.")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser(
        "release", help="write assignment/ (student stubs) from solutions/")
    rel.add_argument("--check", action="store_true",
                     help="only report whether assignment/ is up to date (exit 1 if not)")
    rel.set_defaults(run=_release)

    grd = commands.add_parser("grade", help="grade one submission (a folder or a .zip)")
    grd.add_argument("path", nargs="?", type=Path, default=SOLUTIONS,
                     help="the submission (default: the reference solutions)")
    grd.add_argument("--json", type=Path, metavar="FILE",
                     help="also write Gradescope results.json to FILE")
    grd.add_argument("--rubric", type=Path, default=RUBRIC, help="the rubric (TOML)")
    grd.add_argument("--insecure", action="store_true",
                     help="grade even where submission code cannot be isolated (no Landlock "
                          "or namespaces, and no unprivileged user): trusted code only")
    grd.set_defaults(run=_grade)

    bat = commands.add_parser(
        "batch", help="grade every submission in a folder (one folder or .zip per student)")
    bat.add_argument("directory", type=Path, metavar="DIR",
                     help="the submissions: each entry (a folder or a .zip) is one student")
    bat.add_argument("--out", type=Path, required=True, metavar="OUTDIR",
                     help="where <student>.json, <student>.txt and grades.csv go")
    bat.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                     help="grade N submissions at once (default 1)")
    bat.add_argument("--force", action="store_true",
                     help="grade again students whose results are already in OUTDIR")
    bat.add_argument("--rubric", type=Path, default=RUBRIC, help="the rubric (TOML)")
    bat.add_argument("--insecure", action="store_true",
                     help="grade even where submission code cannot be isolated (no Landlock "
                          "or namespaces, and no unprivileged user): trusted code only")
    bat.set_defaults(run=_batch)

    gs = commands.add_parser("gradescope", help="build the Gradescope autograder .zip")
    gs.add_argument("out", type=Path, metavar="OUT.zip", help="the bundle to write")
    gs.set_defaults(run=_gradescope)

    nbg = commands.add_parser("nbgrader-course",
                              help="write an nbgrader course directory for the assignment")
    nbg.add_argument("directory", type=Path, help="the course directory to create or update")
    nbg.add_argument("--rubric", type=Path, default=RUBRIC, help="the rubric (TOML)")
    nbg.set_defaults(run=_nbgrader_course)

    hnd = commands.add_parser("handout",
                              help="render the executed solutions notebook to one HTML file")
    hnd.add_argument("out", nargs="?", type=Path, default=Path("backprop-solutions.html"),
                     help="the HTML file to write (default: backprop-solutions.html)")
    hnd.set_defaults(run=_handout)
    return parser


def _usage_errors() -> tuple[type[Exception], ...]:
    """The errors of batch and gradescope that mean bad arguments (imported only when needed)."""
    from autograder.batch import BatchError
    from autograder.gradescope import BundleError
    return BatchError, BundleError


NOTEBOOK_COMMANDS = ("nbgrader-course", "handout")  # they need the [notebook] extra


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every sandbox is closed on the way out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return args.run(args)
    except (release.ReleaseError, RubricError, FileNotFoundError, DataError, SandboxRefused,
            *_usage_errors()) as error:
        print(f"backprop-hw {args.command}: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if args.command not in NOTEBOOK_COMMANDS:
            raise
        print(f"backprop-hw {args.command}: needs the notebook tools ({error.name} is not "
              f"installed): pip install 'backprop-hw[notebook]'", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
