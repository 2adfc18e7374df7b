"""nbgrader's automatic points, from the sandboxed grader instead of the notebook kernel.

nbgrader runs a submitted notebook in a kernel where the student's modules are
imported, so anything a grade cell prints there could have been forged by the
student's code. ``SandboxGrades`` runs in nbgrader's own process after
``Execute`` and before ``SaveAutoGrades``: it grades the submission's .py files
with ``autograder.grade.grade`` (the same sandbox and rubric as
``backprop-hw grade``) and replaces each ``check_<function>`` grade cell's
outputs with that function's report and, as the cell's one result, its points
(nbgrader gives a code cell whose result is a single number that many points).
Whatever the kernel printed in those cells is discarded.
"""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.grade import Report, grade, test_lines
from autograder.rubric import load_rubric

CELL_PREFIX = "check_"


def cell_group(function: str) -> str:
    """The grade cell a graded function's points go to: ``TwoLayerNet.loss`` -> TwoLayerNet."""
    return function.split(".")[0]


def group_report(report: Report, group: str) -> tuple[float, list[str]]:
    """Points earned in one grade cell's group, and the lines a student reads."""
    tests = [t for t in report.tests if cell_group(t.function) == group]
    earned = sum(t.score for t in tests)
    return round(earned, 6), test_lines([t for t in tests if t.visibility == "visible"])


class SandboxGrades(NbGraderPreprocessor):
    """Set every check_<function> grade cell's outputs from the sandboxed grader's report."""

    rubric = Unicode("", help="The rubric (TOML) to grade with; empty for the package's "
                              "autograder/rubric.toml.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        folder = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        rubric = load_rubric(Path(self.rubric)) if self.rubric else load_rubric()
        # The other students' submissions sit beside this one: the worker never sees them.
        report = grade(folder, rubric, hide=(folder.parent.parent,
                                             folder.parent.parent.parent / "submitted"))
        self.log.info("backprop-hw: %s: %g / %g points from the sandboxed grader", folder,
                      report.score, report.max_score)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id", "")
            if cell.cell_type != "code" or not meta.get("grade") or \
                    not grade_id.startswith(CELL_PREFIX):
                continue
            earned, lines = group_report(report, grade_id.removeprefix(CELL_PREFIX))
            earned = min(earned, float(meta.get("points", 0)))  # nbgrader refuses more
            header = [f"Graded by backprop-hw outside the notebook: {earned:g} / "
                      f"{float(meta.get('points', 0)):g} points."]
            if report.problem:
                header.append(f"Submission problem: {report.problem}.")
            cell.outputs = [
                new_output("stream", name="stdout", text="\n".join(header + lines) + "\n"),
                new_output("execute_result", data={"text/plain": repr(earned)},
                           execution_count=cell.get("execution_count")),
            ]
        return nb, resources
