"""The grader's checks: small functions, registered with an id and a test name.

A check gets a ``Context`` (the sandbox running the submission, seeded
randomness, the reference) and either returns (passed, with an optional
note) or raises ``Failed`` with one sentence. A failure inside the
submission (an exception, a hang, a crash) fails only the check that hit it.
Points and visibility are not here: they come from the rubric by id.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from autograder.reference import reference
from autograder.sandbox import CallFailed, Opaque, Sandbox


class Failed(Exception):
    """A check's verdict: the submission does not do what the test asks."""


@dataclass(frozen=True)
class Check:
    """One graded test: ``run(ctx)`` passes or raises Failed."""

    id: str
    name: str
    module: str
    run: Callable[[Context], str | None]
    needs: tuple[str, ...] = ()  # checks whose verdicts this one reads from ctx.passed

    @property
    def function(self) -> str:
        return self.name.split(":", 1)[0]


@dataclass
class Context:
    """What a check works with. ``passed`` records earlier verdicts, by check id."""

    sandbox: Sandbox
    seed: int
    passed: dict[str, bool] = field(default_factory=dict)
    load_errors: dict[str, str | None] = field(default_factory=dict)

    def rng(self, check_id: str) -> np.random.Generator:
        """Randomness for one check: the same for a check whatever ran before it."""
        return np.random.default_rng([self.seed, zlib.crc32(check_id.encode())])

    @property
    def ref(self) -> dict[str, ModuleType]:
        return reference()


CHECKS: list[Check] = []


def register(check_id: str, name: str, module: str, run: Callable[[Context], str | None],
             needs: tuple[str, ...] = ()) -> None:
    if any(c.id == check_id for c in CHECKS):
        raise ValueError(f"two checks have the id {check_id!r}")
    CHECKS.append(Check(check_id, name, module, run, needs))


def check(check_id: str, name: str, module: str = "layers", needs: tuple[str, ...] = ()):
    """Decorator form of ``register``."""
    def wrap(run: Callable[[Context], str | None]) -> Callable[[Context], str | None]:
        register(check_id, name, module, run, needs)
        return run
    return wrap


def expect(*messages: str | None) -> None:
    """Raise Failed with the first message that is not None."""
    for message in messages:
        if message:
            raise Failed(message)


def feedback() -> ModuleType:
    return reference()["feedback"]


def unpack(func: str, value: Any, names: tuple[str, ...]) -> tuple:
    """``value`` as a tuple of len(names) items, or Failed saying what it was."""
    if isinstance(value, (tuple, list)) and len(value) == len(names):
        return tuple(value)
    if isinstance(value, (tuple, list)):
        got = f"a {type(value).__name__} of {len(value)} items"
    elif isinstance(value, Opaque):
        got = value.description
    elif isinstance(value, np.ndarray):
        got = f"a single array of shape {value.shape}"
    else:
        got = "None" if value is None else f"a {type(value).__name__}"
    raise Failed(f"{func}: returned {got}, expected a tuple ({', '.join(names)}).")


def array_check(func: str, name: str, got: Any, shape: tuple[int, ...]) -> None:
    """Failed unless ``got`` is a finite float array of ``shape``."""
    if isinstance(got, Opaque):
        raise Failed(f"{func}: {name} is {got.description}, expected a float64 array of "
                     f"shape {shape}.")
    expect(feedback().check_array(func, name, got, shape))


def close_check(func: str, name: str, got: Any, expected: Any, what: str = "the reference",
                tol: float | None = None, mistakes: dict | None = None) -> str:
    """Failed unless ``got`` matches ``expected``; returns a note with the error on success."""
    fb = feedback()
    array_check(func, name, got, np.shape(expected))
    expect(fb.check_close(func, name, got, expected, what=what,
                          tol=fb.TOLERANCE if tol is None else tol, known_mistakes=mistakes))
    return f"{name}: max relative error {fb.rel_error(got, expected):.1e}"


def same_as_reference(func: str, what: str, got: np.ndarray, expected: np.ndarray) -> None:
    """Failed unless the submission's values on perturbed inputs are the reference's.

    A numeric gradient is only as good as the values it comes from: a function
    that is right at the test point but not next to it must not pass a gradient
    check on the strength of its own numbers.
    """
    err = feedback().rel_error(got, expected)
    if np.shape(got) != np.shape(expected) or not err <= feedback().TOLERANCE:
        raise Failed(f"{func}: {what} differ from the reference's (max relative error "
                     f"{err:.1e}), so its numeric gradient cannot be trusted.")


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
            if text.startswith("ImportError: "):
                text = text[len("ImportError: "):]
            ctx.load_errors[item.module] = text
    if ctx.load_errors[item.module]:
        raise Failed(f"{item.function}: cannot be graded: {ctx.load_errors[item.module]}.")


def run_check(item: Check, ctx: Context) -> tuple[bool, str]:
    """Run one check; return (passed, output). Never raises for submission faults."""
    try:
        _load(item, ctx)
        note = item.run(ctx)
        return True, note or "passed"
    except Failed as failure:
        return False, str(failure)
    except CallFailed as error:
        text = str(error)
        if text[:1].isupper():  # an exception from the submission: "ValueError: ..."
            return False, f"{item.function} raised {text}"
        return False, f"{item.function}: {text}"


def known_tests() -> dict[str, str]:
    """Test id -> test name, for every check the grader has (training aside)."""
    from autograder.checks import layers, losses, net  # noqa: F401  (they register)
    return {c.id: c.name for c in CHECKS}
