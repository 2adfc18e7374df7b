"""Workers forked from one zygote: used by a batch, fresh for every submission, never shared."""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile

import numpy as np
import pytest
from submissions import inject, make_submission, reference_files

from autograder import sandbox
from autograder.batch import run_batch
from autograder.grade import grade
from autograder.paths import SOLUTIONS
from autograder.rubric import load_rubric
from autograder.zygote import Zygote, ZygoteUnusable

FORKED = re.compile(r"process: forked from zygote (\d+) ")


def _zygote_pid(protections: list[str]) -> int:
    """The zygote a worker was forked from, as the sandbox reports it; fails if it was not."""
    found = [FORKED.match(p) for p in protections]
    assert any(found), protections
    return int(next(m for m in found if m).group(1))


def test_a_batch_forks_every_submissions_worker_from_one_zygote(tmp_path):
    for student in ("alice", "bob"):
        make_submission(tmp_path / "class" / student, reference_files())
    with open(os.devnull, "w") as devnull:
        result = run_batch(tmp_path / "class", tmp_path / "out", load_rubric(), progress=devnull)
    assert sorted(result.graded) == ["alice", "bob"]
    data = [json.loads((tmp_path / "out" / f"{s}.json").read_text()) for s in ("alice", "bob")]
    assert [d["score"] for d in data] == [100, 100]
    zygotes = {_zygote_pid(d["extra_data"]["sandbox"]) for d in data}
    assert len(zygotes) == 1
    # ...and each worker was still locked in on its own, after the fork.
    for d in data:
        text = "; ".join(d["extra_data"]["sandbox"])
        assert "namespaces: user" in text and "landlock ABI" in text


# Submission A: everything it can change in its own process, it changes: numpy's module
# dict and functions, a global of its own module, builtins, sys.modules. It also reports
# which descriptors and modules a forked worker holds.
POLLUTER = """
import builtins, stat, sys, os
np.maximum = lambda *args, **kwargs: 0.0
np.sum = lambda *args, **kwargs: 0.0
np.__dict__["POLLUTED"] = True
np.random.seed(1234)
builtins.POLLUTED = True
sys.modules["two_layer_net"] = None
POLLUTED = True
sockets = [fd for fd in range(64) if _fd_is_socket(fd)]
print("SOCKETS", sockets)
print("GRADER MODULES", sorted(m for m in sys.modules if m.startswith(("autograder", "solutions"))))
"""
FD_PROBE = """
def _fd_is_socket(fd):
    import os, stat
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False
"""
# Submission B: the reference, saying whether anything of A's reached it.
PROBE = ("import builtins, sys\n"
         "print('SEEN', [name for name, seen in [('numpy', hasattr(np, 'POLLUTED')), "
         "('builtins', hasattr(builtins, 'POLLUTED')), ('maximum', np.maximum(-1.0, 0.0) != 0.0)]"
         " if seen])\n"
         "print('RANDOM', np.random.rand())")


def test_no_state_of_one_submission_reaches_the_next_one_forked_from_the_same_zygote(tmp_path):
    polluter = reference_files()
    polluter["layers.py"] = polluter["layers.py"].replace(
        "import numpy as np\n", f"import numpy as np\n{FD_PROBE}\n{POLLUTER}\n", 1)
    first = grade(make_submission(tmp_path / "a", polluter))
    assert first.score < first.max_score  # its own np.maximum and np.sum broke its layers
    assert "SOCKETS []" in first.printed, first.printed  # not the zygote's socket to the grader
    assert "GRADER MODULES []" in first.printed, first.printed
    second = grade(make_submission(tmp_path / "b", inject("<module>", PROBE)))
    assert second.score == second.max_score, [t.output for t in second.tests if t.score == 0]
    assert "SEEN []" in second.printed, second.printed
    assert _zygote_pid(first.protections) == _zygote_pid(second.protections)
    # numpy's global generator is reseeded in each worker, as in a fresh interpreter.
    third = grade(make_submission(tmp_path / "c", inject("<module>", PROBE)))
    draws = [re.search(r"RANDOM (\S+)", r.printed).group(1) for r in (second, third)]
    assert draws[0] != draws[1]


def test_a_zygote_that_died_is_replaced_and_the_fresh_path_still_works(tmp_path):
    def relu(limits: sandbox.Limits) -> list[str]:
        with sandbox.Sandbox(SOLUTIONS, limits) as box:
            out = box.call("layers.relu_forward", np.array([-1.0, 2.0]))
            protections = list(box.protections)
        assert np.array_equal(out[0], [0.0, 2.0])
        return protections
    first = _zygote_pid(relu(sandbox.Limits()))
    os.kill(first, signal.SIGKILL)
    assert _zygote_pid(relu(sandbox.Limits())) != first
    fresh = relu(sandbox.Limits(zygote=False))
    assert fresh[0].startswith("process: a fresh interpreter")
    assert "landlock ABI" in "; ".join(fresh)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS starts no threads on one core")
