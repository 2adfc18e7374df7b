"""The grader's checks, called from notebook test cells (nbgrader grade cells).

A test cell runs ``check("affine_forward", "affine_backward")``: the same
checks ``backprop-hw grade`` runs, in the same sandbox, on the .py files
next to the notebook. It prints one line per test and raises AssertionError
when any fails, so nbgrader gives the cell's points only when all pass.
``hidden=True`` runs them again on inputs drawn from another seed, for
``### BEGIN HIDDEN TESTS`` blocks.
"""

from __future__ import annotations

from pathlib import Path

from autograder.grade import all_checks, run_checks
from autograder.paths import RUBRIC
from autograder.rubric import load_rubric

HIDDEN_SEED_OFFSET = 1  # hidden tests: the rubric's seed + 1


def check(*functions: str, hidden: bool = False, folder: str | Path = ".",
          rubric: str | Path = RUBRIC) -> None:
    """Run every check of ``functions`` on the code in ``folder``; AssertionError if any fails.

    ``functions`` are the names tests start with: "affine_forward", "softmax_loss",
    "TwoLayerNet", "train" (training on every dataset included).
    """
    loaded = load_rubric(Path(rubric))
    unknown = set(functions) - {c.function.split(".")[0] for c in all_checks(loaded)}
    if unknown:
        raise ValueError(f"no checks for {sorted(unknown)}")
    selected = [c for c in all_checks(loaded) if c.function.split(".")[0] in functions]
    seed = loaded.seed + (HIDDEN_SEED_OFFSET if hidden else 0)
    outcomes, _, _ = run_checks(Path(folder), selected, loaded, seed)
    failed = []
    for item, passed, output in outcomes:
        print(f"{'PASS' if passed else 'FAIL'}  {item.name}")
        if not passed:
            print(f"      {output}")
            failed.append(output)
    if failed:
        raise AssertionError(f"{len(failed)} of {len(outcomes)} checks failed; first: "
                             f"{failed[0]}")
    print(f"all {len(outcomes)} checks passed" + (" (hidden inputs)" if hidden else ""))
