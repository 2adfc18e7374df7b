"""backprop-hw batch: a class graded into per-student files and grades.csv, resumably."""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from submissions import EDITED_FILES

from autograder import batch
from autograder.cli import main
from autograder.grade import all_checks
from autograder.paths import ASSIGNMENT, SOLUTIONS
from autograder.rubric import load_rubric

STUDENTS = ("alice", "bob", "carol", "dave")


def _points() -> dict[str, float]:
    """Test name -> points, for every test the rubric grades, in grading order."""
    rubric = load_rubric()
    points = {}
    for check in all_checks(rubric):
        rule = rubric.tests.get(check.id) or rubric.datasets[check.id.removeprefix("train_")]
        if rule.points > 0:
            points[check.name] = rule.points
    return points


@pytest.fixture
def class_dir(tmp_path: Path) -> Path:
    """alice: the reference (folder); bob: the stubs (.zip, one folder deep);
    carol: a corrupt .zip; dave: an empty folder; plus hidden entries to skip."""
    subs = tmp_path / "submissions"
    alice = subs / "alice"
    alice.mkdir(parents=True)
    for path in ASSIGNMENT.glob("*.py"):
        shutil.copyfile(path, alice / path.name)
    for name in EDITED_FILES:
        shutil.copyfile(SOLUTIONS / name, alice / name)
    with zipfile.ZipFile(subs / "bob.zip", "w") as zf:
        for path in sorted(ASSIGNMENT.glob("*.py")):
            zf.write(path, f"homework/{path.name}")
    (subs / "carol.zip").write_bytes(os.urandom(4096))
    (subs / "dave").mkdir()
    (subs / ".DS_Store").write_bytes(b"\0\1")
    (subs / ".hidden").mkdir()
    return subs


def _stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in out.iterdir() if p.suffix in (".json", ".txt")}


def _batch(capsys, *argv: str) -> tuple[int, str]:
    code = main(["batch", *argv])
    return code, capsys.readouterr().out


