"""The notebook: runs as it should, released in sync, and graded by real nbgrader end to end."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from submissions import inject, reference_files

from autograder.cli import main
from autograder.nbgrader_course import ASSIGNMENT_ID, NOTEBOOK, function_points
from autograder.paths import ASSIGNMENT, SOLUTIONS
from autograder.rubric import load_rubric


def execute(folder: Path, timeout: int = 120) -> nbformat.NotebookNode:
    notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def test_solutions_notebook_runs_top_to_bottom_in_under_two_minutes(tmp_path):
    folder = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    started = time.monotonic()
    notebook = execute(folder)
    assert time.monotonic() - started < 120
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")
              and c.cell_type == "code"]
    assert len(graded) == 10
    assert all("all" in "".join(o.get("text", "") for o in c.outputs) for c in graded)


def test_release_notebook_stops_at_the_first_unfinished_function(tmp_path):
    folder = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.raises(CellExecutionError, match="NotImplementedError") as failure:
        execute(folder)
    assert "affine_forward" in str(failure.value)


def test_release_notebook_has_no_solutions_hidden_tests_or_outputs():
    text = (ASSIGNMENT / NOTEBOOK).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True"):
        assert marker not in text
    notebook = nbformat.read(ASSIGNMENT / NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    written = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")
               and c.cell_type == "markdown"]
    assert written and all(c.source.strip() == "YOUR ANSWER HERE" for c in written)


def test_grade_cells_take_their_points_from_the_rubric():
    points = function_points(load_rubric())
    notebook = nbformat.read(ASSIGNMENT / NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["points"] == points[meta["grade_id"].removeprefix("check_")]


def _nbgrader(course: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _submit(course: Path, student: str, files: dict[str, str]) -> None:
    folder = course / "submitted" / student / ASSIGNMENT_ID
    shutil.copytree(course / "release" / ASSIGNMENT_ID, folder)
    for name, source in files.items():
        (folder / name).write_text(source)


def test_nbgrader_generate_autograde_and_feedback_end_to_end(tmp_path):
    course = tmp_path / "course"
    assert main(["nbgrader-course", str(course)]) == 0
    # Short cell timeout, so the student whose code hangs costs seconds, not minutes.
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("c.Execute.timeout = 20\n")
    _nbgrader(course, "generate_assignment", ASSIGNMENT_ID)

    release = course / "release" / ASSIGNMENT_ID
    released_text = "".join(p.read_text() for p in release.glob("*.py")) + \
        (release / NOTEBOOK).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True", "dout @ w.T"):
        assert marker not in released_text

    _submit(course, "alice", reference_files())
    _submit(course, "bob", {})
    _submit(course, "carol", inject("sigmoid_backward", "while True:\n    pass"))
    _nbgrader(course, "autograde", ASSIGNMENT_ID)
    _nbgrader(course, "generate_feedback", ASSIGNMENT_ID)

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        def auto(student: str) -> dict[str, float]:
            notebook = gradebook.find_submission_notebook("backprop", ASSIGNMENT_ID, student)
            return {g.name: g.auto_score for g in notebook.grades if g.cell.cell_type == "code"}
        maxima = {g.name: g.max_score for g in gradebook.find_notebook(
            "backprop", ASSIGNMENT_ID).grade_cells if g.cell_type == "code"}
        alice, bob, carol = auto("alice"), auto("bob"), auto("carol")
    assert len(maxima) == 10 and sum(maxima.values()) == load_rubric().max_score
    assert alice == maxima
    assert set(bob.values()) == {0}
    assert carol["check_sigmoid_backward"] == 0
    for name in ("check_affine_forward", "check_affine_backward", "check_relu_forward",
                 "check_relu_backward", "check_softmax_loss", "check_bce_loss"):
        assert carol[name] == maxima[name], name
    assert (course / "feedback" / "alice" / ASSIGNMENT_ID / "backprop.html").is_file()


def test_handout_is_one_html_file_with_the_plots(tmp_path, capsys):
    out = tmp_path / "handout.html"
    assert main(["handout", str(out)]) == 0
    html = out.read_text()
    assert html.count("data:image/png;base64,") >= 4  # loss curve, boundaries, Jacobian cost
    # Executing raises on any error, so the page exists only for a clean run; each
    # of the 10 check cells reports twice (visible and hidden inputs).
    assert html.count("checks passed") >= 20
    assert not list(SOLUTIONS.glob("*.html"))  # solutions/ is left untouched
