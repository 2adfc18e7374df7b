"""Run the local tests of one function from the notebook: ``check("affine_forward")``.

This file is complete: you do not need to change it.

A check runs, in a fresh Python process, the tests in test_layers.py,
test_two_layer_net.py and test_fc_net.py that judge the functions you name, so it always sees
the code as it is saved now (no stale imports in the notebook's kernel). It
prints one line per test and raises AssertionError if any fails, so that
"Restart & Run All" stops at the first function that does not work yet.

These are the same tests as ``pytest`` in this folder, with the same
messages. Your grade comes from the course's grader, which runs the same
kinds of checks (on other inputs) on the .py files you hand in.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_FILES = ("test_layers.py", "test_two_layer_net.py", "test_fc_net.py")


def check(*functions, timeout=600):
    """Run the local tests of ``functions`` ("affine_forward", "TwoLayerNet", "train", ...)."""
    if not functions:
        raise ValueError('name what to check, e.g. check("affine_forward")')
    command = [sys.executable, "-m", "pytest", *TEST_FILES, "-p", "no:cacheprovider", "-rfE", "--tb=line", "--no-header",
               *[f"--only={name}" for name in functions]]
    # Only this folder's conftest.py: no pytest plugins your environment may hold (they
    # cost startup time and could change what the tests report).
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": HERE, "COLUMNS": "1000",
                               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    report = _summary(done.stdout)
    print(report)
    if done.returncode == 5:
        raise ValueError(f"no local tests judge {', '.join(functions)}")
    if done.returncode != 0:
        raise AssertionError(f"{', '.join(functions)}: some checks fail (see above)")


def _summary(output):
    """pytest's lines about failures and its closing line, without its progress dots."""
    keep = [line for line in output.splitlines()
            if line.startswith(("FAILED", "ERROR")) or " passed" in line or " failed" in line]
    return "\n".join(keep) or output.strip()
