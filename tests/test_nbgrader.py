"""The notebook: runs as it should, released in sync, and graded by real nbgrader end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from gallery_runs import short_rubric
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from submissions import BUGS, buggy_files, inject, reference_files

from autograder.cli import main
from autograder.grade import grade
from autograder.nbgrader_course import ASSIGNMENT_ID, NOTEBOOK, function_points
from autograder.nbgrader_grades import cell_group
from autograder.paths import ASSIGNMENT, ROOT
from autograder.rubric import load_rubric


def execute(folder: Path, timeout: int = 120) -> nbformat.NotebookNode:
    notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


@pytest.mark.xdist_group("solutions_notebook")
def test_solutions_notebook_runs_top_to_bottom_in_under_two_minutes(executed_solutions):
    assert executed_solutions.seconds < 120
    notebook = executed_solutions.notebook
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")
              and c.cell_type == "code"]
    assert len(graded) == 13
    assert all(" passed" in "".join(o.get("text", "") for o in c.outputs) for c in graded)


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


def _nbgrader(course: Path, *args: str) -> str:
    # nbgrader runs alembic from PATH: the venv's bin/ must be on it, activated or not.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _submit(course: Path, student: str, files: dict[str, str]) -> None:
    folder = course / "submitted" / student / ASSIGNMENT_ID
    shutil.copytree(course / "release" / ASSIGNMENT_ID, folder)
    for name, source in files.items():
        (folder / name).write_text(source)


# Stubs whose layers.py, imported by the notebook's kernel, makes every check there
# "pass": it replaces the notebook's check helpers, numpy's comparisons and print.
FORGER = """
import builtins, sys, types
import numpy as _np
def _passed(*args, **kwargs):
    print("all checks passed")
for _name in ("local_checks", "autograder.notebook"):
    _module = sys.modules.get(_name) or types.ModuleType(_name)
    _module.check = _passed
    sys.modules[_name] = _module
