"""Runs students' ``pytest`` for the gallery, each run in a fresh fork of this process.

A run is what ``cd <folder> && python -m pytest <args>`` does, minus the half
second of starting Python and importing pytest and numpy, which this process
has done once: the gallery runs the local tests of some fifty submissions.
Nothing else is imported here, and each run is a new child that exits after
its one pytest session, so no run sees another's modules.

Protocol, one JSON line each way on stdin/stdout: {"folder", "args", "env",
"log", "timeout"} -> {"code": pytest's exit code, or null when the run was
killed after ``timeout`` seconds}. The run's output goes to the file ``log``.
"""

import json
import os
import random
import signal
import sys
import time
import traceback

sys.path.pop(0)  # this file's folder (tests/): nothing a student's run may import from

import numpy.random  # what every local test run imports
import pytest


def run(request):
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(request["folder"])
            os.environ.update(request["env"])
            sys.path.insert(0, request["folder"])  # what `python -m pytest` puts first
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            # As random as a new interpreter's: not the server's state, shared by every fork.
            random.seed()
            numpy.random.seed()
            code = pytest.main(request["args"])
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(code))
        except BaseException:  # noqa: B036 - whatever stops the run, say what in its log
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(70)
    deadline = time.monotonic() + request["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.01)


def main():
    for line in sys.stdin:
        print(json.dumps({"code": run(json.loads(line))}), flush=True)


if __name__ == "__main__":
    main()
