"""Hostile and broken submissions: they earn nothing they did not earn, and cannot stop the run.

Each case is the reference with something spliced in, so that the points it
must lose (and keep) are exact. Limits are small here so that the cases run
fast; the rubric's own limits are larger.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from gallery_runs import rubric_with
from submissions import EDITED_FILES, inject, make_submission, reference_files

from autograder.checks import known_tests
from autograder.grade import grade
from autograder.paths import DATA, ROOT, RUBRIC, SOLUTIONS

NAMES = known_tests()
NET_AND_TRAIN = ("TwoLayerNet", "train")


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    return rubric_with(tmp_path_factory.mktemp("rubric"), call_timeout=1.5, train_timeout=2.0,
                       submission_timeout=90.0, memory_mb=1024)


def results(report) -> dict[str, tuple[bool, str]]:
    """{test id: (passed, output)}."""
    return {t.id: (t.score >= t.max_score, t.output) for t in report.tests}


LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                   "sigmoid_forward", "sigmoid_backward", "softmax_loss", "bce_loss",
                   "mse_loss", "affine_jacobians")
NET_AND_TRAIN = ("TwoLayerNet.__init__", "TwoLayerNet.loss", "TwoLayerNet.predict", "train")


@dataclass(frozen=True)
class Case:
    """``files`` graded: each of the ``broken`` functions loses points, one of its failures
    saying ``phrase``; every other function keeps all of its points."""

    name: str
    files: dict[str, str]
    broken: tuple[str, ...]
    phrase: str


def _cases() -> list[Case]:
    with_bytes = reference_files()
    return [
        # Only on the 3-d inputs of the layer's own checks, so the net's checks, which
        # must not lose points, do not each wait for a time limit.
        Case("hangs_in_relu_backward",
             inject("relu_backward", "if np.ndim(dout) == 3:\n    while True:\n        pass"),
             ("relu_backward",), "timed out"),
        Case("system_exit_in_sigmoid_forward",
             inject("sigmoid_forward", "raise SystemExit(3)"), ("sigmoid_forward",),
             "SystemExit"),
        Case("keyboard_interrupt_in_softmax_loss",
             inject("softmax_loss", "raise KeyboardInterrupt"),
             ("softmax_loss",), "KeyboardInterrupt"),
        Case("os_exit_in_relu_forward", inject("relu_forward", "import os\nos._exit(0)"),
             ("relu_forward",), "process exited"),
        Case("segfault_in_bce_loss",
             inject("bce_loss", "import ctypes\nctypes.string_at(0)"),
             ("bce_loss",), "segmentation fault"),
        Case("memory_hog_in_affine_forward",
             inject("affine_forward", "hog = bytearray(8 * 1024 ** 3)"),
             ("affine_forward",), "MemoryError"),
        Case("huge_output_in_affine_backward",
             inject("affine_backward", "if not globals().get('printed'):\n"
                    "    globals()['printed'] = print('x' * 10_000_000) or 1\n"
                    "    import os\n    os.write(1, b'y' * 10_000_000)"), (), ""),
        Case("imports_sklearn", inject("<module>", "import sklearn  # noqa"), LAYER_FUNCTIONS,
             "imports sklearn: submissions may import only numpy"),
        Case("imports_scipy_inside_a_function",
             inject("relu_backward", "if dout is None:\n    from scipy import special  # noqa"),
             LAYER_FUNCTIONS, "imports scipy: submissions may import only numpy"),
        Case("imports_scipy_after_300_constants",  # its import's arguments need EXTENDED_ARG
             inject("relu_backward", "if dout is None:\n" + "".join(
                 f"    t{i} = {i}.5\n" for i in range(300)) + "    from scipy import special"),
             LAYER_FUNCTIONS, "imports scipy: submissions may import only numpy"),
        Case("imports_torch_at_run_time",
             inject("train", "__import__('tor' + 'ch')", "two_layer_net.py"),
             ("train",), "'torch' is not allowed"),
        Case("syntax_error", {**with_bytes, "layers.py": "def affine_forward(:\n"},
             LAYER_FUNCTIONS, "does not compile"),
        Case("not_utf8", {**with_bytes, "layers.py": with_bytes["layers.py"] + "# caf\udce9\n"},
             LAYER_FUNCTIONS, "not valid UTF-8"),
        Case("missing_two_layer_net", {name: with_bytes[name] for name in ("layers.py",
                                                                           "fc_net.py")},
             NET_AND_TRAIN, "two_layer_net.py is missing"),
        Case("missing_bce_loss", {**with_bytes, "layers.py": with_bytes["layers.py"].replace(
            "def bce_loss(", "def bce_loss_renamed(")}, ("bce_loss",), "bce_loss"),
        Case("returns_none", inject("affine_forward", "return None"),
             ("affine_forward",), "returned None"),
        Case("returns_a_list", inject("relu_backward", "return [1.0, 2.0]"),
             ("relu_backward",), "has shape (2,)"),
        Case("returns_three_items", inject("softmax_loss", "return 1.0, 2.0, 3.0"),
             ("softmax_loss",), "a tuple of 3 items"),
        Case("returns_nan", inject("sigmoid_backward", "return dout * np.nan"),
             ("sigmoid_backward",), "non-finite"),
        Case("returns_strings", inject("bce_loss", "return 'low', 'high'"),
             ("bce_loss",), "str"),
        Case("returns_objects", inject("relu_forward", "return np.array([object()]), None"),
             ("relu_forward",), "dtype object"),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_broken_submission_loses_only_what_it_breaks(tmp_path, rubric, case):
    files = case.files
    if case.name == "not_utf8":
        (tmp_path / "sub").mkdir()
        make_submission(tmp_path / "sub", {name: files[name]
                                           for name in ("two_layer_net.py", "fc_net.py")})
        (tmp_path / "sub" / "layers.py").write_bytes(
            files["layers.py"].encode("utf-8", "surrogateescape"))
        report = grade(tmp_path / "sub", rubric)
    else:
        folder = make_submission(tmp_path, files)
        if case.name == "missing_two_layer_net":
            (folder / "two_layer_net.py").unlink()
        report = grade(folder, rubric)
    assert len(report.tests) == len(NAMES) + len(rubric.datasets)
    for function in {t.function for t in report.tests}:
        tests = [t for t in report.tests if t.function == function]
        lost = [t for t in tests if t.score < t.max_score]
        if function in case.broken:
            assert lost, function
            assert any(case.phrase in t.output for t in lost), [t.output for t in lost]
        else:
            assert not lost, [(t.id, t.output) for t in lost]


def test_the_sandbox_reports_its_protections(rubric):
    report = grade(SOLUTIONS, rubric)
    text = "; ".join(report.protections)
    assert "limits:" in text
    assert "namespaces:" in text and "landlock" in text


def _reader(path: Path) -> str:
    """A train that, when it can read ``path``, prints its size; the reference otherwise."""
    return (f"try:\n    print('READ', len(open({str(path)!r}, 'rb').read()))\n"
            f"except OSError as error:\n    print('DENIED', type(error).__name__)")


@pytest.mark.parametrize("target", [SOLUTIONS / "layers.py", RUBRIC, DATA / "moons.npz",
                                    Path("/etc/passwd")])
def test_submission_code_cannot_read_grader_files(tmp_path, rubric, target):
    report = grade(make_submission(tmp_path, inject("affine_forward", _reader(target))), rubric)
    assert "DENIED" in report.printed and "READ" not in report.printed
    assert report.score == report.max_score


def test_a_cheater_reading_the_held_out_labels_earns_nothing_from_it(tmp_path, rubric):
    files = reference_files()
    source = files["two_layer_net.py"]
    source = source.replace(  # train learns nothing...
        "    rng = np.random.default_rng(seed)\n    n = X.shape[0]\n",
        "    return history\n    rng = np.random.default_rng(seed)\n    n = X.shape[0]\n")
    files["two_layer_net.py"] = source.replace(  # ...and predict looks the answers up
        "        out = self.loss(X)\n",
        "        import glob\n"
        f"        for path in glob.glob({str(DATA)!r} + '/*.npz'):\n"
        "            data = np.load(path)\n"
        "            if data['X_test'].shape == X.shape:\n"
        "                return data['y_test']\n"
        "        out = self.loss(X)\n")
    report = results(grade(make_submission(tmp_path, files), rubric))
    for test_id, (passed, output) in report.items():
        if test_id.startswith("train_") and test_id not in ("train_sgd", "train_history"):
            assert not passed, test_id
            assert "did not change" in output, output


def test_without_the_import_guard_only_numpy_and_the_standard_library_load(tmp_path, rubric):
    code = ("import sys, importlib\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'ImportGuard']\n"
            "for name in ('sklearn', 'pytest', 'json', 'numpy.linalg'):\n"
            "    try:\n        importlib.import_module(name)\n        print('IMPORTED', name)\n"
            "    except Exception as error:\n        print('DENIED', name, type(error).__name__)")
    report = grade(make_submission(tmp_path, inject("<module>", code)), rubric)
    assert "DENIED sklearn PermissionError" in report.printed, report.printed
    assert "DENIED pytest PermissionError" in report.printed
    assert "IMPORTED json" in report.printed and "IMPORTED numpy.linalg" in report.printed


def test_submission_code_has_no_network(tmp_path, rubric):
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(3)
    port = server.getsockname()[1]

    def accept():
        try:
            connection, _ = server.accept()
            received.append(connection.recv(100))
        except OSError:
            pass
    thread = threading.Thread(target=accept)
    thread.start()
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), "
            f"timeout=2).sendall(b'leak')\n    print('CONNECTED')\n"
            f"except OSError as error:\n    print('NO NETWORK', error)")
    report = grade(make_submission(tmp_path, inject("affine_forward", code)), rubric)
    server.close()
    thread.join()
    assert received == [] and "CONNECTED" not in report.printed
    assert report.score == report.max_score


def test_submission_code_cannot_kill_the_grader(tmp_path, rubric):
    code = (f"import os, signal\nfor pid in ({os.getpid()}, os.getppid()):\n    try:\n"
            f"        os.kill(pid, signal.SIGKILL)\n    except (OSError, ValueError) as e:\n"
            f"        print('REFUSED', e)")
    report = grade(make_submission(tmp_path, inject("affine_forward", code)), rubric)
    assert report.score == report.max_score  # and this test process is still alive


def _processes_named(name: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == name:
                found.append(proc.name)
        except OSError:
            continue
    return found


def _with_limits(rubric, **changes):
    return dataclasses.replace(rubric, limits=dataclasses.replace(rubric.limits, **changes))


def test_no_process_outlives_grading(tmp_path, rubric):
    rubric = _with_limits(rubric, processes=8)  # so that it may fork at all
    marker = f"esc{os.getpid() % 100000}"
    code = ("import ctypes, os, time\nif os.fork() == 0:\n    os.setsid()\n"
            f"    ctypes.CDLL(None).prctl(15, {marker.encode()!r}, 0, 0, 0)\n"
            "    print('ESCAPEE', flush=True)\n    time.sleep(600)\n    os._exit(0)\n"
            "time.sleep(0.2)")
    report = grade(make_submission(tmp_path, inject("<module>", code)), rubric)
    assert report.score == report.max_score
    assert "ESCAPEE" in report.printed  # it did start
    deadline = time.monotonic() + 3
    while _processes_named(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_named(marker) == []


def test_forked_children_cannot_multiply_the_memory_cap(tmp_path, rubric):
    if os.geteuid() != 0:
        pytest.skip("the process cap is per uid: only a root grader gives each worker its own")
    code = ("import os\nstarted = 0\nfor _ in range(3):\n    try:\n        pid = os.fork()\n"
            "    except OSError as error:\n        print('FORK REFUSED', error.strerror)\n"
            "        break\n    if pid == 0:\n        block = bytearray(350 << 20)\n"
            "        os._exit(0)\n    started += 1\nprint('CHILDREN', started)")
    report = grade(make_submission(tmp_path, inject("<module>", code)), rubric)
    assert "CHILDREN 0" in report.printed and "FORK REFUSED" in report.printed
    assert any("at most 2 processes" in p for p in report.protections)
    assert report.score == report.max_score


def test_fake_results_written_by_the_submission_change_nothing(tmp_path, rubric, monkeypatch):
    # Where the grader writes its results, made writable by anyone: only the sandbox
    # (Landlock, the mount namespace, the worker's own uid) stands in the way.
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    code = ("import json, os\nfake = json.dumps({'score': 100, 'tests': []})\n"
            f"for path in ({str(out / 'results.json')!r}, {str(out / 'planted.json')!r},\n"
            "             '/autograder/results/results.json', '../results.json'):\n"
            "    try:\n        open(path, 'w').write(fake)\n    except OSError:\n        pass")
    stub_files = {"layers.py": (Path("assignment") / "layers.py").read_text()}
    stub_files["layers.py"] = stub_files["layers.py"].replace(
        "import numpy as np\n", f"import numpy as np\n{code}\n", 1)
    from autograder.cli import main
    monkeypatch.setattr("autograder.cli.load_rubric", lambda path: rubric)
    assert main(["grade", str(make_submission(tmp_path / "sub", stub_files)), "--json",
                 str(out / "results.json")]) == 0
    assert json.loads((out / "results.json").read_text())["score"] == 0
    assert not (out / "planted.json").exists()


@pytest.mark.parametrize("content, phrase", [
    (b"", "not a readable zip file"),
    (b"PK\x05\x06" + b"\0" * 18, "empty zip file"),
    (np.random.default_rng(310).bytes(2000), "not a readable zip file"),
], ids=["empty", "empty_zip", "noise"])
def test_a_bad_zip_gets_a_complete_zero_result(tmp_path, rubric, content, phrase):
    archive = tmp_path / "submission.zip"
    archive.write_bytes(content)
    report = grade(archive, rubric)
    assert report.score == 0 and len(report.tests) == len(NAMES) + len(rubric.datasets)
    assert phrase in report.problem
    assert all(phrase in t.output for t in report.tests)


def test_a_zip_with_files_one_folder_deep_is_graded(tmp_path, rubric, monkeypatch):
    # Extraction happens in a folder made under tempfile's folder: put that in tmp_path,
    # so that a "../evil.py" that escaped would land where this test looks.
    scratch = tmp_path / "scratch" / "deeper"
    scratch.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, source in reference_files().items():
            zf.writestr(f"alice_hw/{name}", source)
        zf.writestr("../evil.py", "print('escaped')")
        zf.writestr("../../evil.py", "print('escaped')")
        zf.writestr("__MACOSX/alice_hw/._layers.py", "junk")
    report = grade(archive, rubric)
    assert report.score == report.max_score
    assert not list(tmp_path.rglob("evil.py"))


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path, rubric, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in reference_files().items():
            zf.writestr(name, source)
        for i in range(8):  # 8 x 1.9 MB of Python, compressed to a few kB
            zf.writestr(f"pad{i}.py", "#" * 1_900_000)
    assert archive.stat().st_size < 200_000
    report = grade(archive, rubric)
    assert report.score == 0 and "more than the 10 MB" in report.problem
    assert not list(scratch.rglob("pad*.py"))


def test_without_kernel_protections_the_limits_still_hold_and_are_reported(tmp_path):
    from autograder.sandbox import CallFailed, Limits, Sandbox
    folder = make_submission(tmp_path, inject("relu_forward", "while True:\n    pass"))
    limits = Limits(call_timeout=1.0, namespaces=False, landlock=False, insecure=True)
    with Sandbox(folder, limits) as sandbox:
        with pytest.raises(CallFailed, match="timed out after 1 s"):
            sandbox.call("layers.relu_forward", np.ones(3))
        out = sandbox.call("layers.sigmoid_forward", np.zeros(3))
        report = "; ".join(sandbox.protections)
    assert np.allclose(out[0], 0.5)
    assert "limits:" in report and "landlock: not used" in report
    assert "namespaces: not used" in report and "INSECURE: graded without isolation" in report


def test_files_named_like_modules_the_worker_uses_change_nothing(tmp_path, rubric):
    files = {**reference_files(), **{f"{name}.py": "raise SystemExit('shadowed')\n"
                                     for name in ("numpy", "json", "struct", "ctypes",
                                                  "sitecustomize", "encodings")}}
    report = grade(make_submission(tmp_path, files), rubric)
    assert report.score == report.max_score


# -- submissions that lie to the protocol or to the checks -------------------

FORGE = '''
import os as _os, struct as _struct, sys as _sys


def _serving_frame():
    """The worker's frame that holds its response pipe, found through the stack."""
    frame = _sys._getframe(2)
    while "response_fd" not in frame.f_locals:
        frame = frame.f_back
    return frame


