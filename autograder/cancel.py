"""Stopping grades that are running in other threads: what a batch does on Ctrl-C or SIGTERM.

A grade that is given a ``Cancel`` registers its sandbox with it and checks it
before every check. ``stop`` sets it and kills the workers of the grades that
are running, so that none waits for its call to time out; each of those grades
then raises ``Interrupted`` instead of returning a report, and so writes nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from autograder.errors import Interrupted

if TYPE_CHECKING:
    from autograder.sandbox import Sandbox


class Cancel:
    """A one-way switch shared by the grades of a batch."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._running: set[Sandbox] = set()
        self.signum = int(signal.SIGINT)

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise Interrupted once ``stop`` was called."""
        if self._event.is_set():
            raise Interrupted(self.signum)

    @contextmanager
    def watching(self, sandbox: Sandbox) -> Iterator[None]:
        """While the block runs, ``stop`` kills ``sandbox``'s worker."""
        with self._lock:
            self._running.add(sandbox)
        try:
            self.check()
            yield
        finally:
            with self._lock:
                self._running.discard(sandbox)

    def stop(self, signum: int = signal.SIGINT) -> None:
        """Ask every grade to stop, and kill the workers running now."""
        self.signum = int(signum)
        self._event.set()
        self.kill_running()

    def kill_running(self) -> None:
        """Kill the workers of the grades still running (call again until none is left:
        a check under way may start a fresh worker before it sees the switch)."""
        with self._lock:
            running = list(self._running)
        for sandbox in running:
            try:
                sandbox.close()
            except Exception:  # racing its grade's own close: that one ends it anyway
                pass

    def running(self) -> int:
        with self._lock:
            return len(self._running)