def test_a_zygote_with_threads_is_refused():
    # Without the one-BLAS-thread setting, numpy's OpenBLAS starts a thread pool at import.
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    with pytest.raises(ZygoteUnusable, match="threads"):
        Zygote(sandbox._worker_command("zygote"), env, []).close()


def _python_behind_a_closed_folder() -> bool:
    """Whether some folder above this Python is closed to other users (a venv in /root)."""
    folder = os.path.dirname(os.path.realpath(sandbox.sys.executable))
    while folder != "/":
        if not os.stat(folder).st_mode & 0o001:
            return True
        folder = os.path.dirname(folder)
    return False


def test_as_root_the_zygote_makes_python_reachable_once_for_all_its_workers():
    # As root, a worker switches to a uid of its own, which needs a way into a Python
    # kept in /root: about two hundred bind mounts. The zygote makes them once.
    with sandbox.Sandbox(SOLUTIONS, sandbox.Limits()) as box:
        box.call("layers.relu_forward", np.array([-1.0, 2.0]))
        text = "; ".join(box.protections)
    _zygote_pid(box.protections)
    if os.geteuid() == 0 and _python_behind_a_closed_folder():
        assert "folders the zygote covered" in text, text
        assert "covered folders" not in text, text  # the worker did not cover them again
    else:  # nothing to cover: no worker claims it
        assert "covered" not in text, text


@pytest.fixture
def temporary_folder(tmp_path, monkeypatch):
    """The temporary folder a new zygote and its workers' folders will use: a folder
    in pytest's tmp_path, which lies in /tmp/pytest-of-<user>, a folder only its owner
    may enter. The next test gets a zygote and a workers' folder of its own again."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    sandbox.stop_zygote()
    sandbox._workers_folder.cache_clear()
    yield folder
    sandbox.stop_zygote()
    sandbox._workers_folder.cache_clear()


def test_workers_reach_their_folders_when_the_temporary_folder_is_closed_to_other_users(
        temporary_folder):
    temporary_folder.chmod(0o700)
    with sandbox.Sandbox(SOLUTIONS, sandbox.Limits()) as box:
        out = box.call("layers.relu_forward", np.array([-1.0, 2.0]))
        protections = list(box.protections)
    assert np.array_equal(out[0], [0.0, 2.0])
    _zygote_pid(protections)  # forked from a zygote that could cover it, not fresh
    assert sandbox._workers_folder().startswith(str(temporary_folder) + "/")


def test_a_zygote_asked_to_cover_a_folder_that_is_itself_closed_is_refused():
    # Covering it would hide what is made in it later: workers start fresh instead.
    # (A temporary folder /root, with Python in /root: /root would be covered.)
    closed = tempfile.mkdtemp(dir="/tmp")  # mode 0700, in a folder anyone may enter
    inside = os.path.join(closed, "python")
    os.mkdir(inside)
    env = sandbox._clean_env(sandbox.Path("/"))
    try:
        if os.geteuid() != 0:  # only root covers anything: nothing to refuse
            Zygote(sandbox._worker_command("zygote"), env, [inside, closed]).close()
            return
        with pytest.raises(ZygoteUnusable, match="itself closed to other users"):
            Zygote(sandbox._worker_command("zygote"), env, [inside, closed]).close()
        Zygote(sandbox._worker_command("zygote"), env, [inside]).close()  # beneath it: fine
        # A path that is not there once covered is refused too.
        with pytest.raises(ZygoteUnusable, match="not reachable once covered"):
            Zygote(sandbox._worker_command("zygote"), env, [inside, closed + "-gone"]).close()
    finally:
        os.rmdir(inside)
        os.rmdir(closed)


def test_as_root_without_landlock_a_worker_sees_nothing_else_of_a_hidden_temporary_folder(
        tmp_path, temporary_folder):
    # Only the folder the workers' folders are made in is made reachable, not all of it.
    temporary_folder.chmod(0o755)  # open itself: reachable once what is above it is covered
    other = temporary_folder / "other.txt"
    other.write_text("another program's file")
    other.chmod(0o644)
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "layers.py").write_text(
        "def probe(path):\n    try:\n        open(path).read()\n        return 1.0\n"
        "    except OSError:\n        return 0.0\n")
    with sandbox.Sandbox(submission, sandbox.Limits(landlock=False)) as box:
        readable = box.call("layers.probe", str(other))
    # Not root: the worker runs as this user, and Landlock (off here) is what keeps it out.
    assert readable == (0.0 if os.geteuid() == 0 else 1.0)
