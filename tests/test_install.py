"""A plain `pip install .` (not editable) grades from any folder, without Jupyter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import CHECKOUT, SOLUTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=;\[ ]", line.strip(), maxsplit=1)[0].lower() for line in requirements
            if line.strip() and not line.lstrip().startswith("#")}


def test_the_notebook_extra_runs_every_cell_of_the_notebook():
    # handout and nbgrader autograde execute the notebook: its check() cells run pytest, its
    # plots need matplotlib. What a student installs to run it, bar Jupyter's front end,
    # must come with the extra the README names for them.
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    extra = _names(project["dependencies"]) | _names(project["optional-dependencies"]["notebook"])
    needed = _names((SOLUTIONS / "requirements.txt").read_text().splitlines()) - {"jupyter"}
    assert needed <= extra, needed - extra


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