def forge(head, sleep=False):
    """Write ``head`` as a reply on the worker's response pipe."""
    fd = _serving_frame().f_locals["response_fd"]
    _os.write(fd, _struct.pack(">I", len(head)) + head + _struct.pack(">I", 0))
    if sleep:
        _stop_reading()
    _os._exit(0)


def reply_then_stop_reading(value):
    """Send ``value`` as a right reply through the worker's own encoder, then never read."""
    frame = _serving_frame()
    arrays = {}
    reply = {"ok": True, "result": frame.f_globals["encode"](value, arrays)}
    frame.f_globals["send"](frame.f_locals["response_fd"], reply, arrays)
    _stop_reading()


def _stop_reading():
    import time
    time.sleep(10 ** 6)  # without using CPU
'''


@pytest.mark.parametrize("head", [b'{"ok": true, "result": {"map": [1, 2]}}',
                                  b'{"ok": true, "result": ' + b"[" * 100_000 + b"]",
                                  b'{"ok": true, "arrays": [["a", "|O", [1]]]}'],
                         ids=["bad-map", "deep-nesting", "object-dtype"])
def test_a_forged_reply_fails_the_check_not_the_grader(tmp_path, rubric, head):
    files = inject("relu_forward", f"forge({head!r})")
    files["layers.py"] = files["layers.py"].replace("import numpy as np\n",
                                                    "import numpy as np\n" + FORGE, 1)
    results_ = results(grade(make_submission(tmp_path, files), rubric))
    assert not results_["relu_forward_values"][0]
    assert "sent garbage" in results_["relu_forward_values"][1]
    assert results_["affine_forward_values"][0]


def test_a_worker_that_stops_reading_cannot_block_the_grader(tmp_path, rubric):
    """relu_backward answers its first (small) call rightly, through the worker's own
    reply, then stops reading: the next request, the cost check's 2 MB of inputs,
    overfills the 1 MiB pipe, and the grader's write must time out, not block."""
    files = inject("relu_backward", "if dout.shape == (3, 4, 2):\n"
                                    "    reply_then_stop_reading(dout * (cache > 0))")
    files["layers.py"] = files["layers.py"].replace("import numpy as np\n",
                                                    "import numpy as np\n" + FORGE, 1)
    started = time.monotonic()
    report = results(grade(make_submission(tmp_path, files), rubric))
    assert time.monotonic() - started < 30
    passed, output = report["relu_backward_gradient"]
    assert not passed and "stopped reading" in output, output
    assert report["sigmoid_forward_values"][0]  # a new worker for the next checks


def test_a_wrong_loss_with_a_consistent_gradient_costs_only_the_loss(tmp_path, rubric):
    files = inject("softmax_loss", "return 0.0, np.zeros_like(scores)")
    report = grade(make_submission(tmp_path, files), rubric)
    for test in report.tests:
        if test.function == "softmax_loss":
            assert test.score == 0, test.id
        else:  # the net runs with the reference softmax_loss in its place
            assert test.score == test.max_score, (test.id, test.output)
    gradient = next(t for t in report.tests if t.id == "TwoLayerNet_gradients_softmax")
    assert "graded with the reference softmax_loss" in gradient.output


def test_symlinks_in_a_submission_folder_are_not_followed(tmp_path, rubric):
    folder = make_submission(tmp_path)
    for name in EDITED_FILES:
        (folder / name).unlink()
        (folder / name).symlink_to(SOLUTIONS / name)
    report = grade(folder, rubric)
    assert report.score == 0
    assert any("layers.py is missing" in t.output for t in report.tests)


def test_long_double_results_are_read_as_float64(tmp_path, rubric):
    files = reference_files()
    files["layers.py"] = files["layers.py"].replace(
        "    return out, cache\n\n\ndef sigmoid_backward",
        "    return out.astype(np.longdouble), cache\n\n\ndef sigmoid_backward")
    report = grade(make_submission(tmp_path, files), rubric)
    assert report.score == report.max_score


def test_without_landlock_hidden_folders_stay_hidden(tmp_path):
    from autograder.sandbox import Limits, Sandbox
    code = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"undone = libc.umount2({str(DATA).encode()!r}, 2)\n"
            f"print('UMOUNT', undone, sorted(__import__('os').listdir({str(DATA)!r})))\n"
            f"if __import__('os').path.isdir({str(ROOT / '.git')!r}):\n"
            f"    print('GIT', sorted(__import__('os').listdir({str(ROOT / '.git')!r})))\n"
            f"try:\n    open('/dev/shm/hoard{os.getpid()}', 'xb').write(b'x' * 4096)\n"
            "    print('SHM WRITTEN')\n"
            "except OSError as error:\n    print('SHM', error.strerror)")
    folder = make_submission(tmp_path, inject("relu_forward", code))
    with Sandbox(folder, Limits(landlock=False, insecure=True)) as sandbox:
        sandbox.call("layers.relu_forward", np.ones(3))
        protections = "; ".join(sandbox.protections)
    assert "grader folders hidden" in protections
    assert "UMOUNT -1 []" in sandbox.output
    if (ROOT / ".git").is_dir():  # a clone: its history must stay out of reach too
        assert "GIT []" in sandbox.output
    assert "SHM WRITTEN" not in sandbox.output and "SHM " in sandbox.output


def test_what_a_submission_writes_to_disk_is_capped(tmp_path, rubric):
    code = ("import os\nfor i in range(200):\n    with open(f'junk{i}', 'wb') as f:\n"
            "        f.write(b'x' * 1_000_000)")
    report = results(grade(make_submission(tmp_path, inject("relu_forward", code)), rubric))
    passed, output = report["relu_forward_values"]
    assert not passed and "No space left on device" in output
    assert report["affine_forward_values"][0]


def test_the_worker_never_runs_as_real_root(tmp_path, rubric):
    if os.geteuid() != 0:
        pytest.skip("the grader does not run as root here: there is no root to leave")
    probe = ("import os\nprint('UID', os.getuid(), os.geteuid())\n"
             "try:\n    os.listdir('/root')\n    open('/root/.bashrc').read()\n"
             "    print('READ ROOT')\nexcept OSError:\n    pass")
    report = grade(make_submission(tmp_path, inject("affine_forward", probe)), rubric)
    assert report.score == report.max_score
    # Its ids are mapped one to one: the uid it sees inside is its uid outside.
    uid, euid = re.search(r"UID (\d+) (\d+)", report.printed).groups()
    assert int(uid) >= 1_000_000_000 and euid == uid
    assert "READ ROOT" not in report.printed
    assert not any("running as root" in p for p in report.protections)
    assert any(f"not root: uid {uid}" in p for p in report.protections)


def test_folders_and_fifos_named_like_python_files_are_skipped(tmp_path, rubric):
    archive = tmp_path / "bob.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, source in reference_files().items():
            zf.writestr(name, source)
        zf.writestr("helpers.py/inner.py", "x = 1\n")
    report = grade(archive, rubric)
    assert report.score == report.max_score, [t.output for t in report.tests if t.score == 0]
    folder = make_submission(tmp_path / "carol", reference_files())
    os.mkfifo(folder / "helpers.py")
    report = grade(folder, rubric)
    assert report.score == report.max_score, [t.output for t in report.tests if t.score == 0]


def _without_kernel_protections(*args: str) -> subprocess.CompletedProcess:
    """``backprop-hw ARGS`` where unshare and Landlock are refused (a seccomp filter)."""
    return subprocess.run([sys.executable, str(ROOT / "tests" / "without_kernel_protections.py"),
                           sys.executable, "-m", "autograder.cli", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_without_kernel_protections_grading_refuses_and_says_why(tmp_path):
    done = _without_kernel_protections("grade", str(SOLUTIONS), "--json",
                                       str(tmp_path / "r.json"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot be isolated here" in done.stderr and "--insecure" in done.stderr
    assert "namespaces: unavailable (Operation not permitted)" in done.stderr
    assert "landlock: unavailable (Operation not permitted)" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_insecure_grades_without_kernel_protections_and_says_so(tmp_path):
    done = _without_kernel_protections("grade", str(SOLUTIONS), "--insecure", "--json",
                                       str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 100 and data["extra_data"]["insecure"] is True
    assert any(p.startswith("INSECURE: graded without isolation")
               for p in data["extra_data"]["sandbox"])
    assert "INSECURE" in done.stdout and "--insecure" in done.stderr


def test_a_worker_that_could_read_the_reference_is_refused(rubric, monkeypatch):
    from autograder import sandbox
    readable = tempfile.NamedTemporaryFile(suffix=".py", dir="/tmp", delete=False)
    readable.close()
    os.chmod(readable.name, 0o644)  # as the grader's files are in a clone
    readable_paths = sandbox._readable_paths()
    monkeypatch.setattr(sandbox, "_readable_paths", lambda: ["/tmp", *readable_paths])
    monkeypatch.setattr(sandbox, "_secrets", lambda: [Path(readable.name)])
    try:
        with pytest.raises(sandbox.SandboxRefused, match="the worker can read"):
            grade(SOLUTIONS, rubric)
    finally:
        os.unlink(readable.name)


def test_a_large_correct_file_is_graded_the_file_size_cap_is_for_what_it_writes(tmp_path,
                                                                                 rubric):
    files = reference_files()
    files["layers.py"] += "#" + "x" * 1_100_000 + "\n"  # more than output_bytes (1 MB)
    report = grade(make_submission(tmp_path, files), rubric)
    assert report.score == report.max_score, [t.output for t in report.tests if t.score == 0]


def test_a_fifo_given_as_a_submission_is_refused_not_opened(tmp_path):
    # In a child process: a regression (opening the FIFO) then fails the test by its
    # time-out instead of hanging the test run.
    for name in ("carol.zip", "dave"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(fifo)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "0 / 100" in done.stdout and "nor a regular file" in done.stdout


def test_the_worker_cannot_hoard_memory_in_open_files(tmp_path, rubric):
    code = ("import os\nheld = []\ntry:\n    for i in range(600):\n"
            "        fd = os.memfd_create(f'm{i}')\n        os.ftruncate(fd, 1 << 20)\n"
            "        os.write(fd, b'x' * 4096)\n        held.append(fd)\n"
            "except OSError as error:\n    pass\nprint('MEMFDS', len(held))")
    report = grade(make_submission(tmp_path, inject("<module>", code)), rubric)
    count = int(report.printed.split("MEMFDS ")[1].split()[0])
    assert count < 64, report.printed


def test_a_forged_huge_reply_is_refused_before_it_is_read(tmp_path, rubric):
    head = b'{"ok": true, "result": {"none": true}}'
    big = ("import os as _o, struct as _s, sys as _y\n"
           "frame = _y._getframe(1)\n"
           "while 'response_fd' not in frame.f_locals:\n    frame = frame.f_back\n"
           "fd = frame.f_locals['response_fd']\n"
           f"_o.write(fd, _s.pack('>I', {len(head)}) + {head!r} + _s.pack('>I', 5 << 20))\n"
           "_o._exit(0)")
    results_ = results(grade(make_submission(tmp_path, inject("relu_forward", big)), rubric))
    assert not results_["relu_forward_values"][0]
    assert "sent garbage" in results_["relu_forward_values"][1]


KILLER = ("import os, signal, time\nend = time.monotonic() + 4\nkilled = set()\n"
          "while time.monotonic() < end:\n"
          "    for pid in [-1] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
          "        if pid != os.getpid():\n"
          "            try:\n                os.kill(pid, signal.SIGKILL)\n"
          "                killed.add(pid)\n            except OSError:\n                pass\n"
          "    time.sleep(0.05)\nprint('KILLED', sorted(killed))")
VICTIM_BATCH = """
import dataclasses, json, sys
from pathlib import Path
from autograder.batch import run_batch
from autograder.rubric import load_rubric
rubric = load_rubric()
if sys.argv[3] == "uid-only":  # no pid namespace: only the worker's own uid protects
    rubric = dataclasses.replace(rubric, limits=dataclasses.replace(
        rubric.limits, namespaces=False, landlock=False, insecure=True))
run_batch(Path(sys.argv[1]), Path(sys.argv[2]), rubric, jobs=2)
"""


@pytest.mark.parametrize("protections", ["all", "uid-only"])
def test_one_students_code_cannot_kill_anothers_worker(tmp_path, protections):
    if protections == "uid-only" and os.geteuid() != 0:
        pytest.skip("a worker uid of its own needs a root grader")
    class_dir = tmp_path / "class"
    make_submission(class_dir / "mallory", inject("<module>", KILLER))
    victim = reference_files()  # slow enough to be graded while the killer runs
    victim["layers.py"] = victim["layers.py"].replace(
        "import numpy as np\n", "import numpy as np\nimport time\ntime.sleep(1.5)\n", 1)
    make_submission(class_dir / "victor", victim)
    # In a child process: a regression then fails this test instead of killing pytest.
    done = subprocess.run([sys.executable, "-c", VICTIM_BATCH, str(class_dir),
                           str(tmp_path / "out"), protections], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    victor = json.loads(next((tmp_path / "out").glob("victor*.json")).read_text())
    assert victor["score"] == 100, [(t["name"], t["output"]) for t in victor["tests"]
                                    if t["score"] == 0][:3]
