"""report.html: the class at a glance, one self-contained page, from a batch's results."""

from __future__ import annotations

import base64
import json
import re
import sys

import pytest
from submissions import BUGS, buggy_files, make_submission

from autograder import report
from autograder.cli import main
from autograder.grade import Report, grade
from autograder.grade import TestResult as Result  # not collected as a test class

EVIL = "<script>alert('x')</script>&amp;"


def _results(tests: list[tuple[str, bool, str | None, str | None]], problem: str | None = None,
             grader_error: str | None = None) -> dict:
    """Gradescope results of one student: tests as (id, passed, mistake, call failure)."""
    return Report("s", [Result(f"{i.split('_')[0]}: does {i}", float(ok), 1.0, "out",
                                   id=i, function=i.split("_")[0], mistake=m, call_failure=c)
                        for i, ok, m, c in tests], 1.0, problem=problem,
                  grader_error=grader_error).gradescope()


@pytest.fixture
def results() -> dict[str, dict]:
    """A small class: x_easy passed by all, y_hard by one, z_mid by two of three graded."""
    return {
        "ann": _results([("x_easy", True, None, None), ("y_hard", True, None, None),
                         ("z_mid", True, None, None)]),
        "ben": _results([("x_easy", True, None, None), ("y_hard", False, "sign flipped", None),
                         ("z_mid", True, None, None)]),
        EVIL: _results([("x_easy", True, None, None),
                        ("y_hard", False, "sign flipped", None),
                        ("z_mid", False, f"a {EVIL} mistake", "timeout")]),
        "dan": _results([("x_easy", False, None, None), ("y_hard", False, None, None),
                         ("z_mid", False, None, None)], problem=f"{EVIL}.zip is not a zip"),
        "eve": _results([], grader_error="RuntimeError: boom"),
    }


def _sections(page: str) -> dict[str, str]:
    parts = re.split(r"<h2>(.*?)</h2>", page)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_report_shows_the_class_at_a_glance(results):
    page, note = report.render(results)
    assert note == ""
    sections = _sections(page)
    assert list(sections) == ["Scores", "Pass rate of each check", "Most common known mistakes",
                              "Timed out or not graded"]
    # Pass rates over the three graded students, worst first.
    rates = sections["Pass rate of each check"]
    assert [m for m in re.findall(r"<td>([xyz]_\w+)</td>", rates)] == ["y_hard", "z_mid",
                                                                       "x_easy"]
    assert "1/3" in rates and "2/3" in rates and "3/3" in rates
    # Known mistakes: counts and who, most common first.
    mistakes = sections["Most common known mistakes"]
    rows = re.findall(r"<tr>(.*?)</tr>", mistakes)[1:]
    assert "sign flipped" in rows[0] and ">2<" in rows[0] and "ben" in rows[0]
    assert "z" in rows[1] and ">1<" in rows[1]
    # Timed out or not graded, with the reasons.
    trouble = sections["Timed out or not graded"]
    assert "submission problem" in trouble and "is not a zip" in trouble
    assert "grader error" in trouble and "RuntimeError: boom" in trouble
    assert "timed out" in trouble and "z" in trouble
    assert "5 student(s): 3 graded, 1 submission problem, 1 grader error" in page


def test_the_report_is_one_self_contained_page_with_every_name_escaped(results, tmp_path):
    page, _ = report.render(results)
    assert "<script" not in page and "alert('x')" not in page
    assert html_escaped(EVIL) in page
    # Nothing fetched from anywhere: no links, scripts or stylesheets; images inline.
    assert not re.search(r"(?:src|href)\s*=\s*(?![\"']?data:)", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2  # the histogram and the pass rates
    for image in images:
        assert base64.b64decode(image).startswith(b"\x89PNG")


def html_escaped(text: str) -> str:
    import html
    return html.escape(text, quote=True)


def test_without_matplotlib_the_report_has_the_tables_and_says_so(results, tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    page, note = report.render(results)
    assert "matplotlib is not installed" in note and "matplotlib is not installed" in page
    assert "<img" not in page
    assert "sign flipped" in page and "1/3" in page and "2.7 to 3 (incl.)" in page
    # A batch still completes, and says why the charts are missing.
    subs = tmp_path / "subs"
    (subs / "ann").mkdir(parents=True)
    assert main(["batch", str(subs), "--out", str(tmp_path / "out")]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert "<table>" in (tmp_path / "out" / "report.html").read_text()


def test_backprop_hw_report_rebuilds_the_page_from_the_results(results, tmp_path, capsys):
    for stem, data in results.items():
        if stem != EVIL:
            (tmp_path / f"{stem}.json").write_text(json.dumps(data))
    (tmp_path / "broken.json").write_text("{")
    assert main(["report", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "report.html (4 students)" in captured.out
    assert "1 .json file(s) there are not a student's results, left out: broken.json" in \
        captured.err
    page = (tmp_path / "report.html").read_text()
    assert "4 student(s)" in page and "sign flipped" in page
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2  # a wrong folder is not an empty class
    assert "holds no results" in capsys.readouterr().err
    assert not (empty / "report.html").exists()


KEPT = ("affine_forward_values", "sigmoid_forward_values", "relu_backward_gradient")


def _only(tmp_path, kept: tuple[str, ...]):
    """The rubric with every test but ``kept`` at 0 points (not run): a quick grade."""
    from autograder.paths import RUBRIC
    from autograder.rubric import load_rubric
    text, part = [], ""
    for line in RUBRIC.read_text().splitlines():
        part = line if line.startswith("[") else part
        key = line.split("=")[0].strip()
        if (part == "[tests]" and "=" in line and not line.startswith("#")
                and key not in kept) or (part.startswith("[training.datasets") and
                                         key == "points"):
            line = f"{key} = 0"
        text.append(line)
    (tmp_path / "rubric.toml").write_text("\n".join(text) + "\n")
    return load_rubric(tmp_path / "rubric.toml")


def test_known_mistakes_and_call_failures_reach_the_results_as_metadata(tmp_path):
    bug = next(b for b in BUGS if b.name == "affine_no_bias")
    files = buggy_files(bug)
    files["layers.py"] = buggy_files(bug)["layers.py"].replace(
        "def relu_backward(dout, cache):", "def relu_backward(dout, cache):\n    import os\n"
        "    os._exit(3)", 1)
    assert "os._exit(3)" in files["layers.py"]
    tests = {t["tags"][0]: t for t in grade(make_submission(tmp_path / "s", files),
                                            _only(tmp_path, KEPT)).gradescope()["tests"]}
    assert set(tests) == set(KEPT)
    assert tests["affine_forward_values"]["extra_data"]["mistake"] == "the bias b is missing"
    assert "likely mistake: the bias b is missing" in tests["affine_forward_values"]["output"]
    assert tests["relu_backward_gradient"]["extra_data"]["call_failure"] == "crashed"
    passed = [t for t in tests.values() if t["score"] == t["max_score"]]
    assert passed and all(t["extra_data"] == {"mistake": None, "call_failure": None}
                          for t in passed)
