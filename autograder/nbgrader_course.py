"""The notebook for nbgrader: rubric points into its grade cells, the student version, a course.

``solutions/backprop.ipynb`` is the nbgrader source. Its autograded cells have
``grade_id`` ``check_<function>`` and call the grader's checks for that
function; their points are set here from the rubric, so points live in one
place. The student version is made with nbgrader's own preprocessors.
"""

from __future__ import annotations

from pathlib import Path

from autograder.paths import SOLUTIONS
from autograder.rubric import Rubric, load_rubric
from autograder.submission import STUDENT_MODULES

ASSIGNMENT_ID = "backprop"
NOTEBOOK = "backprop.ipynb"
# The files students edit: nbgrader autograde must keep the student's copies.
STUDENT_EDITED = STUDENT_MODULES


def function_points(rubric: Rubric) -> dict[str, float]:
    """Points per graded function name (``affine_forward``, ``TwoLayerNet``, ``train``)."""
    from autograder.grade import all_checks
    points: dict[str, float] = {}
    for check in all_checks(rubric):
        rule = rubric.datasets[check.dataset] if check.dataset else rubric.tests[check.id]
        function = check.function.split(".")[0]
        points[function] = points.get(function, 0.0) + rule.points
    return points


def with_rubric_points(notebook, rubric: Rubric):
    """Set each ``check_<function>`` grade cell's points from the rubric; returns the notebook."""
    points = function_points(rubric)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if meta.get("grade") and grade_id.startswith("check_"):
            function = grade_id.removeprefix("check_")
            if function not in points:
                raise ValueError(f"grade cell {grade_id!r} names no graded function")
            value = points[function]
            meta["points"] = int(value) if float(value).is_integer() else value
    return notebook


def student_notebook(source: bytes, rubric: Rubric) -> bytes:
    """The student version of an nbgrader source notebook, as nbgrader would release it."""
    import nbformat
    from nbgrader.preprocessors import (
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        LockCells,
    )
    notebook = with_rubric_points(nbformat.reads(source.decode("utf-8"), as_version=4), rubric)
    resources: dict = {}
    for step in (LockCells(), ClearSolutions(), ClearOutput(), ClearHiddenTests(),
                 ClearMarkScheme()):
        notebook, resources = step.preprocess(notebook, resources)
    return (nbformat.writes(notebook) + "\n").encode("utf-8")


CONFIG = '''\
# nbgrader configuration for the backprop homework (written by `backprop-hw nbgrader-course`).
from nbgrader.converters import Autograde
from nbgrader.preprocessors import SaveAutoGrades

from autograder.nbgrader_grades import SandboxGrades

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "backprop-hw"
# Students edit these files; autograde must grade their copies, not the stubs in source/.
c.Autograde.exclude_overwriting = {{"{assignment}": {edited!r}}}
# The points of every check_<function> cell come from the sandboxed grader run on the
# student's .py files (SandboxGrades, between Execute and SaveAutoGrades), never from
# what the notebook's kernel printed.
steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
steps.insert(steps.index(SaveAutoGrades), SandboxGrades)
c.Autograde.autograde_preprocessors = steps
c.SandboxGrades.rubric = {rubric!r}
# A hung cell is interrupted after this many seconds and the notebook goes on.
c.Execute.timeout = 120
'''


def make_course(directory: Path, rubric: Rubric | None = None,
                rubric_path: Path | None = None) -> list[Path]:
    """Write an nbgrader course directory; return the files written.

    ``directory/nbgrader_config.py`` and ``directory/source/backprop/`` with the
    source notebook (rubric points applied) and the student release's files.
    """
    import nbformat

    from autograder import release
    rubric = rubric or load_rubric()
    directory = Path(directory)
    source = directory / "source" / ASSIGNMENT_ID
    source.mkdir(parents=True, exist_ok=True)
    written = []
    config = directory / "nbgrader_config.py"
    config.write_text(CONFIG.format(assignment=ASSIGNMENT_ID, edited=list(STUDENT_EDITED),
                                    rubric=str(Path(rubric_path).resolve()) if rubric_path
                                    else ""))
    written.append(config)
    for name, content in release.render().items():
        if name == NOTEBOOK:
            continue
        (source / name).write_bytes(content)
        written.append(source / name)
    notebook = with_rubric_points(nbformat.read(SOLUTIONS / NOTEBOOK, as_version=4), rubric)
    nbformat.write(notebook, source / NOTEBOOK)
    written.append(source / NOTEBOOK)
    return written