def test_batch_grades_a_class_and_resumes(class_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    code, summary = _batch(capsys, str(class_dir), "--out", str(out), "-j", "2")
    assert code == 0
    assert "4 graded, 0 skipped" in summary and "0 failed" in summary

    points = _points()
    max_score = sum(points.values())
    assert max_score == load_rubric().max_score
    expected = {"alice": max_score, "bob": 0.0, "carol": 0.0, "dave": 0.0}
    for student, score in expected.items():
        results = json.loads((out / f"{student}.json").read_text())
        assert results["score"] == pytest.approx(score), student
        assert [t["name"] for t in results["tests"]] == list(points)
        text = (out / f"{student}.txt").read_text()
        assert text.startswith("backprop-hw: ") and f"{score:g} / {max_score:g} points" in text
    carol = (out / "carol.txt").read_text()
    assert carol.count("not a readable zip file") == 1, carol  # once, not once per test
    assert "none of the" in carol and len(carol.splitlines()) == 3
    for student in STUDENTS:  # no instructor folders in what a student reads
        assert str(class_dir) not in (out / f"{student}.txt").read_text()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"{s}.json" for s in STUDENTS), *(f"{s}.txt" for s in STUDENTS), "grades.csv"])

    with open(out / "grades.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = {row["student"]: row for row in reader}
        assert reader.fieldnames == ["student", *points, "total"]
    assert sorted(rows) == sorted(STUDENTS)
    for student, score in expected.items():
        assert float(rows[student]["total"]) == pytest.approx(score)
    assert all(float(rows["alice"][name]) == p for name, p in points.items())
    assert all(float(rows["bob"][name]) == 0 for name in points)

    # Re-run: everyone is already graded, nothing is written again.
    before = _stamps(out)
    code, summary = _batch(capsys, str(class_dir), "--out", str(out))
    assert code == 0 and "0 graded, 4 skipped" in summary
    assert _stamps(out) == before

    # A batch killed after some students: only the missing one is graded.
    (out / "bob.json").unlink()
    code, summary = _batch(capsys, str(class_dir), "--out", str(out), "-j", "2")
    assert code == 0 and "1 graded, 3 skipped" in summary
    after = _stamps(out)
    assert {name for name in after if after[name] != before.get(name)} == {"bob.json", "bob.txt"}
    assert json.loads((out / "bob.json").read_text())["score"] == 0

    # --force grades everyone again.
    code, summary = _batch(capsys, str(class_dir), "--out", str(out), "-j", "2", "--force")
    assert code == 0 and "4 graded, 0 skipped" in summary
    forced = _stamps(out)
    assert all(forced[name] != after[name] for name in after)
    with open(out / "grades.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 4


def test_a_grader_failure_costs_one_student_only(tmp_path: Path, capsys, monkeypatch):
    subs = tmp_path / "submissions"
    (subs / "erin").mkdir(parents=True)
    (subs / "frank").mkdir()
    real_grade = batch.grade

    def flaky_grade(path, rubric=None, hide=()):
        if Path(path).name == "frank":
            raise RuntimeError("boom")
        return real_grade(path, rubric, hide)

    monkeypatch.setattr(batch, "grade", flaky_grade)
    out = tmp_path / "out"
    code, summary = _batch(capsys, str(subs), "--out", str(out))
    assert code == 0
    assert "1 graded" in summary and "1 failed" in summary and "frank" in summary
    frank = json.loads((out / "frank.json").read_text())
    assert frank["score"] == 0 and frank["tests"] == []
    assert "grader failed" in frank["output"] and "boom" not in frank["output"]
    assert frank["extra_data"]["error"] == "RuntimeError: boom"  # for the staff only
    feedback = (out / "frank.txt").read_text()
    assert "grader failed" in feedback and "boom" not in feedback and "Traceback" not in feedback
    log = (out / "grader-errors.log").read_text()
    assert "frank: RuntimeError: boom" in log and "Traceback" in log
    assert json.loads((out / "erin.json").read_text())["tests"]
    with open(out / "grades.csv", newline="") as f:
        totals = {row["student"]: row["total"] for row in csv.DictReader(f)}
    assert totals == {"erin": "0", "frank": "0"}


def test_bad_arguments_exit_nonzero_with_a_message(class_dir: Path, tmp_path: Path, capsys):
    assert main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["batch", str(class_dir / "carol.zip"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["batch", str(class_dir), "--out", str(tmp_path / "file")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["batch", str(class_dir), "--out", str(class_dir)]) == 2
    assert "must not be the submissions folder" in capsys.readouterr().err
    for argv in (["batch", str(class_dir)], ["batch", str(class_dir), "--out", "o", "-j", "0"],
                 ["batch", str(class_dir), "--out", "o", "-j", "two"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code != 0
        assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not Path("o").exists()


def test_which_entries_are_students(tmp_path: Path):
    subs = tmp_path / "subs"
    (subs / "results").mkdir(parents=True)
    (subs / "ann").mkdir()
    (subs / "Ben.ZIP").write_bytes(b"not a zip")
    (subs / "notes.txt").write_text("hello")
    (subs / ".git").mkdir()
    found, ignored = batch.find_submissions(subs, outdir=subs / "results")
    assert found == {"ann": subs / "ann", "Ben": subs / "Ben.ZIP"}
    assert ignored == ["notes.txt"]
    (subs / "ann.zip").write_bytes(b"")
    with pytest.raises(batch.BatchError, match="ann and ann.zip"):
        batch.find_submissions(subs)


def test_unreadable_results_are_graded_again(tmp_path: Path):
    (tmp_path / "half.json").write_text('{"score": ')
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "ok.json").write_text('{"score": 3, "tests": []}')
    assert batch.read_results(tmp_path / "half.json") is None
    assert batch.read_results(tmp_path / "list.json") is None
    assert batch.read_results(tmp_path / "missing.json") is None
    assert batch.read_results(tmp_path / "ok.json") == {"score": 3, "tests": []}


def test_a_batch_refuses_as_a_whole_where_submissions_cannot_be_isolated(
        class_dir: Path, tmp_path: Path, capsys, monkeypatch):
    from autograder import batch
    from autograder.sandbox import SandboxRefused

    def refused(path, rubric, hide=()):
        raise SandboxRefused("submission code cannot be isolated here: landlock unavailable")
    monkeypatch.setattr(batch, "grade", refused)
    out = tmp_path / "out"
    assert main(["batch", str(class_dir), "--out", str(out)]) == 2
    assert "cannot be isolated here" in capsys.readouterr().err
    assert not list(out.glob("*.json"))  # nobody got a zero for the machine's fault


def test_grades_csv_is_safe_in_a_spreadsheet_and_keeps_look_alike_names_apart(tmp_path: Path,
                                                                              capsys):
    subs = tmp_path / "submissions"
    names = ["=HYPERLINK(\"x\")", "+1", "-2", "@sum", "\u202eevil", "carol\udce9", "carol\udcea"]
    for name in names:
        os.makedirs(os.fsencode(subs) + b"/" + os.fsencode(name))
    out = tmp_path / "out"
    assert main(["batch", str(subs), "--out", str(out)]) == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        students = [row["student"] for row in csv.DictReader(f)]
    assert len(students) == len(set(students)) == len(names)
    for cell in students:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
        assert "\u202e" not in cell


def test_links_and_fifos_in_a_batch_folder_are_listed_not_graded(tmp_path: Path, capsys):
    from autograder.batch import find_submissions
    from autograder.paths import SOLUTIONS
    subs = tmp_path / "submissions"
    (subs / "alice").mkdir(parents=True)
    (subs / "mallory").symlink_to(SOLUTIONS)      # would be graded 100/100 if followed
    os.mkfifo(subs / "carol.zip")                  # would hang the grader if opened
    found, ignored = find_submissions(subs)
    assert list(found) == ["alice"]
    assert sorted(ignored) == ["carol.zip", "mallory (a link)"]


def test_names_print_without_bidirectional_controls():
    from autograder.batch import printable
    assert printable("\u202eevil\u2066x\u200f") == "evilx"
    assert printable("carol\udce9") == "carol\ufffd"
