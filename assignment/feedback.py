"""Compare what a function returned with what was expected, and say why not.

This file is complete: you do not need to change it. The local tests and the
autograder both use it, so the messages you see here are the ones you get
when graded.

Every check returns None when all is well, or one sentence naming the
function, what was expected and what came, and the likely mistake where
the pattern of the error points to a known one.
"""

import _thread
import ast
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
from gradient_check import rel_error

# Relative error below which a value or gradient counts as correct. Numeric
# gradients in float64 with h = 1e-5 agree with a correct backward to ~1e-8.
TOLERANCE = 1e-6


def _shape_hint(got_shape, expected_shape):
    if len(got_shape) == 2 and got_shape == expected_shape[::-1]:
        return "it looks transposed"
    if tuple(d for d in got_shape if d != 1) == tuple(d for d in expected_shape if d != 1):
        return "it has an extra or missing axis of length 1 (keepdims=True, or a reshape)"
    if len(got_shape) == len(expected_shape):
        return "did you sum or average over the wrong axis?"
    if len(got_shape) < len(expected_shape):
        return "an axis is missing: did you sum over an axis that should stay?"
    return "an axis is left over: did you forget to sum over the batch axis?"


def check_array(func, name, got, expected_shape, finite=True):
    """Check that ``got`` is a float array of ``expected_shape``.

    Inputs:
    - func: name of the function that produced ``got``, e.g. "affine_backward".
    - name: what ``got`` is, e.g. "dw".
    - got: the returned value.
    - expected_shape: tuple.
    - finite: also require every entry to be finite.

    Returns None, or a one-sentence message.
    """
    expected_shape = tuple(expected_shape)
    if got is None:
        return f"{func}: {name} is None, expected an array of shape {expected_shape} (missing return?)."
    if not isinstance(got, np.ndarray):
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return (f"{func}: {name} is a {type(got).__name__}, expected a numpy array "
                    f"of shape {expected_shape}.")
    if got.dtype == object or not (np.issubdtype(got.dtype, np.floating)
                                   or np.issubdtype(got.dtype, np.integer)
                                   or got.dtype == bool):
        return f"{func}: {name} has dtype {got.dtype}, expected float64 numbers."
    if got.shape != expected_shape:
        hint = _shape_hint(got.shape, expected_shape)
        return (f"{func}: {name} has shape {got.shape}, expected {expected_shape}; "
                f"{hint}{'' if hint.endswith('?') else '.'}")
    if finite and not np.all(np.isfinite(got)):
        bad = np.argwhere(~np.isfinite(got))[0]
        where = tuple(int(i) for i in bad)
        return (f"{func}: {name} has a non-finite entry ({got[where]} at index {list(where)}); "
                f"expected every entry finite.")
    return None


def _value_hint(got, expected, known_mistakes):
    for hint, wrong in known_mistakes.items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got.shape and rel_error(got, wrong) < 1e-4:
            return hint
    for factor, hint in ((-1.0, "the sign is flipped"), (2.0, "it is twice too large"),
                         (0.5, "it is half what it should be")):
        if rel_error(got, factor * expected) < 1e-4:
            return hint
    return None


def check_close(func, name, got, expected, what="the expected value",
                tol=TOLERANCE, known_mistakes=None):
    """Check that ``got`` equals ``expected`` up to relative error ``tol``.

    Shapes and finiteness are checked first (see check_array).

    Inputs:
    - func, name: as in check_array.
    - got: the returned value.
    - expected: float64 array (or float) it should equal.
    - what: how to name ``expected`` in the message, e.g. "the numeric gradient".
    - tol: largest accepted rel_error.
    - known_mistakes: dict mapping a description of a known mistake to the
      array that mistake would produce; a match names the mistake.

    Returns None, or a one-sentence message.
    """
    expected = np.asarray(expected, dtype=np.float64)
    problem = check_array(func, name, got, expected.shape)
    if problem:
        return problem
    got = np.asarray(got, dtype=np.float64)
    err = rel_error(got, expected)
    if err <= tol:
        return None
    where = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape) if got.ndim else ()
    index = f" at index {[int(i) for i in where]}" if got.ndim else ""
    message = (f"{func}: {name} does not match {what}: max relative error {err:.1e} "
               f"(tolerance {tol:.0e}); e.g.{index} got {got[where]:.6g}, "
               f"expected {expected[where]:.6g}")
    hint = _value_hint(got, expected, known_mistakes or {})
    return message + (f"; likely mistake: {hint}." if hint else ".")


