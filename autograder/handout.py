"""The TA handout: the solutions notebook, executed, as one HTML file that needs no network.

A pipeline of nbconvert preprocessors, one concern each, in the order they run:

1. ``TagRemovePreprocessor`` drops the cells tagged ``student-instructions`` (how to work,
   before you submit);
2. nbgrader's ``ClearHiddenTests`` drops ``### BEGIN HIDDEN TESTS`` regions before anything
   runs, so their checks are neither shown nor printed a second time;
3. ``ExecutePreprocessor`` runs the notebook in a scratch copy of solutions/;
4. ``RenderMath`` draws every formula as an SVG image (matplotlib's mathtext);
5. ``AppendReferenceCode`` lists the reference code of the files students write.

The page is exported with nbconvert's lab template, less its scripts (MathJax, require.js,
widgets and mermaid, all from CDNs): plots, formulas and styles are inside the file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor, TagRemovePreprocessor
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config

from autograder.errors import BackpropHwError
from autograder.files import write_text_atomic
from autograder.handout_preprocessors import AppendReferenceCode, RenderMath
from autograder.paths import SOLUTIONS

NOTEBOOK = "backprop.ipynb"
INSTRUCTIONS_TAG = "student-instructions"  # cell metadata tag in solutions/backprop.ipynb
TITLE = "Backpropagation with numpy: worked solutions"


class NotebookFailed(BackpropHwError):
    """The solutions notebook raised, timed out or lost its kernel while executing."""


TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
  .tex-display { display: block; text-align: center; margin: 0.7em 0; overflow-x: auto; }
  .tex-aligned { text-align: left; }
  .handout-title { padding: 0 var(--jp-cell-padding, 5px); }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
<header class="handout-title"><h1>{{ resources.metadata.name }}</h1>
<p>For TAs: the derivations, worked answers and plots of the assignment, executed, followed
by the reference code of the files students write.</p></header>
{%- endblock body_header -%}
"""


def before_execution() -> list:
    """The steps on the notebook's source."""
    return [TagRemovePreprocessor(remove_cell_tags={INSTRUCTIONS_TAG}), ClearHiddenTests()]


def after_execution() -> list:
    """The steps on the executed notebook, before it becomes HTML."""
    return [RenderMath(), AppendReferenceCode()]


def _apply(steps: list, notebook: nbformat.NotebookNode,
           resources: dict) -> nbformat.NotebookNode:
    for step in steps:
        notebook, resources = step.preprocess(notebook, resources)
    return notebook


def prepare(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as the handout runs it: no student instructions, no hidden tests."""
    return _apply(before_execution(), notebook, {})


def execute(notebook: nbformat.NotebookNode, folder: Path,
            timeout: int = 300) -> nbformat.NotebookNode:
    """``notebook`` executed with ``folder`` as its working directory."""
    config = Config()
    if os.name == "posix":  # local sockets: the kernel's TCP ports warn about no encryption
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(folder.resolve() / "kernel")  # the sockets' path prefix
    step = ExecutePreprocessor(timeout=timeout, kernel_name="python3", config=config)
    try:
        return _apply([step], notebook, {"metadata": {"path": str(folder)}})
    except CellExecutionError as error:
        first = ((error.evalue or "").splitlines() or [""])[0][:300]
        why = f"a cell raised {error.ename}: {first}"
    except CellTimeoutError:
        why = f"a cell ran longer than {timeout} s"
    except DeadKernelError as error:
        why = f"its kernel died ({error})"
    raise NotebookFailed(f"the solutions notebook fails when executed: {why}")


def export(executed: nbformat.NotebookNode) -> str:
    """The handout's HTML, from the executed notebook (which is left unchanged)."""
    notebook = _apply(after_execution(), nbformat.from_dict(executed), {})
    exporter = HTMLExporter(template_name="lab", template_file="handout.html.j2",
                            extra_loaders=[DictLoader({"handout.html.j2": TEMPLATE})])
    html, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": TITLE}})
    return html


def render_handout(out: Path, timeout: int = 300) -> Path:
    """Execute solutions/backprop.ipynb in a scratch copy of solutions/ and write the handout.

    solutions/ itself is left untouched.
    """
    with tempfile.TemporaryDirectory(prefix="backprop-hw-handout-") as scratch:
        folder = Path(scratch) / "solutions"
        shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        notebook = prepare(nbformat.read(folder / NOTEBOOK, as_version=4))
        executed = execute(notebook, folder, timeout)
    write_text_atomic(export(executed), Path(out))
    return Path(out)
