"""The handout's own steps, as nbconvert preprocessors: one concern each.

The rest of the handout's pipeline is nbconvert's and nbgrader's own (see handout.py):
``TagRemovePreprocessor`` drops the student instructions, ``ClearHiddenTests`` the hidden
tests, ``ExecutePreprocessor`` runs the notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import List, Unicode

from autograder.math_svg import UnsupportedFormula, render_markdown_math
from autograder.paths import SOLUTIONS
from autograder.release import solution_regions
from autograder.submission import STUDENT_MODULES


class RenderMath(Preprocessor):
    """Each formula of the markdown cells becomes an SVG image drawn now: no MathJax, no CDN."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            try:
                cell.source = render_markdown_math(cell.source)
            except UnsupportedFormula as error:
                raise UnsupportedFormula(f"markdown cell {cell.get('id', index)}: {error}") \
                    from None
        return cell, resources


def without_solution_markers(source: str) -> str:
    """``source`` without its ``### BEGIN SOLUTION ...`` / ``### END SOLUTION`` lines."""
    markers = {line for region in solution_regions(source) for line in region}
    return "".join(line for number, line in enumerate(source.splitlines(keepends=True))
                   if number not in markers)


class AppendReferenceCode(Preprocessor):
    """Appends the reference code of every file students write, as highlighted listings."""

    folder = Unicode(str(SOLUTIONS), help="the folder holding the reference files").tag(
        config=True)
    files = List(Unicode(), default_value=list(STUDENT_MODULES),
                 help="the files to list, in order (default: the files students write)").tag(
        config=True)

    def preprocess(self, nb, resources):
        cells = [nbformat.v4.new_markdown_cell(  # fixed ids: the same page on every build
            "## Reference code\n\nThe files students write, as the reference solves them.",
            id="reference-code")]
        for name in self.files:
            code = without_solution_markers((Path(self.folder) / name).read_text("utf-8"))
            longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
            fence = "`" * max(3, longest + 1)
            cells.append(nbformat.v4.new_markdown_cell(
                f"### `{name}`\n\n{fence}python\n{code.rstrip()}\n{fence}",
                id="reference-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)))
        nb.cells.extend(cells)
        return nb, resources
