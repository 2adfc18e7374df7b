"""backprop-hw gradescope: the bundle, unpacked the way Gradescope does, grades a submission."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from submissions import EDITED_FILES

from autograder.cli import main
from autograder.gradescope import NUMPY_REQUIREMENT
from autograder.paths import DATA, ROOT, SOLUTIONS
from autograder.rubric import load_rubric

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FAKE = {"score": 1000.0, "output": "fake", "tests": []}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert main(["gradescope", str(out)]) == 0
    return out


def _unpack(bundle: Path, root: Path, submission: dict[str, str]) -> Path:
    """A simulated /autograder: source/ (the bundle, modes kept as unzip does),
    run_autograder copied next to it, submission/ and results/."""
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, root / "source"))
            path.chmod((info.external_attr >> 16) & 0o777)
    shutil.copyfile(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    for name, text in submission.items():
        (root / "submission" / name).write_text(text, encoding="utf-8")
    (root / "results").mkdir()
    return root


def _run(root: Path, home: Path) -> subprocess.CompletedProcess:
    env = {"AUTOGRADER_ROOT": str(root), "HOME": str(home), "LANG": "C.UTF-8",
           # the python3 of this test run (its numpy), as setup.sh installs one on Gradescope
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])}
    return subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def _reference() -> dict[str, str]:
    return {name: (SOLUTIONS / name).read_text(encoding="utf-8")
            for name in EDITED_FILES}


def test_bundle_holds_what_gradescope_needs_and_nothing_else(bundle: Path):
    with zipfile.ZipFile(bundle) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        run = zf.read("run_autograder").decode()
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o111 == 0o111, script
    names = set(infos)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("tests/", "assignment/")) for n in names)
    assert {"autograder/rubric.toml", "autograder/cli.py", "autograder/worker.py",
            "solutions/layers.py", "solutions/two_layer_net.py",
            "data/manifest.json"} <= names
    assert {n for n in names if n.startswith("solutions/")} == {
        f"solutions/{p.name}" for p in SOLUTIONS.glob("*.py")}
    assert {n for n in names if n.startswith("data/")} == {
        "data/manifest.json", *(f"data/{p.name}" for p in DATA.glob("*.npz"))}
    assert {n.split("/")[0] for n in names} == {
        "setup.sh", "run_autograder", "autograder", "solutions", "data"}

    assert "numpy" in setup and "tomli" in setup
    assert "sklearn" not in setup and "scikit" not in setup
    assert "python3 -m autograder.cli grade" in run and "AUTOGRADER_ROOT" in run
    for text in (setup, run):
        subprocess.run(["bash", "-n"], input=text, text=True, check=True)


def test_setup_installs_the_numpy_the_project_asks_for():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    numpy = [d for d in pyproject["project"]["dependencies"] if re.match(r"numpy\b", d)]
    assert numpy == [NUMPY_REQUIREMENT]


def test_bundle_grades_the_reference_with_its_own_rubric(bundle: Path, tmp_path: Path):
    root = _unpack(bundle, tmp_path / "autograder", _reference())
    # One more point in the bundle's rubric: the score shows the bundle's code
    # and rubric graded, not this repository's installed package.
    rubric = root / "source" / "autograder" / "rubric.toml"
    text = rubric.read_text()
    assert "\ntrain_history = 1\n" in text
    rubric.write_text(text.replace("\ntrain_history = 1\n", "\ntrain_history = 2\n"))
    done = _run(root, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    results = json.loads((root / "results" / "results.json").read_text())
    max_score = load_rubric(rubric).max_score
    assert max_score == load_rubric().max_score + 1
    assert results["score"] == pytest.approx(max_score)
    assert results["tests"]
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert test["score"] == test["max_score"], test
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(max_score)


def test_a_fake_results_file_from_the_submission_does_not_count(bundle: Path, tmp_path: Path):
    root = tmp_path / "autograder"
    targets = [str(root / "results" / "results.json"), str(root / "results.json")]
    cheat = (
        "import json as _json, os as _os\n"
        f"for _path in [_os.path.join(_os.getcwd(), 'results.json'),\n"
        f"              _os.path.join(_os.path.expanduser('~'), 'results.json'),\n"
        f"              *{targets!r}]:\n"
        "    try:\n"
        "        with open(_path, 'w') as _f:\n"
        f"            _json.dump({FAKE!r}, _f)\n"
        "    except OSError:\n"
        "        pass\n\n")
    files = _reference()
    files["layers.py"] = cheat + files["layers.py"]
    _unpack(bundle, root, files)
    done = _run(root, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == pytest.approx(load_rubric().max_score)
    assert results["output"] != "fake" and len(results["tests"]) > 1


def test_a_failing_grader_leaves_no_results_file(bundle: Path, tmp_path: Path):
    root = _unpack(bundle, tmp_path / "autograder", {})
    (root / "submission").rmdir()  # the grader stops: no such submission
    (root / "results" / "results.json").write_text(json.dumps(FAKE))
    done = _run(root, tmp_path)
    assert done.returncode != 0
    assert not (root / "results" / "results.json").exists()
    assert "no such submission" in done.stderr


def test_bundle_must_be_a_zip(tmp_path: Path, capsys):
    assert main(["gradescope", str(tmp_path / "bundle.tar")]) == 2
    assert ".zip" in capsys.readouterr().err


# Partial points and no points; the reference's full points are another test's.
@pytest.mark.parametrize("case", ["bug/affine_dw_transposed", "hostile/null_functions"])
def test_the_bundle_gives_exactly_what_grade_gives(bundle: Path, tmp_path: Path, case: str):
    from submissions import BUGS, buggy_files, make_submission, reference_files

    from autograder.grade import grade
    kind, name = case.split("/")
    if kind == "bug":
        files = buggy_files(next(b for b in BUGS if b.name == name))
    else:
        folder = Path(__file__).parent / "gallery" / kind / name
        files = {**reference_files(), **{p.name: p.read_text() for p in folder.glob("*.py")}}
    root = _unpack(bundle, tmp_path / "autograder", files)
    done = _run(root, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    results = json.loads((root / "results" / "results.json").read_text())
    bundle_scores = {t["tags"][0]: t["score"] for t in results["tests"]}
    report = grade(make_submission(tmp_path / "direct", files))
    assert bundle_scores == {t.id: t.score for t in report.tests}
    assert results["score"] == report.score


def test_gradescope_rubric_builds_the_bundle_with_that_rubric(tmp_path: Path, capsys):
    from autograder.paths import RUBRIC
    text = RUBRIC.read_text()
    assert text.count("affine_forward_values = 2") == 1
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace("affine_forward_values = 2", "affine_forward_values = 5"))
    out = tmp_path / "autograder.zip"
    assert main(["gradescope", str(out), "--rubric", str(mine)]) == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.read("autograder/rubric.toml") == mine.read_bytes()
        assert zf.namelist().count("autograder/rubric.toml") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("affine_forward_values = 2", "affine_forward_values = -1"))
    other = tmp_path / "other.zip"
    assert main(["gradescope", str(other), "--rubric", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "affine_forward_values.points" in err and "Traceback" not in err
    assert not other.exists()  # a bundle never ships a rubric the grader rejects
