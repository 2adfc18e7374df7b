"""The local tests students get: green on the reference, red on the stubs, and telling.

Each run is a separate pytest process in a copy of the student folder, as a
student would run it; the gallery's runs are made once per session
(tests/gallery_runs.py) and shared with test_agreement.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from submissions import BUGS, buggy_files, make_submission


def local_test_name(node: str) -> str:
    """The test function a local test's node id names ("file.py::test_x[param]" -> "test_x")."""
    return node.split("::")[-1].split("[")[0]


@pytest.mark.xdist_group("gallery")
def test_reference_passes_every_student_test(gallery):
    run = gallery["reference"].local
    assert len(run.tests) >= 30, run.log
    assert not run.failures and not run.collect_errors
    assert run.passed == set(run.tests), run.log


# The import rule holds for the stubs too: these pass on the untouched release.
IMPORT_RULE_TESTS = ("test_layers_imports_only_numpy_and_the_standard_library",
                     "test_two_layer_net_imports_only_numpy_and_the_standard_library",
                     "test_fc_net_imports_only_numpy_and_the_standard_library")


@pytest.mark.xdist_group("gallery")
def test_stubs_fail_every_student_test_with_not_implemented(gallery):
    run, reference = gallery["stubs"].local, gallery["reference"].local
    assert set(run.tests) == set(reference.tests)
    for node in run.tests:
        text = run.failures.get(node)
        if local_test_name(node) in IMPORT_RULE_TESTS:
            assert node in run.passed, f"{node} failed on the untouched stubs: {text[:500]}"
            continue
        assert text is not None, f"{node} passed on the untouched stubs"
        assert "NotImplementedError" in text, f"{node} failed otherwise: {text[:500]}"


@pytest.mark.xdist_group("gallery")
@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name)
def test_a_known_bug_is_caught_and_named(gallery, bug):
    run = gallery[f"bug/{bug.name}"].local
    matching = [node for node in run.tests if local_test_name(node) == bug.student_test]
    assert matching, f"no student test named {bug.student_test}"
    messages = [run.failures[node] for node in matching if node in run.failures]
    assert messages, f"{bug.student_test} passed despite {bug.name}"
    assert any(bug.hint in message for message in messages), messages


# --- the helpers the local tests use (solutions/feedback.py) -----------------------

@pytest.fixture(scope="module")
def feedback():
    from autograder.reference import reference
    return reference()["feedback"]


def test_check_unchanged_counts_every_entry_that_moved(feedback):
    before = np.array([0.0, 1.0, 0.5, np.nan])
    after = np.clip(before, 1e-12, 1 - 1e-12)
    message = feedback.check_unchanged("bce_loss", "probs", before, after)
    assert "(2 of 4 entries changed)" in message, message
    assert feedback.check_unchanged("bce_loss", "probs", before, before.copy()) is None


def test_check_imports_follows_the_import_rule(feedback, tmp_path):
    (tmp_path / "layers.py").write_text("import numpy as np\nimport os.path\nimport helper\n")
    (tmp_path / "helper.py").write_text("from scipy import special\nimport sklearn.svm\n")
    (tmp_path / "two_layer_net.py").write_text("from layers import *\nimport _thread\n")
    assert feedback.check_imports(tmp_path / "layers.py") == (
        "helper.py imports scipy, sklearn.svm: submissions may import only numpy, the "
        "standard library and each other")
    assert feedback.check_imports(tmp_path / "two_layer_net.py", exclude=("layers",)) is None
    (tmp_path / "two_layer_net.py").write_text("def broken(:\n")
    assert "does not compile" in feedback.check_imports(tmp_path / "two_layer_net.py")


def test_time_limit_interrupts_a_loop_and_nests(feedback):
    def spin(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    inner = feedback.time_limit(0.1, "inner")
    with pytest.raises(feedback.TimeLimitExceeded, match="inner"), \
            feedback.time_limit(5, "outer"), inner:
        spin(3)
    assert inner.expired
    outer, inner = feedback.time_limit(0.1, "outer"), feedback.time_limit(5, "inner")
    with pytest.raises(feedback.TimeLimitExceeded, match="outer"), outer, inner:
        spin(3)
    assert outer.expired and not inner.expired
    with feedback.time_limit(0.2, "unused") as unused:
        spin(0.01)
    spin(0.3)  # no alarm left behind
    assert not unused.expired


def test_a_local_run_ends_with_the_rubrics_points_per_function(tmp_path):
    import json

    from autograder.release import local_points
    points = json.loads(local_points())
    total = sum(points.values())
    bug = next(b for b in BUGS if b.name == "mse_missing_factor_2")
    folder = make_submission(tmp_path, buggy_files(bug))
    done = subprocess.run([sys.executable, "-m", "pytest", f"--junitxml={tmp_path / 'r.xml'}"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    # The one local run of the whole suite, the training on the local moons included.
    cases = {case.get("name"): list(case) for case in
             ET.parse(tmp_path / "r.xml").getroot().iter("testcase")}
    assert cases["test_train_reaches_threshold_on_moons"] == [], done.stdout[-3000:]
    table = done.stdout.split("points by function")[1]
    rows = {line.split()[0]: line for line in table.splitlines()[1:] if line.startswith("  ")}
    assert f"below {points['mse_loss']:g} / {points['mse_loss']:g}" in rows["mse_loss"]
    assert f"{points['bce_loss']:g} / {points['bce_loss']:g}" in rows["bce_loss"]
    assert "train (held-out)" not in table
    earned = total - points["mse_loss"]
    assert f"{earned:g} / {total:g}" in rows["total"]
    assert "pytest -x" in table and "-k affine" in table
