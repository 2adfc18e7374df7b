"""assignment/ is the release of solutions/: in sync, and free of solution code."""

from __future__ import annotations

import ast
import re

import nbformat
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


# --- students derive: no final gradient formula reaches the release -------------------

# Each final gradient (and the answers of the affine Jacobian exercise) as the reference code
# and the source notebook's worked derivations write it; compared after _formula_text(), so
# spacing, LaTeX sizing and braces do not matter. Every variant must be in solutions/ (the
# guard would be vacuous otherwise) and none in what students get.
FORMULAS = {
    "affine dx": ("dout @ w.T", r"dZ\,W^\top"),
    "affine dw": ("x.T @ dout", r"X^\top dZ"),
    "affine Jacobians": (r"= W_{\alpha j}", r"x_\alpha\,\delta_{j\beta}"),
    "relu": ("dout * (x > 0)", r"\texttt{dout} \odot \mathbb{1}[x > 0]"),
    "sigmoid": ("out * (1.0 - out)", r"\sigma(x)\,\bigl(1 - \sigma(x)\bigr)",
                r"\sigma\odot(1 - \sigma)"),
    "softmax + cross-entropy": ("(p - y) / N", r"\frac{P - Y}{N}",
                                r"\bigl(P_{nc} - \mathbb{1}[c = y_n]\bigr)"),
    "bce": ("(p - y) / (p * (1.0 - p))", r"\frac{p_n - y_n}{N\,p_n(1 - p_n)}"),
    "sigmoid + bce": (r"\frac{p_n - y_n}{N}", r"\frac{\sigma(z_n) - y_n}{N}"),
    "mse": ("2.0 * diff / n", "2 * (preds - y) / N", r"\frac{2}{N}\bigl(\hat y_{nk} - y_{nk}\bigr)",
            r"\frac{2}{N}(a_n - y_n)"),
    "two-layer backward": (r"dR_1 = dS\,W_2^\top", r"dW_2 = R_1^\top dS",
                           r"dR_1 \odot \mathbb{1}[A_1 > 0]", r"dW_1 = X^\top dA_1",
                           r"adds $\lambda W_1$ to $dW_1$"),
}


def _formula_text(text: str) -> str:
    """``text`` without what varies between two ways of writing the same formula (LaTeX
    spacing, sizing, braces and backslashes, whitespace, case): ``\\sigma(x)\\,\\bigl(1 -
    \\sigma(x)\\bigr)`` and ``sigma(x) (1 - sigma(x))`` compare equal."""
    for command in (r"\left", r"\right", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\big",
                    r"\,", r"\;", r"\!", r"\quad", "$"):
        text = text.replace(command, "")
    text = text.replace(r"\top", "T").replace("\\", "").replace("{", "").replace("}", "")
    text = re.sub(r"(\d)\.0\b", r"\1", text)
    return re.sub(r"\s+", "", text).lower()


def _gradient_text(folder) -> str:
    notebook = nbformat.read(folder / "backprop.ipynb", as_version=4)
    cells = "\n".join(cell.source for cell in notebook.cells)
    # Every file students get: the stubs, and the local tests and helpers they can read.
    code = "\n".join(path.read_text() for path in sorted(folder.glob("*.py")))
    return _formula_text(cells + code)


@pytest.fixture(scope="module")
def gradient_texts() -> dict[str, str]:
    return {"solutions": _gradient_text(SOLUTIONS), "assignment": _gradient_text(ASSIGNMENT)}


@pytest.mark.parametrize("gradient", FORMULAS)
def test_release_poses_gradients_the_source_derives(gradient, gradient_texts):
    for variant in FORMULAS[gradient]:
        assert _formula_text(variant) in gradient_texts["solutions"], \
            f"{gradient}: {variant!r} is not in solutions/ (the guard would be vacuous)"
        assert _formula_text(variant) not in gradient_texts["assignment"], \
            f"{gradient}: the release prints {variant!r}; make it a question"


# Gradients the released local tests once spelled out with their own variable names (a
# stand-in's, a probe model's): no longer written anywhere, so no source check, but each
# must stay out of what students read.
LEAKED_BEFORE = {
    "bce": "(probs - y) / (probs * (1 - probs))",
    "mse": "2.0 * diff / len(preds)",
    "affine dw": "X.T @ diff",
}


@pytest.mark.parametrize("gradient", LEAKED_BEFORE)
def test_the_released_tests_do_not_spell_out_a_gradient(gradient, gradient_texts):
    assert _formula_text(LEAKED_BEFORE[gradient]) not in gradient_texts["assignment"], \
        f"{gradient}: the release prints {LEAKED_BEFORE[gradient]!r}"
