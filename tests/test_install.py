"""A plain `pip install .` (not editable) grades from any folder, without Jupyter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import CHECKOUT


@pytest.mark.heavy
def test_pip_install_dot_grades_the_reference_from_any_folder(tmp_path: Path):
    # A venv without pip of its own (ensurepip costs seconds), filled by this one's pip.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True, timeout=300)
    bin_dir = tmp_path / "venv" / "bin"
    pip = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python")]
    done = subprocess.run([*pip, "install", "-q", "--no-compile", str(CHECKOUT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([str(bin_dir / "backprop-hw"), "grade"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    assert "site-packages/autograder/_solutions: 100 / 100 points" in first, first
    installed = subprocess.run([*pip, "list"], capture_output=True, text=True,
                               timeout=120).stdout.lower()
    for heavy in ("nbgrader", "jupyterlab", "scikit-learn", "matplotlib"):
        assert heavy not in installed, heavy
