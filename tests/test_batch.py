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


def _points(by: str = "name") -> dict[str, float]:
    """Test name (or id) -> points, for every test the rubric grades, in grading order."""
    rubric = load_rubric()
    points = {}
    for check in all_checks(rubric):
        rule = rubric.tests.get(check.id) or rubric.datasets[check.id.removeprefix("train_")]
        if rule.points > 0:
            points[getattr(check, by)] = rule.points
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


@pytest.fixture
def no_charts(monkeypatch):
    """Batches here need report.html, not its charts (tests/test_report.py draws them)."""
    from autograder import report
    monkeypatch.setattr(report, "charts", lambda *args: [])


def _stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in out.iterdir() if p.suffix in (".json", ".txt")}


def _batch(capsys, *argv: str) -> tuple[int, str]:
    code = main(["batch", *argv])
    return code, capsys.readouterr().out


def test_batch_grades_a_class_and_resumes(class_dir: Path, tmp_path: Path, capsys, no_charts):
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
    dave = (out / "dave.txt").read_text()  # an empty folder: one summary, not 58 "missing"
    assert "is missing" not in dave and len(dave.splitlines()) == 3, dave
    for student in STUDENTS:  # no instructor folders in what a student reads
        assert str(class_dir) not in (out / f"{student}.txt").read_text()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"{s}.json" for s in STUDENTS), *(f"{s}.txt" for s in STUDENTS), "grades.csv",
         "grades-legend.csv", "lms.csv", "report.html"])

    ids = _points("id")
    with open(out / "grades.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = {row["student"]: row for row in reader}
        assert reader.fieldnames == ["student", "status", "reason", *ids, "total"]
    assert list(rows)[0] == "max points"  # first, under the header
    assert {i: float(rows["max points"][i]) for i in ids} == ids
    assert float(rows.pop("max points")["total"]) == max_score
    assert sorted(rows) == sorted(STUDENTS)
    for student, score in expected.items():
        assert float(rows[student]["total"]) == pytest.approx(score)
    assert all(float(rows["alice"][i]) == p for i, p in ids.items())
    assert all(float(rows["bob"][i]) == 0 for i in ids)
    assert {s: rows[s]["status"] for s in STUDENTS} == {
        "alice": "graded", "bob": "graded", "carol": "submission problem",
        "dave": "submission problem"}
    assert "not a readable zip file" in rows["carol"]["reason"]
    assert "none of layers.py" in rows["dave"]["reason"] and rows["alice"]["reason"] == ""
    with open(out / "grades-legend.csv", newline="") as f:
        legend = list(csv.DictReader(f))
    assert [row["id"] for row in legend] == list(ids)
    assert [row["description"] for row in legend] == list(points)
    assert [float(row["max_points"]) for row in legend] == list(ids.values())
    assert legend[0]["function"] == "affine_forward"
    with open(out / "lms.csv", newline="") as f:
        assert list(csv.reader(f)) == [["Student", "backprop-hw"], ["alice", f"{max_score:g}"],
                                       ["bob", "0"], ["carol", "0"], ["dave", "0"]]

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
        assert len(list(csv.DictReader(f))) == 1 + 4  # the max-points row and everyone


def test_a_grader_failure_costs_one_student_only(tmp_path: Path, capsys, monkeypatch,
                                                 no_charts):
    subs = tmp_path / "submissions"
    (subs / "erin").mkdir(parents=True)
    (subs / "frank").mkdir()
    real_grade = batch.grade

    def flaky_grade(path, rubric=None, hide=(), cancel=None):
        if Path(path).name == "frank":
            raise RuntimeError("boom")
        return real_grade(path, rubric, hide, cancel)

    monkeypatch.setattr(batch, "grade", flaky_grade)
    out = tmp_path / "out"
    code, summary = _batch(capsys, str(subs), "--out", str(out))
    assert code == 0
    assert "1 graded" in summary and "1 failed" in summary and "frank" in summary
    # frank's 0 is the grader's, not his: the class's statistics leave it out
    assert "over 1 student(s)" in summary
    assert "(over the 1 the grader did not fail on)" in (out / "report.html").read_text()
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
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert {s: rows[s]["total"] for s in ("erin", "frank")} == {"erin": "0", "frank": "0"}
    assert rows["frank"]["status"] == "grader error"
    assert rows["frank"]["reason"] == "RuntimeError: boom"
    assert rows["erin"]["status"] == "submission problem"  # an empty folder
    with open(out / "lms.csv", newline="") as f:  # no LMS records the grader's failure as 0
        assert [row["Student"] for row in csv.DictReader(f)] == ["erin"]

    # The next run grades frank again (and only frank), and says so.
    code, summary = _batch(capsys, str(subs), "--out", str(out))
    assert code == 0 and "0 graded, 1 skipped" in summary and "1 failed" in summary
    assert "graded again after a grader error last time: frank" in summary
    monkeypatch.setattr(batch, "grade", real_grade)
    code, summary = _batch(capsys, str(subs), "--out", str(out))
    assert code == 0 and "1 graded, 1 skipped" in summary and "0 failed" in summary
    frank = json.loads((out / "frank.json").read_text())
    assert frank["tests"] and not frank["extra_data"]["grader_failed"]


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

    def refused(path, rubric, hide=(), cancel=None):
        raise SandboxRefused("submission code cannot be isolated here: landlock unavailable")
    monkeypatch.setattr(batch, "grade", refused)
    out = tmp_path / "out"
    assert main(["batch", str(class_dir), "--out", str(out)]) == 2
    assert "cannot be isolated here" in capsys.readouterr().err
    assert not list(out.glob("*.json"))  # nobody got a zero for the machine's fault


def test_grades_csv_is_safe_in_a_spreadsheet_and_keeps_look_alike_names_apart(tmp_path: Path,
                                                                              capsys, no_charts):
    subs = tmp_path / "submissions"
    names = ["=HYPERLINK(\"x\")", "+1", "-2", "@sum", "\u202eevil", "carol\udce9", "carol\udcea"]
    for name in names:
        os.makedirs(os.fsencode(subs) + b"/" + os.fsencode(name))
    out = tmp_path / "out"
    assert main(["batch", str(subs), "--out", str(out)]) == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        students = [row["student"] for row in csv.DictReader(f)][1:]  # after max points
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


def test_result_files_keep_a_name_in_any_script_and_change_only_what_is_unsafe():
    from autograder.batch import result_stem
    assert result_stem("Zoë") == "Zoë" and result_stem("Ñandú_Сергей") == "Ñandú_Сергей"
    stem = result_stem("Zoë Ñ")
    assert stem.startswith("Zoë_Ñ-") and len(stem) == len("Zoë_Ñ-") + 8
    assert result_stem("Zoe\u0308").startswith("Zoë-")  # NFD, as macOS writes it
    assert result_stem("../x").startswith("_x-")  # no path, no hidden file


def test_names_print_without_bidirectional_controls():
    from autograder.batch import printable
    assert printable("\u202eevil\u2066x\u200f") == "evilx"
    assert printable("carol\udce9") == "carol\ufffd"
    assert printable("a\x1b[2Jb\n") == "a?[2Jb?"  # no terminal escapes on the progress bar


def _fake_grade(path, rubric=None, hide=(), cancel=None):
    """A grade in no time: one test, passed by everyone but "zed"."""
    from autograder.grade import Report, TestResult
    passed = Path(path).name != "zed"
    return Report(str(path), [TestResult("f: does x", float(passed), 1.0, "out", id="f_x",
                                         function="f")], 0.0)


def _class(tmp_path: Path, *names: str) -> Path:
    subs = tmp_path / "submissions"
    for name in names:
        (subs / name).mkdir(parents=True)
    return subs


def test_the_progress_bar_names_the_student_being_graded(tmp_path: Path, no_charts):
    import io
    subs = _class(tmp_path, "ann", "zed")
    stream = io.StringIO()
    batch.run_batch(subs, tmp_path / "out", load_rubric(), progress=stream, grader=_fake_grade)
    bar = stream.getvalue()
    assert "ann" in bar and "zed" in bar, bar


def test_an_interrupted_batch_keeps_what_is_done_and_the_same_command_resumes(
        tmp_path: Path, no_charts):
    import signal
    import threading
    subs = _class(tmp_path, "a", "b", "c", "d")
    out = tmp_path / "out"

    def interrupted_at_c(path, rubric=None, hide=(), cancel=None):
        if Path(path).name == "c":  # Ctrl-C while c is graded: c must stop, unwritten
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            for _ in range(100):
                if cancel.is_set():
                    break
                threading.Event().wait(0.05)
            cancel.check()
        return _fake_grade(path, rubric, hide, cancel)

    result = batch.run_batch(subs, out, load_rubric(), grader=interrupted_at_c)
    assert result.interrupted == signal.SIGINT
    assert sorted(result.graded) == ["a", "b"] and result.left == 2
    line = result.interrupted_line()
    assert "Ctrl-C" in line and "2 graded" in line and "2 not yet" in line
    assert "run the same command again" in line and "\n" not in line
    assert sorted(p.name for p in out.glob("*.json")) == ["a.json", "b.json"]
    with open(out / "grades.csv", newline="") as f:
        assert [row["student"] for row in csv.DictReader(f)] == ["max points", "a", "b"]
    assert (out / "report.html").is_file()

    result = batch.run_batch(subs, out, load_rubric(), grader=_fake_grade)
    assert sorted(result.graded) == ["c", "d"] and sorted(result.skipped) == ["a", "b"]
    assert result.interrupted is None


def _workers_of(out: Path) -> list[int]:
    """Processes whose command line names ``out``: the sandbox workers of that batch."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(out).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_and_sigterm_stop_a_real_batch_cleanly(tmp_path: Path, signame: str, code: int):
    import signal
    import subprocess
    import sys
    import time

    from submissions import inject

    from autograder.paths import RUBRIC
    subs = _class(tmp_path, "a_empty", "b_empty")
    rubric = tmp_path / "rubric.toml"  # a 60 s call limit: only the kill ends the call soon
    rubric.write_text(RUBRIC.read_text().replace("call_timeout = 10.0", "call_timeout = 60.0"))
    for name in ("c_slow", "d_slow"):  # the first call never returns
        for file, text in inject("affine_forward", "while True: pass").items():
            (subs / name).mkdir(exist_ok=True)
            (subs / name / file).write_text(text)
    out = (tmp_path / "out").resolve()
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "batch", str(subs), "--out", str(out),
         "--rubric", str(rubric)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    try:
        deadline = time.monotonic() + 60
        while not ((out / "b_empty.json").exists() and _workers_of(out)):  # c_slow under way
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.05)
        process.send_signal(getattr(signal, signame))
        stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    said = [line for line in stderr.splitlines() if "same command again" in line]
    assert len(said) == 1 and "2 graded" in said[0] and "2 not yet" in said[0], stderr
    assert sorted(p.name for p in out.glob("*.json")) == ["a_empty.json", "b_empty.json"]
    with open(out / "grades.csv", newline="") as f:
        assert [r["student"] for r in csv.DictReader(f)] == ["max points", "a_empty", "b_empty"]
    assert (out / "report.html").is_file()
    assert _workers_of(out) == []  # every worker killed


def test_a_corrupt_dataset_or_a_bad_rubric_stops_a_batch_before_anyone_with_exit_2(
        class_dir: Path, tmp_path: Path, capsys, monkeypatch):
    from autograder import grade as grade_module
    from autograder.checks.training import DataError
    from autograder.paths import RUBRIC
    out = tmp_path / "out"
    bad = tmp_path / "rubric.toml"
    bad.write_text(RUBRIC.read_text().replace("seed = 2026", "seed = 'x'"))
    assert main(["batch", str(class_dir), "--out", str(out), "--rubric", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "[grading].seed: expected an integer" in err and "Traceback" not in err
    assert main(["batch", str(class_dir), "--out", str(out), "--rubric",
                 str(tmp_path / "none.toml")]) == 2
    assert "cannot read the rubric" in capsys.readouterr().err

    def corrupt(name):
        raise DataError(f"data/{name}.npz does not match the sha256 in data/manifest.json")
    monkeypatch.setattr(grade_module, "load_dataset", corrupt)
    monkeypatch.setattr(batch, "grade", _fake_grade)  # the data is verified before any grade
    assert main(["batch", str(class_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "does not match the sha256" in err and len(err.strip().splitlines()) == 1
    assert not list(out.glob("*.json"))  # nobody got a zero for the grader's data

    def grade_on_corrupt_data(path, rubric=None, hide=(), cancel=None):
        corrupt("moons")
    monkeypatch.setattr(batch, "verify_data", lambda rubric: None)
    monkeypatch.setattr(batch, "grade", grade_on_corrupt_data)  # found while grading: stop
    assert main(["batch", str(class_dir), "--out", str(out), "-j", "2"]) == 2
    assert "does not match the sha256" in capsys.readouterr().err
    assert not list(out.glob("*.json"))


def test_a_grader_failure_inside_grade_is_marked_and_never_shown_to_the_student(
        tmp_path: Path, monkeypatch):
    from autograder import grade as grade_module
    from autograder.grade import format_report, grade

    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(grade_module, "run_checks", broken)
    (tmp_path / "s").mkdir()
    report = grade(tmp_path / "s")
    assert report.status == "grader error" and report.grader_error == "RuntimeError: boom"
    data = report.gradescope()
    assert data["extra_data"]["grader_failed"] and data["extra_data"]["reason"] == \
        "RuntimeError: boom"
    assert "boom" not in data["output"] and all("boom" not in t["output"] for t in data["tests"])
    student = format_report(report, for_student=True)
    assert "boom" not in student and "grader failed" in student
    assert len(student.splitlines()) == 2  # the score and why: not 58 "not graded" lines
    assert "boom" in format_report(report)  # the staff's view says why


def test_a_file_that_cannot_be_used_is_said_once_on_top_and_named_in_the_class_tables(
        tmp_path: Path, capsys):
    from submissions import make_submission, reference_files
    files = reference_files()
    files["layers.py"] = files["layers.py"].replace("def relu_forward(x):",
                                                    "def relu_forward(x)", 1)
    subs = tmp_path / "subs"
    make_submission(subs / "gus", files)
    out = tmp_path / "out"
    code, _ = _batch(capsys, str(subs), "--out", str(out))
    assert code == 0
    feedback = (out / "gus.txt").read_text().splitlines()
    why = "layers.py does not compile: SyntaxError: expected ':'"
    assert why in feedback[1] and "the other files were graded" in feedback[1], feedback[:3]
    results = json.loads((out / "gus.json").read_text())
    assert why in results["output"]
    with open(out / "grades.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["student"] == "gus")
    assert row["status"] == "graded" and why in row["reason"]
    assert 0 < float(row["total"]) < 100  # the net and train still earn theirs
    page = (out / "report.html").read_text()
    assert "a file could not be used" in page and "does not compile" in page
