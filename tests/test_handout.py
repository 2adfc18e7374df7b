"""The TA handout: offline maths, no student instructions or hidden tests, the reference code."""

from __future__ import annotations

import html as html_lib
import re

import nbformat
import pytest

from autograder import handout
from autograder.cli import main
from autograder.handout_preprocessors import AppendReferenceCode, without_solution_markers
from autograder.math_svg import UnsupportedFormula, draw, formula_html, formulas
from autograder.paths import SOLUTIONS
from autograder.release import solution_regions
from autograder.submission import STUDENT_MODULES

pytestmark = [pytest.mark.xdist_group("solutions_notebook"),  # executed once, in conftest
              pytest.mark.heavy]


def _source_notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / handout.NOTEBOOK, as_version=4)


def _text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags dropped, entities decoded."""
    return html_lib.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.fixture(scope="module")
def page(executed_solutions) -> str:
    return handout.export(executed_solutions.notebook)


def _cells(page: str) -> dict[str, str]:
    """Each cell's HTML by its id, in page order."""
    parts = re.split(r'<div class="jp-Cell [^"]*" id="cell-id=([^"]+)">', page)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


# -- the maths -------------------------------------------------------------------------

@pytest.mark.parametrize("tex", [r"\begin{pmatrix} a \end{pmatrix}", "\u2603", r"\frac{a}{b"])
def test_a_formula_that_cannot_be_drawn_is_refused_by_name(tex):
    # \begin{pmatrix} does not parse; the snowman parses but has no glyph (a dummy box).
    with pytest.raises(UnsupportedFormula, match="mathtext cannot draw|unbalanced"):
        draw(tex)


def test_formulas_are_found_outside_code_only():
    markdown = "cost `$x$` is $N$\n```\n$y$ = 1\n```\nand\n$$\\frac{a}{b}\n+ c$$ done"
    assert formulas(markdown) == [("N", False), ("\\frac{a}{b}\n+ c", True)]


def test_the_page_has_no_tex_left_and_one_image_per_formula(page):
    cells = _cells(page)
    markdown = [cell.id for cell in _source_notebook().cells if cell.cell_type == "markdown"]
    expected = sum(len(formulas(cell.source)) for cell in _source_notebook().cells
                   if cell.cell_type == "markdown" and "student-instructions"
                   not in cell.metadata.get("tags", []))
    shown = [cells[cid] for cid in markdown if cid in cells]
    assert not [c for c in shown if "$" in _text(c) or "\\frac" in _text(c)]
    assert sum(c.count('role="math"') for c in shown) == expected  # one per formula


def test_the_page_fetches_nothing(page):
    """No script, style, font or image comes from the network: only data: URLs and text."""
    without_comments = re.sub(r"<!--.*?-->|/\*.*?\*/", "", page, flags=re.S)
    assert not re.search(r"<script[^>]*\ssrc=", without_comments)
    assert not re.search(r"""(?:src|href|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//""",
                         without_comments.replace('<a href="', '<a nav="'))
    assert not re.search(r"url\(\s*[\"']?\s*(?:https?:)?//|@import|import\(", without_comments)
    assert "MathJax" not in without_comments
    assert not re.findall(r"https?://", re.sub(r'<a href="[^"]*"|xmlns(?::\w+)?="[^"]*"', "",
                                               without_comments))


# -- what is left out ------------------------------------------------------------------

def test_the_student_instructions_are_left_out(page):
    tagged = [cell.id for cell in _source_notebook().cells
              if handout.INSTRUCTIONS_TAG in cell.metadata.get("tags", [])]
    assert tagged == ["intro", "submit"]
    cells = _cells(page)
    assert not set(tagged) & set(cells)
    assert "Before you submit" not in page and "How to work." not in page
    assert "chain-rule" in cells and "written-softmax-shift" in cells  # the rest is kept


def test_hidden_tests_are_dropped_before_anything_runs():
    notebook = _source_notebook()
    check = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")
                 and c.cell_type == "code")
    check.source += '\n### BEGIN HIDDEN TESTS\ncheck("affine_forward", hidden=True)\n' \
                    "### END HIDDEN TESTS"
    prepared = handout.prepare(notebook)
    sources = [c.source for c in prepared.cells if c.cell_type == "code"]
    assert not [s for s in sources if "HIDDEN" in s]
    assert sum(s.count("check(") for s in sources if "affine_forward" in s) == 1