_np.allclose = lambda *a, **k: True
builtins.print = lambda *a, **k: sys.stdout.write("PASS 100/100\\n")
"""


def _stub_with(code: str) -> dict[str, str]:
    source = (ASSIGNMENT / "layers.py").read_text()
    return {"layers.py": source.replace("import numpy as np\n", f"import numpy as np\n{code}\n",
                                        1)}


@pytest.mark.heavy
def test_nbgrader_points_come_from_the_sandboxed_grader_end_to_end(tmp_path):
    course = tmp_path / "course"
    # Short call limits (as the gallery's), so that carol's hang costs 2 s a call, twice
    # for SandboxGrades and twice for the grade below, not 10 s.
    rubric = short_rubric(tmp_path)
    assert main(["nbgrader-course", str(course), "--rubric", str(tmp_path / "rubric.toml")]) == 0
    # Short cell timeout, so the student whose code hangs costs seconds, not minutes.
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("c.Execute.timeout = 20\n")
    log = _nbgrader(course, "generate_assignment", ASSIGNMENT_ID)
    assert "db_assignments" not in log  # no unknown config options

    release = course / "release" / ASSIGNMENT_ID
    released_text = "".join(p.read_text() for p in release.glob("*.py")) + \
        (release / NOTEBOOK).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True", "dout @ w.T",
                   "from autograder", "import autograder"):
        assert marker not in released_text

    # Carol's notebook runs top to bottom with (nearly) the reference's code, so she stands
    # for a working submission: every cell but her two broken functions' at full points.
    # Her sigmoid_backward never returns on 3-d inputs: the grader's layer checks use them,
    # the notebook and the local tests do not, so only the grader's calls time out; her
    # affine_backward has a known bug. The forger's layers.py is the stubs' after its
    # forging code, so it also stands for a student who has not started. (Each student
    # whose code works costs a whole notebook run.)
    carol = inject("sigmoid_backward", "if np.ndim(dout) == 3:\n    while True:\n        pass",
                   base=buggy_files(next(b for b in BUGS if b.name == "affine_dw_transposed")))
    # (A submission that exits on import is the gallery's hostile/sys_exit_on_import; a
    # third student here would cost a notebook run.)
    students = {"carol": carol, "forger": _stub_with(FORGER)}
    for student, files in students.items():
        _submit(course, student, files)
    _nbgrader(course, "autograde", ASSIGNMENT_ID)
    _nbgrader(course, "generate_feedback", ASSIGNMENT_ID)

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        def auto(student: str) -> dict[str, float]:
            notebook = gradebook.find_submission_notebook("backprop", ASSIGNMENT_ID, student)
            return {g.name: g.auto_score for g in notebook.grades if g.cell.cell_type == "code"}
        maxima = {g.name: g.max_score for g in gradebook.find_notebook(
            "backprop", ASSIGNMENT_ID).grade_cells if g.cell_type == "code"}
        scores = {student: auto(student) for student in students}
    assert len(maxima) == 13 and sum(maxima.values()) == load_rubric().max_score
    for student in students:  # one grade, every channel: exactly what `grade` gives
        report = grade(course / "submitted" / student / ASSIGNMENT_ID, rubric)
        expected = dict.fromkeys(maxima, 0.0)
        for test in report.tests:
            expected[f"check_{cell_group(test.function)}"] += test.score
        assert scores[student] == pytest.approx(expected), student
    assert set(scores["forger"].values()) == {0}
    # One bug and one hang cost their two functions, nothing else.
    broken = ("check_affine_backward", "check_sigmoid_backward")
    assert scores["carol"]["check_sigmoid_backward"] == 0
    assert scores["carol"]["check_affine_backward"] < maxima["check_affine_backward"]
    assert {cell: points for cell, points in scores["carol"].items() if cell not in broken} == \
        {cell: points for cell, points in maxima.items() if cell not in broken}

    for student in students:
        html = (course / "feedback" / student / ASSIGNMENT_ID / "backprop.html").read_text()
        for leak in ("BEGIN HIDDEN TESTS", str(ROOT), "site-packages", "autograder/"):
            assert leak not in html, (student, leak)
        assert "Graded by backprop-hw outside the notebook" in html


@pytest.fixture(scope="module")
def student_python(tmp_path_factory) -> Path:
    """A fresh venv with what the release's requirements.txt names, and not this package.

    Jupyter's kernel and notebook runner stand in for the whole of Jupyter (its front
    ends do not run notebooks).
    """
    base = tmp_path_factory.mktemp("student")
    # Without pip of its own (ensurepip costs seconds): this venv's pip fills it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")],
                   check=True, timeout=300)
    python = base / "venv" / "bin" / "python"
    wanted = [line.strip() for line in (ASSIGNMENT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#") and line.strip() != "jupyter"]
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                           "--no-compile", *wanted, "ipykernel", "nbclient", "nbformat"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return python


@pytest.mark.heavy
def test_the_release_notebook_runs_where_only_the_release_is_installed(tmp_path,
                                                                       student_python):
    folder = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name, source in reference_files().items():
        (folder / name).write_text(source)
    script = ("import importlib.util, sys, nbformat\n"
              "from nbclient import NotebookClient\n"
              "assert importlib.util.find_spec('autograder') is None, 'autograder is installed'\n"
              f"nb = nbformat.read({str(folder / NOTEBOOK)!r}, as_version=4)\n"
              f"NotebookClient(nb, timeout=300, kernel_name='python3', resources={{'metadata': "
              f"{{'path': {str(folder)!r}}}}}).execute()\n"
              "checks = [c for c in nb.cells if c.cell_type == 'code' and "
              "'check(' in c.source and 'import check' in c.source]\n"
              "print('CHECK CELLS', len(checks), sum(' passed' in ''.join(o.get('text', '') "
              "for o in c.outputs) for c in checks))\n"
              "probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("
              "'import sys; print(sys.prefix == ' + repr(sys.prefix) + ')')])\n"
              "NotebookClient(probe, kernel_name='python3').execute()\n"
              "print('KERNEL IN THIS VENV', probe.cells[0].outputs[0]['text'].strip())\n")
    # As on a student's machine, Python keeps the bytecode it compiles: where
    # PYTHONDONTWRITEBYTECODE is set (as on these machines), the kernel and each check
    # cell's pytest would compile numpy, pytest and IPython again (2.6 s a start, not 1.1).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([str(student_python), "-c", script], capture_output=True, text=True,
                          timeout=900, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "CHECK CELLS 13 13" in done.stdout
    assert "KERNEL IN THIS VENV True" in done.stdout
