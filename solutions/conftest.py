"""pytest's settings for the local tests: ``--only`` and the points table.

This file is complete: you do not need to change it.

``pytest --only affine_backward`` runs only the tests of that function (the
notebook's ``check(...)`` uses it). A full ``pytest`` run ends with a table of
the rubric's points per function: a function earns its points in the
autograder when all of its tests here pass (the autograder checks the same
things on other inputs, and also trains your net on held-out datasets, which
is not counted here).
"""

import json
from pathlib import Path

import pytest

POINTS_FILE = Path(__file__).resolve().parent / "points.json"
_TESTS = pytest.StashKey[dict]()  # node id -> the functions its grades mark names
TIP = ("Tip: `pytest -x` stops at the first failure; `pytest -k affine` runs only the tests "
       "whose names contain 'affine'.")


_OUTCOMES = pytest.StashKey[dict]()  # node id -> passed, for every test run so far


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    outcomes = item.config.stash.setdefault(_OUTCOMES, {})
    if report.failed:
        outcomes[item.nodeid] = False
    elif report.when == "call":
        outcomes.setdefault(item.nodeid, True)


@pytest.fixture(scope="session")
def test_outcomes(request):
    """{node id: passed} of the tests run so far in this session (kept up to date): the
    nets' tests take the layers' verdicts from it after a run of test_layers.py."""
    return request.config.stash.setdefault(_OUTCOMES, {})


def pytest_addoption(parser):
    parser.addoption("--only", action="append", default=[], metavar="FUNCTION",
                     help="run only the tests whose grades mark names FUNCTION "
                          "(TwoLayerNet covers TwoLayerNet.loss, ...)")


def _functions(item):
    return [f for mark in item.iter_markers("grades") for f in mark.args]


def _judges(item, wanted):
    return any(function == w or function.startswith((w + ".", w + " "))
               for function in _functions(item) for w in wanted)


# The order of the assignment: layers first, then the nets built from them.
FILE_ORDER = ("test_layers.py", "test_two_layer_net.py", "test_fc_net.py")


def _file_rank(item):
    name = item.nodeid.split("::")[0]
    return FILE_ORDER.index(name) if name in FILE_ORDER else len(FILE_ORDER)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_file_rank)  # stable: each file keeps its own order
    wanted = config.getoption("only")
    config.stash[_TESTS] = {item.nodeid: _functions(item) for item in items}
    if not wanted:
        return
    kept = [item for item in items if _judges(item, wanted)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tests = config.stash.get(_TESTS, {})
    if config.getoption("only") or not tests:
        return
    try:
        points = json.loads(POINTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        points = {}
    failed = {report.nodeid for kind in ("failed", "error")
              for report in terminalreporter.stats.get(kind, [])}
    ran = {report.nodeid for report in terminalreporter.stats.get("passed", [])} | failed
    rows, earned, possible = [], 0.0, 0.0
    for function in points or sorted({f for fs in tests.values() for f in fs}):
        mine = [node for node, functions in tests.items() if function in functions]
        if not mine:
            continue
        bad = [node for node in mine if node in failed or node not in ran]
        worth = float(points.get(function, 0.0))
        possible += worth
        if bad:
            score = f"below {worth:g}" if worth else "fails"
            rows.append((function, f"{score} / {worth:g}" if worth else score,
                         f"{len(bad)} of {len(mine)} tests fail or did not run"))
        else:
            earned += worth
            rows.append((function, f"{worth:g} / {worth:g}" if worth else "passes", ""))
    write = terminalreporter.write_line
    terminalreporter.section("points by function")
    width = max(len(name) for name, _, _ in rows) + 2
    for name, score, why in rows:
        write(f"  {name:<{width}}{score:>14}   {why}".rstrip())
    if points:
        write(f"  {'total':<{width}}{earned:>7g} / {possible:g}   (functions whose tests all "
              f"pass; held-out training not counted)")
    write(TIP)

