"""The reference solution, loaded into the grading process under private names.

Only trusted code is imported here: solutions/ is ours. The modules get
names of their own so that they never clash with a ``layers`` module that
anything else might import.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import threading
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from autograder.paths import SOLUTIONS

_PREFIX = "backprop_hw_reference"
_LOADING = threading.Lock()  # loading swaps sys.modules entries: one thread at a time


def _load(name: str) -> ModuleType:
    qualified = f"{_PREFIX}.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, SOLUTIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


@cache
def reference() -> dict[str, ModuleType]:
    """The reference modules by their file names: layers, two_layer_net, fc_net, ...

    The solution files import each other by plain name (``from layers import
    ...``); while they load, those plain names point at the private copies.
    """
    names = ("gradient_check", "feedback", "layers", "two_layer_net", "fc_net")
    with _LOADING:
        saved = {name: sys.modules.get(name) for name in names}
        try:
            modules = {}
            for name in names:
                modules[name] = sys.modules[name] = _load(name)
            return modules
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module


_BUILT: dict[tuple, Any] = {}


def _template(cls: type, args: tuple, kwargs: dict[str, Any]) -> Any:
    key = (cls, repr(args), repr(sorted(kwargs.items())))
    template = _BUILT.get(key)
    if template is None:
        template = _BUILT[key] = cls(*args, **kwargs)
        for value in template.params.values():  # never computed with: net_with copies
            value.setflags(write=False)
    return template


def initial_params(cls: type, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
    """The params a reference net ``cls(*args, **kwargs)`` starts with, read-only, drawn
    once per constructor call (its seed makes them the same every time)."""
    return dict(_template(cls, args, kwargs).params)


def net_with(cls: type, params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """A reference net ``cls(*args, **kwargs)`` holding float64 copies of ``params``
    (only the names its own params have).

    The net is built once per constructor call and copied after: its ``__init__``
    draws initial weights that would be thrown away, and a grade builds a hundred
    of these nets (a probe's every step builds one). A shallow copy: besides
    ``params``, which is replaced, the reference nets hold only immutable settings.
    """
    template = _template(cls, args, kwargs)
    net = copy.copy(template)
    net.params = {name: np.array(params[name], dtype=np.float64) for name in template.params}
    return net
