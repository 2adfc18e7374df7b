"""Fixtures shared by several test files."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

import pytest


def pytest_collection_modifyitems(items):
    """The long tests first (stable otherwise): started last, one of them would keep one
    worker busy while the other has nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


def once_per_session(tmp_path_factory, what: str) -> None:
    """Fail if another xdist worker of this session already made ``what``: the tests that
    use it must then share one ``xdist_group`` mark, or it is made once per worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:  # one process: made once by construction
        return
    shared = tmp_path_factory.getbasetemp().parent  # every worker's basetemp is in it
    mine = f"made-{what}-by-{worker}"
    others = [p.name for p in shared.glob(f"made-{what}-by-*") if p.name != mine]
    (shared / mine).touch()
    if others:
        pytest.fail(f"{what} was made again by {worker} after {others}: mark every test that "
                    f"uses it with one xdist_group", pytrace=False)


@dataclass(frozen=True)
class ExecutedNotebook:
    notebook: object  # nbformat.NotebookNode
    seconds: float


@pytest.fixture(scope="session")
def executed_solutions(tmp_path_factory) -> ExecutedNotebook:
    """solutions/backprop.ipynb as the handout runs it, executed once per test session.

    It runs in a scratch copy of solutions/, after the handout's steps on the source
    (student instructions and hidden tests left out; the code cells are the notebook's own).
    Callers must not modify it: copy it first (``nbformat.from_dict``). Its users share
    the xdist group "solutions_notebook".
    """
    import nbformat

    from autograder import handout
    once_per_session(tmp_path_factory, "executed_solutions")
    from autograder.paths import SOLUTIONS

    folder = tmp_path_factory.mktemp("executed") / "solutions"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    notebook = handout.prepare(nbformat.read(folder / handout.NOTEBOOK, as_version=4))
    started = time.monotonic()
    executed = handout.execute(notebook, folder, timeout=120)
    return ExecutedNotebook(executed, time.monotonic() - started)


@pytest.fixture(scope="session")
def short_rubric(tmp_path_factory):
    """The rubric with the short limits the gallery is graded with (gallery_runs.py)."""
    from gallery_runs import short_rubric
    return short_rubric(tmp_path_factory.mktemp("short_rubric"))


@pytest.fixture(scope="session")
def gallery(tmp_path_factory, short_rubric):
    """{submission name: GalleryRun}: every gallery submission's local tests run and its
    grade, once per session (see gallery_runs.py). Its users share one xdist group."""
    from gallery_runs import run_gallery
    once_per_session(tmp_path_factory, "gallery")
    return run_gallery(tmp_path_factory.mktemp("gallery"), short_rubric)
