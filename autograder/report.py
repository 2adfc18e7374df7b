"""The class at a glance: ``report.html`` from a batch's results.

One self-contained page (no network: inline CSS, charts as base64 PNG, no
script): the score histogram, each check's pass rate (worst first), the most
common known mistakes (the hints' categories) with the students who made them,
and the submissions that timed out or could not be graded, with the reasons.
Charts are drawn with matplotlib (the [notebook] extra) on its Agg canvas,
without pyplot; without matplotlib the page has the same tables and says the
charts are missing. Every name and message is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from autograder import grades
from autograder.files import write_text_atomic
from autograder.grade import GRADED

REPORT_HTML = "report.html"
NO_MATPLOTLIB = "charts left out: matplotlib is not installed (pip install 'backprop-hw[notebook]')"
CHARTED_CHECKS = 30  # the worst ones; the table below the chart lists every check
TIME_FAILURES = {"timeout": "timed out", "not_run": "not run (the submission's time ran out)"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; }
img { max-width: 100%; } .note { color: #666; } .bad { color: #a00; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[Any]], numeric: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td class=num>{_e(c)}</td>" if i in numeric else f"<td>{_e(c)}</td>"
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def pass_rates(results: dict[str, dict[str, Any]]) -> list[tuple[grades.Test, int, int]]:
    """[(test, students who passed it, students graded on it)], worst pass rate first,
    over the submissions that were graded (not those that could not be graded at all)."""
    first: dict[str, grades.Test] = {}
    passed: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for data in results.values():
        if grades.status(data)[0] != GRADED:
            continue
        for test in grades.tests(data):
            first.setdefault(test.id, test)
            total[test.id] += 1
            passed[test.id] += test.passed
    order = list(first)  # grading order breaks ties
    rows = [(first[i], passed[i], total[i]) for i in order]
    return sorted(rows, key=lambda row: (row[1] / row[2], order.index(row[0].id)))


def common_mistakes(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """[(function, known mistake, the students who made it)], most students first."""
    hit: dict[tuple[str, str], set[str]] = defaultdict(set)
    for stem, data in results.items():
        for test in grades.tests(data):
            if test.mistake and not test.passed:
                hit[(test.function or test.id, test.mistake)].add(stem)
    return sorted(((f, m, sorted(s)) for (f, m), s in hit.items()),
                  key=lambda row: (-len(row[2]), row[0], row[1]))


def not_graded(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    """[[student, what happened, why]] for submissions that could not be graded at all,
    that the grader failed on, with a file that could not be used, or whose calls timed
    out."""
    rows = []
    for stem, data in results.items():
        state, reason = grades.status(data)
        if state != GRADED:
            rows.append([stem, state, reason])
        elif reason:  # graded, without a file it could not import
            rows.append([stem, "a file could not be used", reason])
        slow: dict[str, list[str]] = defaultdict(list)
        for test in grades.tests(data):
            if test.call_failure in TIME_FAILURES:
                slow[TIME_FAILURES[test.call_failure]].append(test.function or test.id)
        for what, functions in slow.items():
            names = sorted(set(functions))
            rows.append([stem, what, f"{len(functions)} test(s): " + ", ".join(names)])
    return rows


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)  # fixed margins: "tight" draws twice
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def charts(totals: list[float], max_score: float,
           rates: list[tuple[grades.Test, int, int]]) -> list[str] | None:
    """Two <img> tags (the score histogram, the pass rates), or None without matplotlib."""
    try:
        from matplotlib.figure import Figure  # its own Agg canvas: no pyplot, no global state
    except ImportError:
        return None
    images, shown, total = [], min(len(rates), CHARTED_CHECKS), len(rates)
    figure = Figure(figsize=(8, 3))
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.17, top=0.9)
    axes = figure.subplots()
    axes.hist(totals, bins=20, range=(0, max_score or 1), color="#4878a8", edgecolor="white")
    axes.set_xlabel(f"total score (of {max_score:g})")
    axes.set_ylabel("students")
    axes.set_title(f"scores of {len(totals)} student(s)")
    images.append(_png(figure))
    rates = rates[:CHARTED_CHECKS]
    if rates:
        height = 0.8 + 0.16 * len(rates)
        figure = Figure(figsize=(8, height))
        figure.subplots_adjust(left=0.3, right=0.98, bottom=0.5 / height, top=1 - 0.35 / height)
        axes = figure.subplots()
        labels = [test.id for test, _, _ in rates]
        values = [100 * p / n for _, p, n in rates]
        axes.barh(range(len(rates)), values, color=["#c0504d" if v < 50 else "#4878a8"
                                                     for v in values])
        axes.set_yticks(range(len(rates)), labels, fontsize=7)
        axes.set_ylim(len(rates) - 0.5, -0.5)  # worst at the top
        axes.set_xlim(0, 100)
        axes.set_xlabel("students who pass (%)")
        axes.set_title(f"pass rate of the {len(rates)} worst checks" if shown < total else
                       "pass rate of each check, worst first")
        images.append(_png(figure))
    return images


def render(results: dict[str, dict[str, Any]], title: str = "backprop-hw class report"
           ) -> tuple[str, str]:
    """(the page, a note: "" or why the charts are missing) for {student: results}."""
    totals = list(grades.class_totals(results).values())
    states = [grades.status(d)[0] for d in results.values()]
    columns = grades.legend(results)
    max_score = sum(t.max_score for t in columns.values())
    rates = pass_rates(results)
    images = charts(totals, max_score, rates)
    parts = [f"<h1>{_e(title)}</h1>"]
    counts = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
    if totals:
        over = "" if len(totals) == len(results) else (
            f" (over the {len(totals)} the grader did not fail on)")
        parts.append(f"<p>{len(results)} student(s): {_e(counts)}. Mean "
                     f"{statistics.mean(totals):.1f}, median {statistics.median(totals):g}, "
                     f"max {max(totals):g} of {max_score:g} points{over}.</p>")
    elif results:
        parts.append(f"<p>{len(results)} student(s): {_e(counts)}.</p>")
    else:
        parts.append("<p>No results yet.</p>")
    if images is None:
        parts.append(f"<p class=note>{_e(NO_MATPLOTLIB)}; the tables below are complete.</p>")
    parts.append("<h2>Scores</h2>")
    if images:
        parts.append(images[0])
    bins = _score_bins(totals, max_score)
    parts.append(_table(["score", "students"], bins, numeric=(1,)))
    graded = sum(s == GRADED for s in states)
    parts.append(f"<h2>Pass rate of each check</h2><p class=note>Over the {graded} graded "
                 f"submission(s); those that could not be graded at all are left out. "
                 f"Worst first.</p>")
    if images and len(images) > 1:
        parts.append(images[1])
    parts.append(_table(["check", "function", "what it checks", "passed", "pass rate"],
                        [[t.id, t.function, t.name, f"{p}/{n}", f"{100 * p / n:.0f}%"]
                         for t, p, n in rates], numeric=(3, 4)))
    mistakes = common_mistakes(results)
    parts.append("<h2>Most common known mistakes</h2>")
    parts.append(_table(["function", "likely mistake", "students", "who"],
                        [[f, m, len(s), ", ".join(s)] for f, m, s in mistakes], numeric=(2,))
                 if mistakes else "<p>None of the known mistakes was seen.</p>")
    problems = not_graded(results)
    parts.append("<h2>Timed out or not graded</h2>")
    parts.append(_table(["student", "what happened", "why"], problems) if problems
                 else "<p>Every submission was graded within its time.</p>")
    page = (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    return page, "" if images is not None else f" ({NO_MATPLOTLIB})"


def _score_bins(totals: list[float], max_score: float, bins: int = 10) -> list[list[Any]]:
    """[[range, students]] in ``bins`` equal ranges of the score (the histogram as a table)."""
    width = (max_score or 1) / bins
    counts = [0] * bins
    for total in totals:
        counts[min(int(total / width), bins - 1)] += 1
    return [[f"{i * width:g} to {(i + 1) * width:g}" + (" (incl.)" if i == bins - 1 else ""),
             count] for i, count in enumerate(counts)]


def write_report(outdir: Path, results: dict[str, dict[str, Any]] | None = None
                 ) -> tuple[Path, str]:
    """Write ``outdir/report.html`` from ``results`` ({stem: results}; default: every
    ``*.json`` in ``outdir``). Returns its path and a note ("" or why charts are missing)."""
    if results is None:
        results = grades.read_all(outdir)
    page, note = render({stem: data for stem, data in results.items() if data is not None})
    path = Path(outdir) / REPORT_HTML
    write_text_atomic(page, path)
    return path, note
