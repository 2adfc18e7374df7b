"""The local tests students get: green on the reference, red on the stubs, and telling.

Each run is a separate pytest process in a copy of the student folder, as a
student would run it.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from submissions import BUGS, buggy_files, make_submission, reference_files


def run_student_tests(folder: Path) -> dict[str, str | None]:
    """Run pytest in ``folder``; return {test name: failure text, or None if it passed}."""
    report = folder / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                    f"--junitxml={report}"], cwd=folder, capture_output=True, timeout=300)
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        results[case.get("name")] = (
            " ".join((p.get("message") or "") + (p.text or "") for p in problems)
            if problems else None)
    return results


@pytest.fixture(scope="module")
def reference_results(tmp_path_factory):
    return run_student_tests(make_submission(tmp_path_factory.mktemp("ref"), reference_files()))


def test_reference_passes_every_student_test(reference_results):
    assert len(reference_results) >= 30, reference_results
    failed = {name: text for name, text in reference_results.items() if text is not None}
    assert not failed


def test_stubs_fail_every_student_test_with_not_implemented(tmp_path, reference_results):
    results = run_student_tests(make_submission(tmp_path))
    assert set(results) == set(reference_results)
    for name, text in results.items():
        assert text is not None, f"{name} passed on the untouched stubs"
        assert "NotImplementedError" in text, f"{name} failed otherwise: {text[:500]}"


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.name)
def test_a_known_bug_is_caught_and_named(tmp_path, bug):
    results = run_student_tests(make_submission(tmp_path, buggy_files(bug)))
    matching = [name for name in results if name.split("[")[0] == bug.student_test]
    assert matching, f"no student test named {bug.student_test}"
    messages = [results[name] for name in matching if results[name]]
    assert messages, f"{bug.student_test} passed despite {bug.name}"
    assert any(bug.hint in message for message in messages), messages
