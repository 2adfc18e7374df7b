"""The gallery of submissions the project's tests grade: correct, buggy and more.

A submission is the student release with the two files students edit
(layers.py, two_layer_net.py) replaced: by the reference, by the reference
with one known bug spliced in, or by hand-written variants.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.paths import ASSIGNMENT, SOLUTIONS

EDITED_FILES = ("layers.py", "two_layer_net.py", "fc_net.py")


@dataclass(frozen=True)
class Bug:
    """One known mistake: ``old`` replaced by ``new`` in the reference ``file``.

    ``student_test`` is the local test that must catch it, and ``hint`` a
    phrase its failure message must contain.
    """

    name: str
    file: str
    old: str
    new: str
    student_test: str
    hint: str


BUGS = (
    Bug("affine_dw_transposed", "layers.py", "dw = x.T @ dout", "dw = (x.T @ dout).T",
        "test_affine_backward_matches_numeric_gradient", "transposed"),
    Bug("affine_db_keepdims", "layers.py", "db = dout.sum(axis=0)",
        "db = dout.sum(axis=0, keepdims=True)",
        "test_affine_backward_matches_numeric_gradient", "axis of length 1"),
    Bug("affine_db_wrong_axis", "layers.py", "db = dout.sum(axis=0)", "db = dout.sum(axis=1)",
        "test_affine_backward_matches_numeric_gradient", "wrong axis"),
    Bug("affine_no_bias", "layers.py", "out = x @ w + b", "out = x @ w",
        "test_affine_forward_values", "bias b is missing"),
    Bug("relu_in_place", "layers.py", "out = np.maximum(x, 0.0)",
        "out = x\n    out[out < 0] = 0.0",
        "test_relu_forward_does_not_modify_inputs", "in place"),
    Bug("relu_backward_ignores_dout", "layers.py", "dx = dout * (x > 0)",
        "dx = (x > 0).astype(float)",
        "test_relu_backward_matches_numeric_gradient", "dout is not used"),
    Bug("sigmoid_naive", "layers.py",
        "out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
        "out = np.exp(x) / (1.0 + np.exp(x))",
        "test_sigmoid_is_stable_for_large_inputs", "exp"),
    # Right values with overflow warnings: only numpy's overflow as an error catches it.
    Bug("sigmoid_naive_one_over", "layers.py",
        "out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
        "out = 1.0 / (1.0 + np.exp(-x))",
        "test_sigmoid_is_stable_for_large_inputs", "exp"),
    Bug("softmax_no_shift", "layers.py",
        "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores",
        "test_softmax_loss_is_stable_for_large_scores", "max"),
    Bug("softmax_missing_1_over_N", "layers.py", "dscores /= n", "pass",
        "test_softmax_loss_gradient_matches_numeric", "missing 1/N"),
    Bug("bce_no_clip", "layers.py", "p = np.clip(probs, eps, 1.0 - eps)", "p = probs",
        "test_bce_loss_is_finite_at_probabilities_0_and_1", "Clip"),
    Bug("net_no_reg_gradient", "two_layer_net.py",
        'grads["W1"] = grads["W1"] + self.reg * W1', "pass",
        "test_gradients_match_numeric", "regularization gradient"),
    Bug("net_reg_without_half", "two_layer_net.py",
        "loss = data_loss + 0.5 * self.reg", "loss = data_loss + self.reg",
        "test_loss_value_with_regularization", "factor 0.5"),
    Bug("net_bce_skips_sigmoid_backward", "two_layer_net.py",
        "dscores = sigmoid_backward(dprobs, cache_sigmoid)[:, None]",
        "dscores = dprobs[:, None]", "test_gradients_match_numeric", "sigmoid_backward"),
    Bug("net_dW_divided_by_N_twice", "two_layer_net.py",
        '        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)',
        '        dscores = dscores / X.shape[0]\n'
        '        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)',
        "test_gradients_match_numeric", "divided by N twice"),
    Bug("net_loss_summed", "two_layer_net.py", "loss = data_loss + 0.5",
        "loss = data_loss * X.shape[0] + 0.5", "test_loss_value_with_regularization",
        "summed over the batch"),
    Bug("mse_missing_factor_2", "layers.py", "dpreds = 2.0 * diff / n", "dpreds = diff / n",
        "test_mse_loss_gradient_matches_numeric", "factor 2"),
    Bug("mse_mean_over_every_entry", "layers.py", "loss = np.sum(diff * diff) / n",
        "loss = np.mean(diff * diff)", "test_mse_loss_value", "all N*K entries"),
    Bug("mse_expanded_square", "layers.py", "loss = np.sum(diff * diff) / n",
        "loss = np.sum(preds * preds - 2 * preds * y + y * y) / n",
        "test_mse_loss_is_accurate_for_large_values", "expand"),
    Bug("jacobian_dx_not_transposed", "layers.py", "da_dx = w.T.copy()", "da_dx = w.copy()",
        "test_affine_jacobians_match_numeric", "transposed"),
    Bug("jacobian_db_ones", "layers.py", "da_db = np.eye(m)", "da_db = np.ones((m, m))",
        "test_affine_jacobians_match_numeric", "numeric Jacobian"),
    # Looks right at lr_decay = 0.5, which neither the probe nor the local test uses.
    Bug("train_decays_by_one_minus", "two_layer_net.py", "learning_rate *= lr_decay",
        "learning_rate *= 1 - lr_decay", "test_train_follows_the_documented_sgd",
        "does not match the documented minibatch SGD"),
    Bug("fc_no_reg_gradient", "fc_net.py",
        'grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]', "pass",
        "test_fc_gradients_match_numeric", "regularization gradient"),
    Bug("fc_biases_regularized", "fc_net.py",
        "sum(np.sum(w * w) for w in weights)", "sum(np.sum(w * w) for w in self.params.values())",
        "test_fc_loss_value_with_regularization", "biases are regularized too"),
    Bug("fc_init_fixed_scale", "fc_net.py",
        "scale = np.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale",
        "scale = 0.01 if weight_scale is None else weight_scale",
        "test_fc_init_weight_scale", "He"),
)


def make_submission(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write a submission into ``folder``: the release, with ``files`` (name -> source) over it."""
    shutil.copytree(ASSIGNMENT, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for name, source in (files or {}).items():
        (folder / name).write_text(source, encoding="utf-8")
    return folder


def reference_files() -> dict[str, str]:
    """The files students edit, as the reference has them."""
    return {name: (SOLUTIONS / name).read_text(encoding="utf-8") for name in EDITED_FILES}


def buggy_files(bug: Bug) -> dict[str, str]:
    """The reference with ``bug`` spliced in; fails loudly if the splice no longer applies."""
    files = reference_files()
    if files[bug.file].count(bug.old) != 1:
        raise AssertionError(f"bug {bug.name}: {bug.old!r} is not exactly once in {bug.file}")
    files[bug.file] = files[bug.file].replace(bug.old, bug.new)
    return files


def _top_level_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def gallery_files(folder: Path) -> dict[str, str]:
    """A gallery case: the reference, with the case folder's files over it.

    A case is about the functions its files define: each of its files gets the
    reference's definitions of the functions and classes it leaves out (so a case
    written before a function existed still has it, as the reference writes it).
    """
    files = reference_files()
    for path in sorted(folder.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        reference = files.get(path.name)
        if reference is not None and _top_level_names(source):
            missing = _top_level_names(reference) - _top_level_names(source)
            tree = ast.parse(reference)
            source += "".join(f"\n\n{ast.get_source_segment(reference, node)}\n"
                              for node in tree.body
                              if getattr(node, "name", None) in missing)
        files[path.name] = source
    return files


def inject(function: str, code: str, file: str = "layers.py",
           base: dict[str, str] | None = None) -> dict[str, str]:
    """The reference (or ``base``) with ``code`` run first thing in ``function`` (indented
    to fit).

    ``function`` "<module>" runs ``code`` when the module is imported.
    """
    files = dict(base) if base is not None else reference_files()
    source = files[file]
    if function == "<module>":
        files[file] = source.replace("import numpy as np\n", f"import numpy as np\n{code}\n", 1)
        return files
    start = source.index(f"def {function}(")
    begin = source.index("### BEGIN SOLUTION", start)
    line_end = source.index("\n", begin) + 1
    indent = source[source.rindex("\n", 0, begin) + 1:begin]
    body = "".join(f"{indent}{line}\n" for line in code.splitlines())
    files[file] = source[:line_end] + body + source[line_end:]
    return files
