"""The ``backprop-hw`` command line."""

from __future__ import annotations

import argparse
import sys

from autograder import release
from autograder.paths import ASSIGNMENT, SOLUTIONS


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop-hw", description="Release, grade and teach the backprop homework.")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser(
        "release", help="write assignment/ (student stubs) from solutions/")
    rel.add_argument("--check", action="store_true",
                     help="only report whether assignment/ is up to date (exit 1 if not)")
    rel.set_defaults(run=_release)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except release.ReleaseError as error:
        print(f"backprop-hw {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