def test_each_check_prints_once(page):
    cells = _cells(page)
    checks = [cell.id for cell in _source_notebook().cells if cell.cell_type == "code"
              and cell.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == 13
    for cid in checks:
        output = _text(cells[cid].split('class="jp-Cell-outputWrapper"', 1)[1])
        assert len(re.findall(r"\d+ passed", output)) == 1, (cid, output)


# -- the reference code ----------------------------------------------------------------

def test_the_reference_code_follows_the_derivations_highlighted_without_markers(page):
    cells = _cells(page)
    order = list(cells)
    assert order.index("reference-code") > order.index("written-softmax-shift")
    for name in STUDENT_MODULES:
        listing = cells["reference-" + name.replace(".", "-")]
        assert f"<code>{name}</code>" in listing
        assert 'class="highlight' in listing and '<span class="k">def</span>' in listing
        shown = _text(listing)
        assert "BEGIN SOLUTION" not in shown and "END SOLUTION" not in shown
        source = (SOLUTIONS / name).read_text()
        lines = source.splitlines()
        begin, end = solution_regions(source)[0]
        body = [line.strip() for line in lines[begin + 1:end] if line.strip()]
        assert body and all(line in shown for line in body)  # the solved code is there


def test_only_the_marker_lines_go():
    source = "def f(x):\n    ### BEGIN SOLUTION hint: x doubled\n    return 2 * x\n" \
             "    ### END SOLUTION\n"
    assert without_solution_markers(source) == "def f(x):\n    return 2 * x\n"


def test_the_reference_comes_from_the_named_folder_and_files(tmp_path):
    (tmp_path / "mine.py").write_text("x = 1  # ```` a long fence\n")
    notebook = nbformat.v4.new_notebook()
    step = AppendReferenceCode(folder=str(tmp_path), files=["mine.py"])
    notebook, _ = step.preprocess(notebook, {})
    assert [c.id for c in notebook.cells] == ["reference-code", "reference-mine-py"]
    assert "`````python\nx = 1  # ```` a long fence\n`````" in notebook.cells[1].source
    assert AppendReferenceCode().files == list(STUDENT_MODULES)
    assert AppendReferenceCode().folder == str(SOLUTIONS)


# -- the command -----------------------------------------------------------------------

def test_the_command_writes_one_file_with_the_plots(tmp_path, capsys, monkeypatch,
                                                     executed_solutions):
    ran = []

    def already_executed(notebook, folder, timeout=300):
        # the session's executed notebook stands in for a second run of the kernel
        ran.append(folder)
        assert [c.id for c in notebook.cells] == [c.id for c in executed_solutions.notebook.cells]
        return nbformat.from_dict(executed_solutions.notebook)

    monkeypatch.setattr(handout, "execute", already_executed)
    out = tmp_path / "handout.html"
    assert main(["handout", str(out)]) == 0
    assert ran and ran[0] != SOLUTIONS  # run in a scratch copy
    page = out.read_text()
    assert page.count("data:image/png;base64,") >= 4  # loss curve, boundaries, Jacobian cost
    assert f"({out.stat().st_size // 1024} KiB)" in capsys.readouterr().out
    assert not list(SOLUTIONS.glob("*.html"))  # solutions/ is left untouched


def test_a_formula_that_cannot_be_drawn_stops_the_command_with_its_cell(tmp_path, capsys,
                                                                        monkeypatch):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "fine $x$, not $\\begin{pmatrix} a \\end{pmatrix}$", id="bad-cell")])
    monkeypatch.setattr(handout, "execute", lambda notebook_, folder, timeout=300: notebook)
    assert main(["handout", str(tmp_path / "out.html")]) == 2
    error = capsys.readouterr().err
    assert "markdown cell bad-cell" in error and "pmatrix" in error
    assert not (tmp_path / "out.html").exists()


def test_a_cell_that_raises_stops_the_command_with_one_line_and_exit_1(tmp_path, capfd,
                                                                       monkeypatch):
    failing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "raise ValueError('boom in the notebook')")])
    monkeypatch.setattr(handout, "prepare", lambda notebook: failing)
    assert main(["handout", str(tmp_path / "out.html")]) == 1
    captured = capfd.readouterr()  # the kernel's own stderr too
    assert captured.err.strip().splitlines() == [
        "backprop-hw handout: the solutions notebook fails when executed: a cell raised "
        "ValueError: boom in the notebook"], captured.err
    assert "Kernel is running over TCP" not in captured.err  # a local socket, on POSIX
    assert not (tmp_path / "out.html").exists()


# Last, so that the page's build has drawn (and cached) most formulas already.
def test_every_formula_of_the_notebook_draws():
    found, failures = 0, []
    for cell in _source_notebook().cells:
        if cell.cell_type != "markdown":
            continue
        for tex, display in formulas(cell.source):
            found += 1
            try:
                formula_html(tex, display)
            except UnsupportedFormula as error:
                failures.append(f"cell {cell.id}: {error}")
    assert found > 200  # the notebook's formulas were found, not skipped
    assert not failures, "\n".join(failures)
