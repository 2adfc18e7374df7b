"""assignment/ is the release of solutions/: in sync, and free of solution code."""

from __future__ import annotations

import ast

import pytest

from autograder import release
from autograder.paths import ASSIGNMENT, SOLUTIONS


def test_assignment_matches_a_fresh_release():
    assert release.differences() == [], "run 'backprop-hw release'"


def _solution_lines(source: str) -> set[str]:
    lines = source.splitlines()
    inside = set()
    for begin, end in release.solution_regions(source):
        inside.update(line.strip() for line in lines[begin + 1:end])
    outside = {line.strip() for number, line in enumerate(lines)
               if not any(b <= number <= e for b, e in release.solution_regions(source))}
    return {line for line in inside - outside if line and not line.startswith("#")}


@pytest.mark.parametrize("name", [n for n in release.STUDENT_FILES if n.endswith(".py")])
def test_no_solution_line_reaches_the_assignment(name):
    source = (SOLUTIONS / name).read_text()
    released = {line.strip() for line in (ASSIGNMENT / name).read_text().splitlines()}
    leaked = _solution_lines(source) & released
    assert not leaked
    assert "BEGIN SOLUTION" not in (ASSIGNMENT / name).read_text()


def test_every_student_function_is_a_stub_with_a_hint():
    stubbed = 0
    for name in ("layers.py", "two_layer_net.py", "fc_net.py"):
        tree = ast.parse((ASSIGNMENT / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and "NotImplementedError" in ast.unparse(node):
                message = node.exc.args[0].value
                assert ": " in message and len(message.split(": ", 1)[1]) > 15, message
                stubbed += 1
    # layers.py: 10 functions; TwoLayerNet: __init__, loss (2 regions), predict, and train;
    # FullyConnectedNet: __init__, loss (2 regions), predict
    assert stubbed == 10 + 5 + 4


def test_stub_keeps_indentation_and_names_the_function():
    source = (
        "def f(x):\n"
        "    y = 1\n"
        "    ### BEGIN SOLUTION hint: compute \"z\" (N,)\n"
        "    z = x + y\n"
        "    ### END SOLUTION\n"
        "    return z\n"
    )
    stub = release.make_stub(source)
    assert stub == ('def f(x):\n    y = 1\n'
                    '    raise NotImplementedError("f: compute \\"z\\" (N,)")\n    return z\n')
    with pytest.raises(NotImplementedError, match=r'f: compute "z" \(N,\)'):
        namespace = {}
        exec(stub, namespace)
        namespace["f"](1)


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n", "no 'hint:'"),
    ("def f():\n    ### BEGIN SOLUTION hint: x\n    pass\n", "never closed"),
    ("def f():\n    pass\n    ### END SOLUTION\n", "without BEGIN"),
    ("### BEGIN SOLUTION hint: x\nx = 1\n### END SOLUTION\n", "outside any function"),
])
def test_malformed_regions_are_reported(source, problem):
    with pytest.raises(release.ReleaseError, match=problem):
        release.make_stub(source, "bad.py")


def test_release_check_command_reports_a_stale_file(tmp_path, capsys):
    release.write_release(tmp_path)
    assert release.differences(tmp_path) == []
    (tmp_path / "layers.py").write_text("# edited\n")
    (tmp_path / "notes.txt").write_text("stray")
    problems = release.differences(tmp_path)
    assert any(p.startswith("layers.py: differs") for p in problems)
    assert any(p.startswith("notes.txt: in") for p in problems)