def check_unchanged(func, name, before, after):
    """Check that an input array was not modified in place.

    Returns None, or a one-sentence message.
    """
    if np.array_equal(before, after, equal_nan=True):
        return None
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape:
        return (f"{func}: changed the shape of its input {name} from {before.shape} to "
                f"{after.shape}; compute into a new array instead.")
    # Every entry that is not the same number, however slightly it moved (clipping 0 to
    # 1e-12 counts); NaN where NaN was is unchanged.
    both_nan = np.zeros(before.shape, dtype=bool)
    if before.dtype.kind in "fc" and after.dtype.kind in "fc":
        both_nan = np.isnan(before) & np.isnan(after)
    changed = int(np.sum((before != after) & ~both_nan))
    return (f"{func}: modified its input {name} in place ({changed} of {np.size(before)} "
            f"entries changed); compute into a new array instead (e.g. np.maximum(x, 0), "
            f"not x[x < 0] = 0 or x -= ...).")


# --- for the local tests: the import rule and time limits -------------------

def check_imports(path, exclude=()):
    """Check the import rule for the file at ``path``: numpy, the standard library and the
    other .py files of its folder only. The files of its folder it imports are checked
    too (but not those named in ``exclude``, e.g. "layers").

    Returns None, or a one-sentence message (also when a file is missing, is not UTF-8
    or does not compile).
    """
    path = Path(path)
    siblings = {p.stem for p in path.parent.glob("*.py")}

    def allowed(name):
        top = name.partition(".")[0]
        return (top in sys.stdlib_module_names or top == "numpy" or top in siblings
                or top.startswith("_"))

    todo, seen = [path.stem], set()
    while todo:
        module = todo.pop(0)
        if module in seen or module in exclude:
            continue
        seen.add(module)
        file = path.parent / f"{module}.py"
        try:
            source = file.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return f"{file.name} is missing"
        except UnicodeDecodeError as error:
            return f"{file.name} is not valid UTF-8 ({error.reason} at byte {error.start})"
        try:
            tree = ast.parse(source, str(file))
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None)
            return (f"{file.name} does not compile: {type(error).__name__}: "
                    f"{getattr(error, 'msg', error)}" + (f" (line {line})" if line else ""))
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
        bad = sorted({n for n in names if not allowed(n)})
        if bad:
            return (f"{file.name} imports {', '.join(bad)}: submissions may import only "
                    f"numpy, the standard library and each other")
        todo += sorted({n.partition(".")[0] for n in names} & siblings)
    return None


class TimeLimitExceeded(BaseException):
    """Raised inside a block that ran longer than its ``time_limit``.

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in the
    code under test does not swallow it.
    """


class time_limit:
    """Context manager: raise TimeLimitExceeded(message) in the block after ``seconds``.

    Limits nest (the earlier deadline wins); ``expired`` says whether this one
    fired. With SIGALRM (Linux, macOS) the block is interrupted between two
    Python steps; elsewhere (Windows) a watchdog thread interrupts the main
    thread instead.
    """

    def __init__(self, seconds, message):
        self.seconds = float(seconds)
        self.message = message
        self.expired = False

    def __enter__(self):
        self._start = time.monotonic()
        self._use_signal = (hasattr(signal, "setitimer")
                            and threading.current_thread() is threading.main_thread())
        if self._use_signal:
            outer, _ = signal.setitimer(signal.ITIMER_REAL, 0)  # pause an enclosing limit
            self._outer_deadline = self._start + outer if outer else None
            self._old_handler = signal.getsignal(signal.SIGALRM)

            def expire(signum, frame):
                if self._outer_deadline is not None and time.monotonic() >= self._outer_deadline:
                    if callable(self._old_handler):
                        self._old_handler(signum, frame)  # the enclosing limit's turn
                    return
                self.expired = True
                raise TimeLimitExceeded(self.message)

            signal.signal(signal.SIGALRM, expire)
            delay = self.seconds if outer == 0 else min(self.seconds, outer)
            signal.setitimer(signal.ITIMER_REAL, max(delay, 1e-6))
        else:
            def interrupt():
                self.expired = True
                _thread.interrupt_main()

            self._timer = threading.Timer(self.seconds, interrupt)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, kind, value, traceback):
        if self._use_signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler)
            if self._outer_deadline is not None:  # resume the enclosing limit
                signal.setitimer(signal.ITIMER_REAL,
                                 max(self._outer_deadline - time.monotonic(), 1e-6))
        else:
            self._timer.cancel()
            if kind is KeyboardInterrupt and self.expired:
                raise TimeLimitExceeded(self.message) from None
        return False
