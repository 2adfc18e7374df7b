"""The TA handout: the solutions notebook, executed, as one self-contained HTML file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from autograder.files import write_text_atomic
from autograder.paths import SOLUTIONS

NOTEBOOK = "backprop.ipynb"


def render_handout(out: Path, timeout: int = 300) -> Path:
    """Execute solutions/backprop.ipynb in a scratch copy of solutions/ and write it as HTML.

    Plots are embedded as images in the page; solutions/ itself is left untouched.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    with tempfile.TemporaryDirectory(prefix="backprop-hw-handout-") as scratch:
        folder = Path(scratch) / "solutions"
        shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(
        notebook, resources={"metadata": {"name": "Backpropagation: worked solutions"}})
    write_text_atomic(html, Path(out))
    return Path(out)
