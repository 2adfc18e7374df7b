"""Run submission code in a locked-in child process and talk to it.

The grading process never imports submission code. ``Sandbox`` starts the
worker (autograder/worker.py, passed as source text) in a fresh temporary
folder with a copy of the submission, sends it calls, and reads back plain
arrays. A call that raises, hangs, or kills the worker fails on its own: the
next call starts a fresh worker, so one broken function costs only the
checks that touch it.

Workers are forked from one zygote per grading process (autograder/zygote.py),
started at the first worker and shared by every sandbox after it: a process
that has imported numpy and the worker's code and never runs submission
code. Each fork then locks itself in as a fresh worker would. Where no zygote
can run, a worker is a fresh interpreter, as it always was.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from autograder import wire
from autograder.paths import DATA, ROOT, RUBRIC, SOLUTIONS
from autograder.settings import LIMIT_DEFAULTS
from autograder.zygote import ForkedWorker, Zygote, ZygoteUnusable

# The worker runs without this package: it gets its own text and the framing's.
WORKER_SOURCE = (Path(__file__).parent / "worker.py").read_text(encoding="utf-8")
WIRE_SOURCE = (Path(__file__).parent / "wire.py").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Times in seconds, sizes in MiB or bytes."""

    call_timeout: float = LIMIT_DEFAULTS["call_timeout"]
    submission_timeout: float = LIMIT_DEFAULTS["submission_timeout"]
    memory_mb: int = LIMIT_DEFAULTS["memory_mb"]
    cpu_seconds: int = LIMIT_DEFAULTS["cpu_seconds"]
    output_bytes: int = LIMIT_DEFAULTS["output_bytes"]
    disk_mb: int = LIMIT_DEFAULTS["disk_mb"]        # the worker's folder, where it can be capped
    processes: int = LIMIT_DEFAULTS["processes"]    # of the worker's own uid, when leaving root
    namespaces: bool = True
    landlock: bool = True
    insecure: bool = False  # grade even where submission code cannot be isolated
    zygote: bool = True     # fork workers from the shared zygote (False: a fresh interpreter)


class SandboxRefused(RuntimeError):
    """Submission code cannot be isolated here, and grading was not told --insecure."""


def isolation_problem(isolation: Any) -> str | None:
    """Why the worker's protections do not isolate submission code, or None if they do.

    Isolated means: Landlock and the namespaces together, or a dropped, unprivileged
    uid; and, either way, the reference, rubric and data unreadable from the worker.
    """
    if not isinstance(isolation, dict):
        return "the worker did not report its protections"
    missing = [name for name in ("landlock", "namespaces") if not isolation.get(name)]
    problems = []
    if missing and not isolation.get("unprivileged"):
        problems.append(f"{' and '.join(missing)} unavailable and no unprivileged user to "
                        f"run submissions as")
    readable = isolation.get("secrets_readable") or []
    if readable:
        problems.append(f"the worker can read {readable[0]}")
    return "; ".join(problems) or None


@dataclass(frozen=True)
class SandboxStats:
    """What a sandbox saw, once its workers are done."""

    protections: tuple[str, ...]   # what took effect, as the worker reported it
    output: str                    # what the submission printed, first 4000 characters
    peak_memory_mib: float         # the largest any of its workers grew to


class CallFailed(Exception):
    """A call into the submission did not return a value.

    ``kind`` says how: "raised" (the submission's code raised; the text is its
    exception), "timeout", "crashed" (the worker died or exited), "garbage" (an
    unreadable reply), "not_run" (the submission's time was used up, or a value
    the call needs was lost), "sandbox" (the worker could not be started).
    """

    KINDS = ("raised", "timeout", "crashed", "garbage", "not_run", "sandbox")

    def __init__(self, kind: str, message: str) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown kind of call failure {kind!r}")
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Opaque:
    """A returned value that is not numbers: only its description crosses back."""

    description: str


@dataclass(frozen=True)
class Ref:
    """A value kept in the worker (a cache, a model), addressed by handle and indices."""

    path: tuple

    def __getitem__(self, index: int | str) -> Ref:
        return Ref(self.path + (index,))


