"""The errors that stop a backprop-hw command, and the exit status of each (pip's pattern).

Every module raises a subclass of ``BackpropHwError`` for what stops it (a bad
rubric, a corrupt dataset, a missing path, an unusable output folder); the
subclasses keep their names where they are used (``rubric.RubricError``,
``batch.BatchError``, ...). ``exit_code`` below is the one place that maps an
error to an exit status; ``cli.main`` prints the error as one line and exits
with it. Anything wrong with one submission is never an error here: it only
costs that submission points.
"""

from __future__ import annotations

import signal

OK = 0            # the command did its job (grading completed, whatever the scores)
FAILED = 1        # it ran, and the answer is no (release --check: assignment/ is stale)
USAGE = 2         # bad arguments or configuration: nothing was graded
SIGNALLED = 128   # + the signal's number: 130 after Ctrl-C (SIGINT), 143 after SIGTERM


class BackpropHwError(Exception):
    """A command cannot do its job; the message says why in one line."""

    exit_code = FAILED


class UsageError(BackpropHwError):
    """Bad arguments or configuration (a missing path, a bad rubric, a corrupt dataset)."""

    exit_code = USAGE


class MissingPath(UsageError, FileNotFoundError):
    """A file or folder named on the command line does not exist."""


class DataError(UsageError):
    """A frozen dataset is missing or does not match its manifest: the grader's fault."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop, keep what is finished.

    A BaseException, like KeyboardInterrupt, so that the grader's ``except Exception``
    (which turns its own failures into a zero with a reason) never swallows it.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return SIGNALLED + self.signum


def exit_code(error: BaseException) -> int | None:
    """The exit status for ``error``, or None when it is a bug (show the traceback)."""
    from autograder.sandbox import SandboxRefused  # sandbox.py keeps its own class

    if isinstance(error, (BackpropHwError, Interrupted)):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return SIGNALLED + signal.SIGINT
    if isinstance(error, SandboxRefused):  # submission code cannot be isolated here
        return USAGE
    if isinstance(error, FileNotFoundError):
        return USAGE
    if isinstance(error, OSError):  # e.g. an output folder it may not write to
        return FAILED
    return None


SIGNAL_EXITS_HELP = "130 after Ctrl-C, 143 after SIGTERM"
EXIT_CODES_HELP = ("exit status: 0 done (whatever the scores); 1 an output file cannot be "
                   "written; 2 bad arguments or configuration (a missing path, a bad rubric, "
                   "a corrupt dataset, no isolation for submission code); "
                   f"{SIGNAL_EXITS_HELP}")
