"""The command line: every option documented, every --help with a description and exit codes,
and bad input as one line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import re

import pytest

from autograder.cli import build_parser, main
from autograder.paths import CHECKOUT

README = (CHECKOUT / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_help_has_a_description_and_its_exit_codes():
    commands = _subcommands()
    assert {"grade", "batch", "report", "gradescope", "nbgrader-course", "handout",
            "release"} <= set(commands)
    for name, parser in commands.items():
        text = " ".join(parser.format_help().split())
        assert parser.description and len(parser.description) > 60, name
        assert "exit status: 0" in text and " 2 " in text, name
        assert "130 after Ctrl-C, 143 after SIGTERM" in text, name
        # Each command's own statuses: only the graders grade "whatever the scores".
        assert ("whatever the scores" in text) == (name in ("grade", "batch")), name
    assert "notebook fails when executed" in " ".join(commands["handout"].format_help().split())


def test_every_option_of_every_subcommand_is_in_the_readme():
    for name, parser in _subcommands().items():
        assert f"backprop-hw {name}" in README, name
        for action in parser._actions:
            for option in action.option_strings:
                if option in ("-h", "--help"):
                    continue
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", README), \
                    f"{name} {option} is not in README.md"


def test_the_readme_documents_the_batch_outputs_and_exit_codes():
    for needle in ("grades-legend.csv", "lms.csv", "report.html", "backprop-hw report",
                   "max points", "status", "reason", "130", "143", "grader error",
                   "submission problem"):
        assert needle in README, needle


@pytest.mark.parametrize("argv, message", [
    (["grade", "/nonexistent/alice.zip"], "no such submission"),
    (["batch", "/nonexistent/class", "--out", "/nonexistent/out"], "does not exist"),
    (["grade", "--rubric", "/nonexistent/rubric.toml"], "cannot read the rubric"),
    (["report", "/nonexistent/results"], "does not exist"),
    (["gradescope", "bundle.tar"], "must be a .zip"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
