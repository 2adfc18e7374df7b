"""The ``backprop-hw`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import release
from autograder.paths import ASSIGNMENT, SOLUTIONS
from autograder.rubric import RUBRIC, RubricError, load_rubric


def _release(args: argparse.Namespace) -> int:
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


def _grade(args: argparse.Namespace) -> int:
    from autograder.grade import format_report, grade, write_json_atomic
    report = grade(args.path, load_rubric(args.rubric))
    print(format_report(report))
    if args.json:
        write_json_atomic(report.gradescope(), args.json)
        print(f"results written to {args.json}")
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
    grd.set_defaults(run=_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (release.ReleaseError, RubricError, FileNotFoundError) as error:
        print(f"backprop-hw {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
