"""Make the student release (``assignment/``) from the reference (``solutions/``).

The notebook is released with nbgrader's own preprocessors (solutions cleared,
hidden tests and outputs removed, points from the rubric); see
autograder/nbgrader_course.py. A solution region in a ``.py`` file is written as::

    ### BEGIN SOLUTION hint: what to compute, with shapes
    ...reference code...
    ### END SOLUTION

and is released as ``raise NotImplementedError("<function>: <hint>")`` at the
same indentation. Every region must carry a hint, so that a student running
an unfinished function learns what it should compute.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.errors import UsageError
from autograder.paths import ASSIGNMENT, SOLUTIONS

# What students receive, in solutions/; everything else there is for TAs.
STUDENT_FILES = (
    "layers.py",
    "two_layer_net.py",
    "fc_net.py",
    "gradient_check.py",
    "feedback.py",
    "test_layers.py",
    "test_two_layer_net.py",
    "test_fc_net.py",
    "pytest.ini",
    "local_checks.py",
    "conftest.py",
    "requirements.txt",
    "local_moons.npz",
    "backprop.ipynb",
)

# Files and folders that running code leaves behind and the release ignores.
IGNORED = ("__pycache__", ".pytest_cache", ".ipynb_checkpoints")

_BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\b(?:\s+hint:\s*(?P<hint>.*?))?\s*$")
_END = re.compile(r"^\s*### END SOLUTION\s*$")
_DEF = re.compile(r"^(?P<indent>\s*)def (?P<name>\w+)\s*\(")


class ReleaseError(UsageError):
    """A solution file whose regions cannot be turned into stubs."""


def solution_regions(source: str) -> list[tuple[int, int]]:
    """Line spans ``(begin, end)`` (0-based, inclusive) of the solution regions."""
    regions, begin = [], None
    for number, line in enumerate(source.splitlines()):
        if _BEGIN.match(line):
            if begin is not None:
                raise ReleaseError(f"line {number + 1}: BEGIN SOLUTION inside another region")
            begin = number
        elif _END.match(line):
            if begin is None:
                raise ReleaseError(f"line {number + 1}: END SOLUTION without BEGIN")
            regions.append((begin, number))
            begin = None
    if begin is not None:
        raise ReleaseError(f"line {begin + 1}: BEGIN SOLUTION is never closed")
    return regions


def _enclosing_function(lines: list[str], number: int) -> str:
    """``name`` or ``Class.name`` of the function around line ``number``."""
    names, indent = [], len(lines[number]) - len(lines[number].lstrip())
    for line in reversed(lines[:number]):
        match = _DEF.match(line)
        if match and len(match["indent"]) < indent:
            names.insert(0, match["name"])
            indent = len(match["indent"])
        elif not names:
            continue
        elif line.strip() and len(line) - len(line.lstrip()) < indent:
            if line.lstrip().startswith("class "):
                names.insert(0, line.split()[1].split("(")[0].rstrip(":"))
            break
    if not names:
        raise ReleaseError(f"line {number + 1}: solution region outside any function")
    return ".".join(names)


def make_stub(source: str, filename: str = "<source>") -> str:
    """Replace each solution region of ``source`` with a NotImplementedError stub."""
    lines = source.splitlines()
    try:
        regions = solution_regions(source)
    except ReleaseError as error:
        raise ReleaseError(f"{filename}: {error}") from None
    out, previous_end = [], -1
    for begin, end in regions:
        match = _BEGIN.match(lines[begin])
        if not match["hint"]:
            raise ReleaseError(f"{filename}:{begin + 1}: solution region has no 'hint:'")
        function = _enclosing_function(lines, begin)
        message = f"{function}: {match['hint']}".replace("\\", "\\\\").replace('"', '\\"')
        out.extend(lines[previous_end + 1:begin])
        out.append(f'{match["indent"]}raise NotImplementedError("{message}")')
        previous_end = end
    out.extend(lines[previous_end + 1:])
    return "\n".join(out) + "\n"


def render(solutions: Path = SOLUTIONS) -> dict[str, bytes]:
    """The student release as ``{file name: content}``, made from ``solutions``."""
    files = {}
    for name in STUDENT_FILES:
        path = solutions / name
        if not path.is_file():
            raise ReleaseError(f"{path} is missing; it is listed in STUDENT_FILES")
        if path.suffix == ".py":
            files[name] = make_stub(path.read_text(encoding="utf-8"), name).encode("utf-8")
        elif path.suffix == ".ipynb":
            from autograder.nbgrader_course import student_notebook
            from autograder.rubric import load_rubric
            files[name] = student_notebook(path.read_bytes(), load_rubric())
        else:
            files[name] = path.read_bytes()
    files[POINTS_FILE] = local_points()
    return files


POINTS_FILE = "points.json"  # made from the rubric, for the local tests' points table


def local_points() -> bytes:
    """{function: points} of the rubric, training on held-out datasets left out."""
    from autograder.grade import all_checks
    from autograder.rubric import load_rubric
    rubric = load_rubric()
    points: dict[str, float] = {}
    for check in all_checks(rubric):
        if check.dataset is None:
            points[check.function] = points.get(check.function, 0.0) + \
                rubric.tests[check.id].points
    return (json.dumps({k: v for k, v in points.items() if v > 0}, indent=1) + "\n").encode()


def _present(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and not any(part in IGNORED for part in path.relative_to(folder).parts)
    }


def differences(assignment: Path = ASSIGNMENT, solutions: Path = SOLUTIONS) -> list[str]:
    """How ``assignment`` differs from a fresh release: one line per file."""
    expected = render(solutions)
    problems = []
    for name, content in expected.items():
        path = assignment / name
        if not path.is_file():
            problems.append(f"{name}: missing from {assignment}")
        elif path.read_bytes() != content:
            problems.append(f"{name}: differs from the release of {solutions / name}")
    for name in sorted(_present(assignment) - set(expected)):
        problems.append(f"{name}: in {assignment} but not part of the release")
    return problems


def write_release(assignment: Path = ASSIGNMENT, solutions: Path = SOLUTIONS) -> list[str]:
    """Write the release into ``assignment``; return the names of files changed."""
    assignment.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in render(solutions).items():
        path = assignment / name
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
            changed.append(name)
    return changed
