"""The grader's checks: small functions with explicit metadata.

A ``Check`` names what it grades (``function``), what kind of property it
tests (``kind``) and its rubric key (``id``). Its ``run(ctx)`` either
returns (passed, with an optional note) or raises ``Failed`` with one
sentence. A failure inside the submission (an exception, a hang, a crash)
fails only the check that hit it; so does an error in the check itself.

Two rules shape every grade:

- **No points for no work.** A hygiene check (right shape, inputs left alone,
  stable at extremes, history of the right length, the initial loss) is
  awarded only when the same function computes the right values: its
  ``awarded_if`` check passes. Zeros, constants and echoes earn nothing.
- **One bug costs one function.** The net's and the trainer's checks run
  with the reference in place of any layer that failed its own checks
  (``needs`` lists those checks; see ``autograder.reference_calls``).

The list of checks is built by plain functions (``all_checks``), one module
per family: layers, losses, jacobians, net, fc_net, training.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from autograder.reference import reference
from autograder.reference_calls import call_reference_layer
from autograder.sandbox import CallFailed, Opaque, Sandbox, SandboxRefused

KINDS = ("values", "gradient", "shape", "inputs", "stability", "init", "sanity", "predict",
         "history", "training")
HYGIENE = ("shape", "inputs", "stability", "sanity", "history")  # never earn points alone


class Failed(Exception):
    """A check's verdict: the submission does not do what the test asks.

    ``mistake``: the known mistake the returned value matches (the hint's category), if any.
    """

    def __init__(self, message: str, mistake: str | None = None) -> None:
        super().__init__(message)
        self.mistake = mistake


class UndeclaredNeed(RuntimeError):
    """A check read a verdict it did not list in ``needs``: a bug in the grader."""


@dataclass(frozen=True)
class Check:
    """One graded test: ``run(ctx)`` passes (returns a note or None) or raises Failed."""

    id: str                  # the rubric key
    function: str            # what it grades: "affine_backward", "TwoLayerNet.loss", "train"
    kind: str                # one of KINDS
    name: str                # the sentence reports show
    module: str              # the submission file it imports: "layers" or "two_layer_net"
    run: Callable[[Context], str | None]
    needs: tuple[str, ...] = ()      # checks whose verdicts must be known before it runs
    awarded_if: str | None = None    # a hygiene check earns points only if this one passes
    dataset: str | None = None       # training checks: the rubric's [training.datasets] key

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"check {self.id}: unknown kind {self.kind!r}")
        if (self.kind in HYGIENE) != (self.awarded_if is not None):
            raise ValueError(f"check {self.id}: a {self.kind} check "
                             f"{'needs' if self.kind in HYGIENE else 'cannot have'} awarded_if")


_FIXED: dict[tuple[int, str], Any] = {}


def read_only(value: Any) -> Any:
    """``value`` with every array in it (in tuples, lists and dict values) made read-only."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for item in value:
            read_only(item)
    elif isinstance(value, dict):
        for item in value.values():
            read_only(item)
    return value


class Context:
    """What a check works with: the sandbox, seeded randomness, the reference, verdicts.

    ``passed(id)`` gives an earlier verdict, but only one the running check
    declared in ``needs``: an undeclared dependency is a grader bug, not a
    silent "False".
    """

    def __init__(self, sandbox: Sandbox, seed: int) -> None:
        self.sandbox = sandbox
        self.seed = seed
        self.verdicts: dict[str, bool] = {}
        self.mistakes: dict[str, str] = {}   # check id -> the known mistake its failure matched
        self.call_failures: dict[str, str] = {}  # check id -> CallFailed.kind that failed it
        self.load_errors: dict[str, str | None] = {}
        self.current: Check | None = None
        self.reference_functions: tuple[str, ...] = ()   # layers answered by the reference
        self.probe: Callable[[str, list[Any]], Any] | None = None
        sandbox.on_callback = self.answer

    def passed(self, check_id: str) -> bool:
        if self.current is None or check_id not in self.current.needs:
            raise UndeclaredNeed(f"{self.current.id if self.current else 'no check'} reads the "
                                 f"verdict of {check_id} without declaring it in needs")
        return self.verdicts[check_id]

    def rng(self, check_id: str) -> np.random.Generator:
        """Randomness for one check: the same for a check whatever ran before it."""
        return np.random.default_rng([self.seed, zlib.crc32(check_id.encode())])

    def fixed(self, key: str, make: Callable[[np.random.Generator], Any]) -> Any:
        """``make(self.rng(key))``, made once per grading process and seed: a large
        input drawn from the rubric's seed, with what the reference computes from it,
        is the same for every submission of a batch. ``key`` names one draw (one
        ``make``); the arrays in what it returns are read-only."""
        index = (self.seed, key)
        if index not in _FIXED:
            _FIXED[index] = read_only(make(self.rng(key)))
        return _FIXED[index]

    @property
    def ref(self) -> dict[str, ModuleType]:
        return reference()

    def answer(self, name: str, args: list[Any]) -> Any:
        """A value the worker asks for while a check's call runs (see Sandbox.on_callback)."""
        if name in self.reference_functions:
            return call_reference_layer(name, args)
        if name.startswith("probe_") and self.probe is not None:
            return self.probe(name, args)
        raise ValueError(f"{name} is not available here")


def expect(*messages: str | None) -> None:
    """Raise Failed with the first message that is not None."""
    for message in messages:
        if message:
            raise Failed(message)


def feedback() -> ModuleType:
    return reference()["feedback"]


def describe(value: Any) -> str:
    """What a returned value is, in a few words."""
    if isinstance(value, Opaque):
        return value.description
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def unpack(func: str, value: Any, names: tuple[str, ...]) -> tuple:
    """``value`` as a tuple of len(names) items, or Failed saying what it was."""
    if isinstance(value, (tuple, list)) and len(value) == len(names):
        return tuple(value)
    got = describe(value)
    if isinstance(value, np.ndarray):
        got = f"a single array of shape {value.shape}"
    raise Failed(f"{func}: returned {got}, expected a tuple ({', '.join(names)}).")


def array_check(func: str, name: str, got: Any, shape: tuple[int, ...]) -> None:
    """Failed unless ``got`` is a finite float array of ``shape``."""
    if isinstance(got, Opaque) or isinstance(got, (dict, str, bytes)):
        raise Failed(f"{func}: {name} is {describe(got)}, expected a float64 array of "
                     f"shape {shape}.")
    if isinstance(got, (tuple, list)):
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Failed(f"{func}: {name} is {describe(got)} that is not a rectangular array "
                         f"of numbers, expected a float64 array of shape {shape}.") from None
    problem = feedback().check_array(func, name, got, shape)
    if problem:
        got_shape = getattr(got, "shape", None)
        wrong_shape = got_shape is not None and tuple(got_shape) != tuple(shape)
        # A wrong shape's hint (transposed, a left-over axis, ...) is a known mistake too.
        raise Failed(problem, mistake=f"{name}: {feedback()._shape_hint(got_shape, shape)}"
                     if wrong_shape else None)


def close_check(func: str, name: str, got: Any, expected: Any, what: str = "the reference",
                tol: float | None = None, mistakes: dict | None = None) -> str:
    """Failed unless ``got`` matches ``expected``; returns a note with the error on success."""
    fb = feedback()
    array_check(func, name, got, np.shape(expected))
    got = np.asarray(got, dtype=np.float64)
    message = fb.check_close(func, name, got, expected, what=what,
                             tol=fb.TOLERANCE if tol is None else tol, known_mistakes=mistakes)
    if message:  # array_check passed, so the values differ: the message's hint is this one
        raise Failed(message, mistake=fb._value_hint(got, np.asarray(expected, dtype=np.float64),
                                                     mistakes or {}))
    return f"{name}: max relative error {fb.rel_error(got, expected):.1e}"


def unchanged_check(func: str, names: tuple[str, ...], before: tuple, after: Any) -> None:
    if not isinstance(after, tuple) or len(after) != len(before):
        raise Failed(f"{func}: could not read its inputs back after the call.")
    for name, old, new in zip(names, before, after, strict=True):
        if isinstance(new, np.ndarray) and new.shape == np.shape(old):
            expect(feedback().check_unchanged(func, name, old, new))
        else:
            raise Failed(f"{func}: its input {name} was replaced by something else during "
                         f"the call.")


def _load(item: Check, ctx: Context) -> None:
    """Import the module a check needs, once; Failed if the submission's file is unusable."""
    if item.module not in ctx.load_errors:
        try:
            ctx.sandbox.load(item.module)
            ctx.load_errors[item.module] = None
        except CallFailed as error:
            text = str(error)
            if error.kind == "raised" and text.startswith("ImportError: "):
                text = text[len("ImportError: "):]
            ctx.load_errors[item.module] = text
    if ctx.load_errors[item.module]:
        raise Failed(f"{item.function}: cannot be graded: {ctx.load_errors[item.module]}.")


def call_failure_text(function: str, error: CallFailed) -> str:
    """A call failure as one sentence for the report."""
    if error.kind == "raised":
        return f"{function} raised {error}"
    return f"{function}: {error}"


def run_check(item: Check, ctx: Context) -> tuple[bool, str]:
    """Run one check; return (passed, output). Never raises (but for KeyboardInterrupt)."""
    ctx.current = item
    try:
        _load(item, ctx)
        note = item.run(ctx)
        return True, note or "passed"
    except Failed as failure:
        if failure.mistake:
            ctx.mistakes[item.id] = failure.mistake
        return False, str(failure)
    except CallFailed as error:
        ctx.call_failures[item.id] = error.kind
        return False, call_failure_text(item.function, error)
    except SandboxRefused:  # nothing may be graded here: not a verdict on one check
        raise
    except Exception as error:  # the grader's own judging failed: this check, not the grade
        return False, (f"{item.function}: could not be judged ({type(error).__name__} in the "
                       f"grader while reading what it returned); no points for this check.")
    finally:
        ctx.current = None


def all_checks(datasets: dict | None = None, train_timeout: float = 30.0) -> list[Check]:
    """Every check, in the order they run: layers, losses, the net, the trainer, training.

    ``datasets``: the rubric's DatasetRule by name (training checks); none without.
    """
    from autograder.checks import fc_net, jacobians, layers, losses, net, training
    found = [*layers.checks(), *losses.checks(), *jacobians.checks(), *net.checks(),
             *fc_net.checks(), *training.checks(train_timeout),
             *training.dataset_checks(datasets or {}, train_timeout)]
    ids = [c.id for c in found]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"two checks share the id(s) {sorted(duplicated)}")
    return found


def known_tests() -> dict[str, str]:
    """Test id -> test name, for every check the rubric's [tests] table lists."""
    return {c.id: c.name for c in all_checks()}
