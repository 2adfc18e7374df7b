"""The grader's end of a zygote: one process that forks the sandbox's workers.

Starting a worker costs an interpreter, numpy and the worker's own code
(about 0.2 CPU-s); a zygote (``worker.py``'s ``zygote``) pays that once and
forks a fresh copy of itself for every worker. The zygote never runs
submission code and holds nothing of the grader's: it gets the worker's text
as the fresh workers do, and for each fork only the two pipe ends of that
worker and its environment (its config then goes down the pipe, to the child
alone). Each forked child locks itself in exactly as a fresh worker does.

A ``ForkedWorker`` has the parts of ``subprocess.Popen`` the sandbox uses
(pid, stdin, stdout, wait); its exit status comes from the zygote, which
reaps a child only when asked, so that its pid is not reused while the
grader may still signal it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from typing import Any, BinaryIO


class ZygoteUnusable(RuntimeError):
    """The zygote could not be started, or stopped answering: start workers fresh."""


class Zygote:
    """A running zygote; ``fork`` gives a new worker process. Safe to share between threads."""

    def __init__(self, command: list[str], env: dict[str, str], cover: list[str],
                 timeout: float = 30.0) -> None:
        """Start it; ``cover``: the paths its workers must reach when the grader runs as
        root (worker.cover_once), made reachable once here rather than in each worker."""
        self._lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Its socket is the only descriptor it gets besides /dev/null; its number
            # is its last argument. cwd "/" and a session of its own, as a worker.
            self._process = subprocess.Popen(
                [*command, str(theirs.fileno())], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env=env,
                start_new_session=True, pass_fds=(theirs.fileno(),))
        except OSError as error:
            ours.close()
            raise ZygoteUnusable(f"could not start it ({error})") from None
        finally:
            theirs.close()
        self._socket = ours
        self._socket.settimeout(timeout)
        try:
            hello = self._receive()
        except ZygoteUnusable:
            self.close()
            raise
        if hello.get("threads") != 1:  # forking a process with threads is not safe
            self.close()
            raise ZygoteUnusable(f"it has {hello.get('threads')} threads after importing "
                                 f"numpy, not 1")
        self._socket.settimeout(10.0)
        self.pid = self._process.pid
        try:
            covered = self._ask({"op": "cover", "paths": cover})
        except ZygoteUnusable:
            self.close()
            raise
        if "error" in covered:
            self.close()
            raise ZygoteUnusable(f"it could not make Python reachable for its workers "
                                 f"({str(covered['error'])[:200]})")

    @property
    def alive(self) -> bool:
        return self._socket is not None and self._process.poll() is None

    def _receive(self) -> dict[str, Any]:
        try:
            message = self._socket.recv(1 << 16)
            if not message:
                raise EOFError
            reply = json.loads(message)
            if not isinstance(reply, dict):
                raise ValueError
            return reply
        except (OSError, EOFError, ValueError) as error:
            raise ZygoteUnusable(f"it stopped answering ({type(error).__name__})") from None

    def _ask(self, request: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        with self._lock:
            if self._socket is None:
                raise ZygoteUnusable("it was stopped")
            try:
                socket.send_fds(self._socket, [json.dumps(request).encode()], list(fds))
            except OSError as error:
                raise ZygoteUnusable(f"it stopped answering ({error})") from None
            return self._receive()

    def fork(self, env: dict[str, str]) -> ForkedWorker:
        """A new worker on fresh pipes, with environment ``env``; ZygoteUnusable if not."""
        child_in, grader_out = os.pipe()
        grader_in, child_out = os.pipe()
        try:
            reply = self._ask({"op": "fork", "env": env}, (child_in, child_out))
        except ZygoteUnusable:
            os.close(grader_out)
            os.close(grader_in)
            raise
        finally:  # the child's ends: held here, the grader would never see the child's EOF
            os.close(child_in)
            os.close(child_out)
        if not isinstance(reply.get("pid"), int):
            os.close(grader_out)
            os.close(grader_in)
            raise ZygoteUnusable(str(reply.get("error", "no pid in its reply"))[:200])
        return ForkedWorker(self, reply["pid"], open(grader_out, "wb", buffering=0),
                            open(grader_in, "rb", buffering=0))

    def reap(self, pid: int) -> int | None:
        """The exit code of a child that has ended (negative: the signal), else None."""
        try:
            reply = self._ask({"op": "reap", "pid": pid})
        except ZygoteUnusable:  # the zygote is gone, and its children died with it
            return -signal.SIGKILL
        status = reply.get("status")
        if "error" in reply:  # not its child (any more): nothing left to wait for
            return -signal.SIGKILL
        return status if isinstance(status, int) else None

    def close(self) -> None:
        """Stop the zygote (its children are killed with it) and reap it."""
        with self._lock:
            sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()  # its end of file: it exits
        try:
            self._process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class ForkedWorker:
    """A worker the zygote forked: what the sandbox needs of ``subprocess.Popen``."""

    def __init__(self, zygote: Zygote, pid: int, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.returncode: int | None = None
        self._zygote = zygote
        try:  # readable once the process has ended: no polling while it runs
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.reap(self.pid)
            if self.returncode is not None and self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
            if self._pidfd is not None:
                select.select([self._pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.005))
        return self.returncode