def _clean_env(workdir: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    # One BLAS thread: results reproducible, CPU use measurable, and no
    # thread pools that a memory cap would make fail at start-up.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


SITE_FOLDERS = ("site-packages", "dist-packages")


def _children(folder: str, skip: Callable[[str], bool]) -> set[str]:
    """The entries of ``folder`` whose names ``skip`` does not reject."""
    try:
        return {os.path.join(folder, name) for name in os.listdir(folder) if not skip(name)}
    except OSError:
        return set()


@cache
def _readable_paths() -> list[str]:
    """What the worker may read: the standard library, numpy, shared system libraries.

    Not site-packages (nor Debian's dist-packages): Landlock rules cover whole
    trees, so the standard library and /usr/lib are opened entry by entry, and
    only numpy among installed packages is readable, whatever the import guard
    in the worker says.
    """
    paths: set[str] = set()
    for key in ("stdlib", "platstdlib"):
        paths |= _children(sysconfig.get_paths()[key], lambda name: name in SITE_FOLDERS)
    paths.add(str(Path(sys.executable).resolve().parent))
    numpy_dir = Path(np.__file__).resolve().parent
    paths |= {str(numpy_dir), str(numpy_dir.parent / "numpy.libs")}
    for system in ("/usr/lib", "/usr/lib64", "/usr/local/lib"):
        paths |= _children(system, lambda name: name.startswith("python"))
    paths |= {"/lib", "/lib64", "/etc/ld.so.cache"}
    # Never let a rule open the repository (the reference, the data, .git).
    return sorted(p for p in paths if os.path.exists(p) and not str(ROOT).startswith(p + "/")
                  and p != str(ROOT))


def _secrets() -> list[Path]:
    """Files submission code must never read: one of each kind the grader keeps."""
    return [p for p in (SOLUTIONS / "layers.py", RUBRIC, DATA / "manifest.json") if p.is_file()]


def _wait(fd: int, event: int, deadline: float) -> None:
    """Return when ``fd`` is ready for ``event``; TimeoutError once ``deadline`` has passed."""
    left = deadline - time.monotonic()
    poller = select.poll()
    poller.register(fd, event)
    if left <= 0 or not poller.poll(left * 1000):
        raise TimeoutError


class _Reader:
    """The worker's replies, read from its non-blocking stdout in large chunks.

    A reply is read in a syscall or two, not one per part of its frame: a grade
    is hundreds of requests. What it returns is a bytearray of its own, so that
    a reply's arrays are views of it rather than copies.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        os.set_blocking(fd, False)

    def read_exact(self, n: int, deadline: float) -> bytearray:
        if n <= len(self._buffer):  # read ahead already: no syscall, nothing to wait for
            return wire.read_exact(self._buffer, n, None, None)
        return wire.read_exact(
            self._buffer, n, lambda count: _when_ready(self.fd, lambda: os.read(self.fd, count),
                                                       select.POLLIN, deadline),
            lambda view: _when_ready(self.fd, lambda: os.readv(self.fd, [view]),
                                     select.POLLIN, deadline))


def _when_ready(fd: int, act: Callable[[], Any], event: int, deadline: float) -> Any:
    """``act()`` on the non-blocking ``fd``, waiting for ``event`` while it would block;
    TimeoutError once ``deadline`` has passed."""
    while True:
        try:
            return act()
        except BlockingIOError:
            _wait(fd, event, deadline)


def _write_exact(fd: int, pieces: list | bytes, deadline: float) -> None:
    """Write all of ``pieces`` (a message's ``wire.frames``, or bytes) to the non-blocking
    ``fd`` before ``deadline``, or TimeoutError.

    A worker that stops reading its requests must not block the grader.
    """
    wire.write_all(pieces, lambda views: _when_ready(fd, lambda: os.writev(fd, views),
                                                     select.POLLOUT, deadline))


PIPE_BYTES = 1 << 20  # Linux's default cap for unprivileged processes (fs.pipe-max-size)


def _widen(fd: int) -> None:
    """Let the pipe ``fd`` hold 1 MiB: a large layer's inputs then cross in a few
    writes instead of a 64 KiB ping-pong between the two processes."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, AttributeError):  # a lower cap, or not Linux: the default size works
        pass


def _clean(text: str, limit: int = 400) -> str:
    """Text from the worker, safe to print: no control characters, one line, bounded."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def _receive(reader: _Reader, deadline: float) -> tuple[dict, dict[str, np.ndarray]]:
    return wire.receive(lambda n: reader.read_exact(n, deadline), wire.MAX_REPLY_PAYLOAD)


def decode(descriptor: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Turn a worker's value descriptor into arrays, tuples, dicts, None or Opaque."""
    if not isinstance(descriptor, dict):
        return Opaque("an unreadable value")
    if "array" in descriptor:
        value = arrays.get(descriptor["array"])
        if value is None or value.dtype.kind not in "biuf":
            return Opaque("an unreadable value")
        if descriptor.get("type") == "tuple":  # a tuple of numbers stays a tuple
            return tuple(value.astype(np.float64))
        if descriptor.get("type") == "list":
            return value.astype(np.float64)
        return value if descriptor.get("type") == "ndarray" or value.ndim else value[()]
    if "none" in descriptor:
        return None
    if "seq" in descriptor:
        items = tuple(decode(d, arrays) for d in descriptor["seq"])
        return items if descriptor.get("type") == "tuple" else list(items)
    if "map" in descriptor:
        return {str(k): decode(d, arrays) for k, d in descriptor["map"].items()}
    return Opaque(f"a {_clean(descriptor.get('other', 'value'), 80)}")


Callback = Callable[[str, list[Any]], Any]


class Sandbox:
    """A worker process running one submission, restarted whenever it dies.

    Use as a context manager; ``call`` raises CallFailed when the submission's
    code raises, times out or ends the worker. While a call runs, the worker
    may ask the grading process to compute a value (a reference layer that
    replaces a failed one, a probe model's loss): ``on_callback(name, args)``
    answers, or raises ValueError to refuse.
    """

    def __init__(self, submission: Path, limits: Limits | None = None,
                 hide: tuple[Path, ...] = ()) -> None:
        self.submission = Path(submission)
        self.limits = limits or Limits()
        self.hide = tuple(hide)
        self.protections: list[str] = []
        self.output = ""              # what the submission printed, first 4000 characters
        self.peak_memory_mib = 0.0    # the largest any worker of this sandbox grew to
        self.on_callback: Callback | None = None
        self._reference_functions: tuple[str, ...] = ()
        self._replace_layers_module = False
        self._process: subprocess.Popen | ForkedWorker | None = None
        self._reader: _Reader | None = None
        self._workdir: Path | None = None
        self._pids: list[int] = []
        self._handles: set[str] = set()
        self._deadline = 0.0

    def __enter__(self) -> Sandbox:
        self._deadline = time.monotonic() + self.limits.submission_timeout
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def use_reference_layers(self, functions: tuple[str, ...], whole_module: bool) -> None:
        """From the next module import on, ``functions`` of layers.py are the reference's.

        ``whole_module``: layers.py itself is unusable; the worker never imports it.
        A change restarts the worker, so that no module bound the old functions.
        """
        wanted = (tuple(sorted(functions)), whole_module)
        if wanted != (self._reference_functions, self._replace_layers_module):
            self._reference_functions, self._replace_layers_module = wanted
            if self._process is not None:
                self._stop(graceful=True)

    # -- life cycle ------------------------------------------------------

    def _start(self) -> None:
        self._stop()
        self._workdir = Path(tempfile.mkdtemp(prefix="backprop-hw-", dir=_workers_folder()))
        budget = MAX_COPIED_BYTES  # a folder of many large files is not copied whole
        for path in sorted(self.submission.iterdir())[:MAX_COPIED_FILES]:
            if path.suffix == ".py" and budget > 0:
                budget -= _copy_regular_file(path, self._workdir / path.name, budget)
        # Folders to cover in the worker's mount namespace (a fallback for Landlock);
        # never one that holds the worker's own folder or the Python it runs.
        needed = (self._workdir, Path(sys.prefix).resolve(), Path(np.__file__).resolve())
        hide = [str(p) for p in (SOLUTIONS, DATA, Path(__file__).parent, ROOT / "tests",
                                 ROOT / ".git",
                                 Path("/dev/shm"), *self.hide)
                if p.is_dir() and not any(n.is_relative_to(p.resolve()) for n in needed)]
        config = {"workdir": str(self._workdir), "memory_mb": self.limits.memory_mb,
                  "cpu_seconds": self.limits.cpu_seconds,
                  "output_bytes": self.limits.output_bytes,
                  "disk_mb": self.limits.disk_mb, "processes": self.limits.processes,
                  "namespaces": self.limits.namespaces, "landlock": self.limits.landlock,
                  "readable": _readable_paths(), "hide": hide,
                  "secrets": [str(p) for p in _secrets()],
                  "reference_functions": list(self._reference_functions),
                  "replace_layers_module": self._replace_layers_module}
        env = _clean_env(self._workdir)
        self._process, started = _start_worker(env) if self.limits.zygote else (None, "")
        if self._process is None:
            # Not -I: it would ignore PYTHONHASHSEED. The environment is ours anyway,
            # -s skips the user's site-packages, and the worker starts in "/" and drops
            # the current folder from sys.path before it imports anything.
            self._process = subprocess.Popen(
                _worker_command("worker"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, cwd="/", env=env, start_new_session=True)
            started = started or "a fresh interpreter (the zygote is turned off)"
        for pipe in (self._process.stdin, self._process.stdout):
            _widen(pipe.fileno())
        os.set_blocking(self._process.stdin.fileno(), False)
        self._reader = _Reader(self._process.stdout.fileno())
        self._pids = [self._process.pid]
        self._handles.clear()
        deadline = min(time.monotonic() + 30.0, self._deadline)
        try:  # its config: down the pipe, for this worker alone
            _write_exact(self._process.stdin.fileno(), wire.frames(config, {}), deadline)
        except (OSError, TimeoutError):
            pass  # a worker that died at once: reading its hello says so
        while True:
            header, _ = self._read(deadline, "starting")
            if "fatal" in header:
                self._stop()
                raise CallFailed("sandbox", f"the grader could not start its sandbox: "
                                            f"{_clean(header['fatal'])}")
            if "pid" in header:
                self._pids.append(int(header["pid"]))
            elif header.get("hello"):
                self.protections = [f"process: {started}",
                                    *(str(p) for p in header.get("protections", []))]
                problem = isolation_problem(header.get("isolation"))
                if problem and not self.limits.insecure:
                    self._stop()
                    raise SandboxRefused(
                        f"submission code cannot be isolated here: {problem}. Grade on a "
                        f"Linux kernel with Landlock and unprivileged user namespaces, or as "
                        f"root with Python readable by other users and the grader's files "
                        f"not (chmod -R o-rwx on them); or pass --insecure to grade anyway, "
                        f"only for code you trust. (Protections seen: "
                        f"{'; '.join(self.protections)})")
                if problem:
                    self.protections.append(f"INSECURE: graded without isolation ({problem})")
                return

    def _stop(self, graceful: bool = False) -> None:
        process, self._process = self._process, None
        try:
            if process is not None:
                if graceful:
                    self._say_goodbye(process)
                # The pid namespace's init first: the worker then reaps it (no zombie,
                # and its CPU time is counted) before it is killed itself.
                outer, *inner = self._pids
                for pid in inner:
                    _kill(pid)
                if inner:
                    try:
                        process.wait(timeout=1.0)
                    except subprocess.TimeoutExpired:
                        pass
                _kill(outer)
                process.wait()
                for stream in (process.stdin, process.stdout):
                    try:
                        stream.close()
                    except OSError:
                        pass
        finally:
            if self._workdir is not None:
                self._collect_output()
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def _say_goodbye(self, process: subprocess.Popen) -> None:
        """Ask a live worker for its peak memory, then to stop; never raises."""
        try:
            deadline = time.monotonic() + 1.0
            _write_exact(process.stdin.fileno(), wire.frames({"op": "usage"}, {}), deadline)
            header, arrays = _receive(self._reader, deadline)
            usage = decode(header.get("result"), arrays)
            if isinstance(usage, np.ndarray) and usage.shape == (2,):
                self.peak_memory_mib = max(self.peak_memory_mib, float(usage[0]) / 1024)
            _write_exact(process.stdin.fileno(), wire.frames({"op": "stop"}, {}), deadline)
            process.wait(timeout=1.0)
        except Exception:  # a dead, stuck or lying worker is killed next anyway
            pass

    def _collect_output(self) -> None:
        output = self._workdir / "output.txt"
        try:
            fd = os.open(output, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return
        with os.fdopen(fd, "rb") as f:
            if stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                self.output += f.read(4000).decode("utf-8", "replace")

    def stats(self) -> SandboxStats:
        return SandboxStats(tuple(self.protections), self.output, self.peak_memory_mib)

    def close(self) -> None:
        """End the worker and every process it started; remove its folder."""
        self._stop(graceful=True)

    def _died(self, what: str) -> CallFailed:
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        self._stop()
        if code is not None and (code < 0 or code > 128):
            number = -code if code < 0 else code - 128
            name = signal.Signals(number).name if number in signal.valid_signals() else number
            reason = {"SIGXCPU": "used up its CPU time", "SIGSEGV": "crashed (segmentation fault)",
                      "SIGKILL": "was killed (out of memory or time)"}.get(str(name), f"got {name}")
            return CallFailed("crashed", f"the submission's process {reason} while {what}")
        if code is not None:
            return CallFailed("crashed", f"the submission's process exited (status {code}) "
                                         f"while {what}")
        return CallFailed("crashed", f"the submission's process stopped answering while {what}")

    def _read(self, deadline: float, what: str, timeout: float | None = None,
              limit: str = "call") -> tuple[dict, dict[str, np.ndarray]]:
        assert self._process is not None
        try:
            return _receive(self._reader, deadline)
        except TimeoutError:
            self._stop()
            if time.monotonic() >= self._deadline:
                limit, seconds = "submission", self.limits.submission_timeout
            else:
                seconds = timeout or self.limits.call_timeout
            raise CallFailed("timeout", f"timed out after {seconds:g} s ({limit} time limit) "
                                        f"while {what}") from None
        except EOFError:
            raise self._died(what) from None
        except Exception:  # anything else a forged reply can cause: never the grader's crash
            self._stop()
            raise CallFailed("garbage", f"the submission's process sent garbage while "
                                        f"{what}") from None

    def _answer(self, message: dict, payload: dict[str, np.ndarray], deadline: float,
                what: str) -> None:
        """Answer the worker's request for a value computed here (see ``on_callback``)."""
        name, raw = message.get("callback"), message.get("args")
        if not isinstance(name, str) or not isinstance(raw, list):
            self._stop()
            raise CallFailed("garbage", f"the submission's process sent garbage while {what}")
        arrays: dict[str, np.ndarray] = {}
        try:
            if self.on_callback is None:
                raise ValueError(f"{_clean(name, 40)} cannot be called here")
            args = [decode(item, payload) for item in raw]
            with np.errstate(all="ignore"):
                result = self.on_callback(name, args)
            reply = {"ok": True, "result": _arg(result, arrays, tuple(args))}
        except Exception as error:  # refused or impossible: the submission's call raises
            arrays = {}
            reply = {"ok": False, "error": _clean(str(error), 300)}
        try:
            _write_exact(self._process.stdin.fileno(), wire.frames(reply, arrays), deadline)
        except TimeoutError:
            self._stop()
            raise CallFailed("timeout", f"timed out while {what} (the submission's process "
                                        f"stopped reading)") from None
        except OSError:
            raise self._died(what) from None

    # -- calls -----------------------------------------------------------

    def request(self, header: dict, arrays: dict[str, np.ndarray] | None = None,
                what: str = "running the submission", timeout: float | None = None,
                limit: str = "call") -> Any:
        """Send one request; return the decoded result or raise CallFailed.

        ``timeout`` replaces the call time limit; ``limit`` names it in a timeout's message
        ("training": "timed out after 30 s (training time limit) while ...").
        """
        if time.monotonic() >= self._deadline:
            raise CallFailed("not_run", f"not run: the submission used up its "
                                        f"{self.limits.submission_timeout:g} s time limit")
        if self._process is None:
            try:
                self._start()
            except OSError as error:  # the grader could not set the worker up
                self._stop()
                raise CallFailed("sandbox", f"the grader could not start its sandbox: "
                                            f"{_clean(str(error), 200)}") from None
        for ref in _refs(header):
            if ref not in self._handles:
                raise CallFailed("not_run", "not run: a value it needs was lost when the "
                                            "submission's process ended earlier")
        assert self._process is not None
        deadline = min(time.monotonic() + (timeout or self.limits.call_timeout), self._deadline)
        try:
            _write_exact(self._process.stdin.fileno(), wire.frames(header, arrays or {}), deadline)
        except TimeoutError:
            self._stop()
            raise CallFailed("timeout", f"timed out after {timeout or self.limits.call_timeout:g}"
                                        f" s while {what} (the submission's process stopped "
                                        f"reading)") from None
        except OSError:
            raise self._died(what) from None
        while True:
            reply, payload = self._read(deadline, what, timeout, limit)
            if "callback" not in reply:
                break
            self._answer(reply, payload, deadline, what)
        if not reply.get("ok"):
            raise CallFailed("raised", _clean(reply.get("error", "failed")))
        try:
            result = decode(reply.get("result"), payload)
        except Exception:  # a forged descriptor
            self._stop()
            raise CallFailed("garbage", f"the submission's process sent garbage while "
                                        f"{what}") from None
        self._handles.update(_keeps(header))
        return result

    def call(self, target: str, *args: Any, keep: str | None = None,
             timeout: float | None = None, echo_args: bool = False, reply: bool = True,
             fp_errors: bool = False, limit: str = "call", **kwargs: Any) -> Any:
        """Call ``module.function`` (or ``$handle.method``) of the submission.

        Arrays are sent with their dtype and shape (the function gets a copy of
        each), ``Ref`` values stay in the worker, other values go as JSON. With
        ``keep``, the result also stays in the worker as a handle for
        ``Ref((keep,))``. With ``echo_args``, returns ``(result, args as they
        are after the call)``. ``reply=False`` sends no result back (None).
        ``fp_errors``: numpy overflow, invalid values and division by zero raise
        FloatingPointError during the call. ``timeout`` and ``limit``: as ``request``'s.
        """
        arrays: dict[str, np.ndarray] = {}
        header = _call_header(target, args, kwargs, arrays, keep=keep, echo_args=echo_args,
                              reply=reply, fp_errors=fp_errors)
        return self.request(header, arrays, f"calling {target.lstrip('$')}", timeout, limit)

    def build(self, target: str, *args: Any, keep: str,
              params: dict[str, np.ndarray] | None = None,
              then: tuple[str, tuple, dict[str, Any]] | None = None,
              read: tuple | None = None, timeout: float | None = None,
              limit: str = "call", **kwargs: Any) -> Any:
        """Make a model ``target(*args, **kwargs)`` in the worker and keep it as ``keep``;
        then set its ``params`` (``model.params[name] = value``) if given, make the call ``then``
        (target, args, kwargs) if given, and return the value at ``Ref((keep, *read))``
        if ``read`` is given, else the result of ``then``, if given. One request, under
        ``timeout``: a grade builds about fifty nets, and trains seven of them."""
        arrays: dict[str, np.ndarray] = {}
        parts = [_call_header(target, args, kwargs, arrays, keep=keep, reply=False)]
        if params is not None:
            parts.append(_set_params_header(keep, params, arrays))
        if then is not None:
            parts.append(_call_header(then[0], then[1], then[2], arrays, reply=False))
        if read is not None:
            parts.append({"op": "get", "ref": [keep, *read]})
        reply = read is not None or then is not None  # a seq replies with its last part
        return self.request({"op": "seq", "requests": parts, "reply": reply},
                            arrays, f"building {target} and calling {then[0].lstrip('$')}"
                            if then else f"calling {target}", timeout, limit)

    def timed_call(self, target: str, *args: Any, timeout: float) -> float:
        """Seconds one call takes, measured here; its result is not sent back."""
        started = time.monotonic()
        self.call(target, *args, timeout=timeout, reply=False)
        return time.monotonic() - started

    def hold(self, handle: str, *values: Any) -> Ref:
        """Keep ``values`` in the worker, as ``Ref((handle, i))``, for calls to come."""
        arrays: dict[str, np.ndarray] = {}
        self.request({"op": "hold", "keep": handle, "reply": False,
                      "args": [_arg(v, arrays) for v in values]}, arrays, "sending inputs")
        return Ref((handle,))

    def probe_model(self, handle: str, params: dict[str, np.ndarray]) -> Ref:
        """A model in the worker whose loss and predict this process answers (``on_callback``)."""
        self.request({"op": "probe_model", "keep": handle, "reply": False},
                     {k: np.asarray(v, dtype=np.float64) for k, v in params.items()},
                     "making a probe model")
        return Ref((handle,))

    def descend(self, model: str, X: Any, y: Any, steps: int, learning_rate: float,
                what: str, timeout: float | None = None, limit: str = "call") -> Any:
        """Full-batch gradient descent on the worker's ``model`` with its own loss (see
        worker.descend): {"steps", "params", "stopped"}, in one request."""
        arrays: dict[str, np.ndarray] = {}
        return self.request({"op": "descend", "model": model, "steps": steps,
                             "learning_rate": learning_rate,
                             "args": [_arg(X, arrays), _arg(y, arrays)]}, arrays, what, timeout,
                            limit)

    def get(self, ref: Ref) -> Any:
        return self.request({"op": "get", "ref": list(ref.path)}, None, "reading a value")

    def load(self, module: str) -> None:
        """Import a submission module; CallFailed says why it cannot be used."""
        self.request({"op": "load", "module": module}, None, f"importing {module}.py")


MAX_SOURCE_BYTES = 2_000_000   # one submission file
MAX_COPIED_BYTES = 10_000_000  # all of a submission's files
MAX_COPIED_FILES = 1_000       # entries of a submission folder looked at


def _worker_command(mode: str) -> list[str]:
    """worker.py as a program: ``mode`` "worker" (one worker) or "zygote"."""
    return [sys.executable, "-s", "-B", "-c", WORKER_SOURCE, mode, WIRE_SOURCE]


FORKED = ("forked from zygote {pid} (numpy imported there once; it never runs submission "
          "code), then locked in like a fresh worker")
_zygote_lock = threading.Lock()
_zygote: Zygote | None = None
_zygote_problem: str | None = None  # why no zygote can run here: not tried again


@cache
def _workers_folder() -> str:
    """The folder this process makes its workers' folders in, inside the temporary folder:
    other users may pass through it, not list it. The zygote makes it (and nothing else
    of the temporary folder) reachable for the workers' uids."""
    folder = tempfile.mkdtemp(prefix="backprop-hw-workers-")
    os.chmod(folder, 0o711)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _start_worker(env: dict[str, str]) -> tuple[ForkedWorker | None, str]:
    """A worker forked from the shared zygote (started, or restarted, when needed);
    (None, why not) where there can be none."""
    global _zygote, _zygote_problem
    problem, failed = "", None
    for _ in range(2):  # a zygote that died since the last worker is replaced once
        with _zygote_lock:
            # Only the one that failed: closing a zygote kills the workers it forked.
            if _zygote is not None and (_zygote is failed or not _zygote.alive):
                _zygote.close()
                _zygote = None
            if _zygote is None and _zygote_problem is None:
                try:
                    _zygote = Zygote(_worker_command("zygote"), _clean_env(Path("/")),
                                     [*_readable_paths(), _workers_folder()])
                except ZygoteUnusable as error:
                    _zygote_problem = str(error)
            zygote = _zygote
        if zygote is None:
            return None, f"a fresh interpreter (no zygote: {_zygote_problem})"
        try:
            return zygote.fork(env), FORKED.format(pid=zygote.pid)
        except ZygoteUnusable as error:
            problem, failed = str(error), zygote
    return None, f"a fresh interpreter (the zygote could not fork: {problem})"


def stop_zygote() -> None:
    """End the shared zygote, if one runs, and reap it (its CPU then counts as this
    process's children's). The next worker starts a new one."""
    global _zygote
    with _zygote_lock:
        zygote, _zygote = _zygote, None
    if zygote is not None:
        zygote.close()


atexit.register(stop_zygote)


def _copy_regular_file(source: Path, target: Path, budget: int = MAX_SOURCE_BYTES) -> int:
    """Copy ``source`` if it is a regular file (never through a symlink), capped in size.

    Returns the bytes copied.
    """
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return 0
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, FIFO or device named *.py
        os.close(fd)
        return 0
    with os.fdopen(fd, "rb") as f:
        data = f.read(min(MAX_SOURCE_BYTES, budget))
    target.write_bytes(data)
    return len(data)


def _kill(pid: int) -> None:
    """SIGKILL a process and its process group, if they are still there."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _arg(value: Any, arrays: dict[str, np.ndarray], echoes: tuple = ()) -> dict:
    """``value`` as a descriptor, its arrays added to ``arrays``; in a callback's reply,
    an array that *is* one of the call's arguments ``echoes`` goes back as a reference
    to it (wire.CALLBACK_ARGS)."""
    if isinstance(value, Ref):
        return {"ref": list(value.path)}
    if isinstance(value, np.ndarray):
        for index, arg in enumerate(echoes):
            if value is arg:
                return {"ref": [wire.CALLBACK_ARGS, index]}
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"array": key}
    if isinstance(value, (tuple, list)):
        return {"seq": [_arg(item, arrays, echoes) for item in value],
                "type": type(value).__name__}
    if isinstance(value, dict):
        return {"map": {str(k): _arg(v, arrays, echoes) for k, v in value.items()}}
    if isinstance(value, np.generic):
        return {"json": value.item()}
    return {"json": value}


def _call_header(target: str, args: tuple, kwargs: dict[str, Any],
                 arrays: dict[str, np.ndarray], keep: str | None = None,
                 echo_args: bool = False, reply: bool = True, fp_errors: bool = False) -> dict:
    return {"op": "call", "target": target, "keep": keep, "echo_args": echo_args,
            "reply": reply, "fp_errors": fp_errors, "args": [_arg(a, arrays) for a in args],
            "kwargs": {k: _arg(v, arrays) for k, v in kwargs.items()}}


def _set_params_header(model: str, params: dict[str, np.ndarray],
                       arrays: dict[str, np.ndarray]) -> dict:
    """model.params[name] = a float64 copy of each value, in the worker."""
    pairs = [[name, _arg(np.asarray(value, dtype=np.float64), arrays)["array"]]
             for name, value in params.items()]
    return {"op": "set_params", "model": model, "params": pairs}


def _keeps(header: dict) -> list[str]:
    """The handles a request makes (a seq's parts make theirs in order)."""
    parts = header["requests"] if header.get("op") == "seq" else [header]
    return [part["keep"] for part in parts if part.get("keep")]


def _refs(header: dict) -> set[str]:
    """The handles a request uses that must exist before it runs."""
    if header.get("op") == "seq":
        found: set[str] = set()
        made: set[str] = set()
        for part in header["requests"]:
            found |= _refs(part) - made
            made.update(_keeps(part))
        return found
    found = set()
    specs = [*header.get("args", []), *header.get("kwargs", {}).values()]
    while specs:
        spec = specs.pop()
        if "ref" in spec:
            found.add(spec["ref"][0])
        specs.extend(spec.get("seq", []))
        specs.extend(spec.get("map", {}).values())
    if header.get("op") in ("set_params", "descend"):
        found.add(header["model"])
    if header.get("op") == "get":
        found.add(header["ref"][0])
    target = header.get("target", "")
    if target.startswith("$"):
        found.add(target[1:].partition(".")[0])
    return found
