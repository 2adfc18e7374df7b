"""TeX formulas as SVG images, drawn at build time by matplotlib's mathtext (no network, no TeX).

mathtext implements a subset of TeX. ``to_mathtext`` maps the few constructs of the
notebook that it lacks onto ones it has (``\\le`` is ``\\leq``, ``\\underbrace{x}_{s}``
becomes ``\\underset{s}{x}``, ...); ``aligned`` environments are laid out as a grid of
separately drawn cells. A formula that still does not draw, or that needs a glyph the fonts
lack, raises ``UnsupportedFormula`` naming it, so no formula ever reaches a page as raw TeX.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
from dataclasses import dataclass
from functools import cache

FONT_SIZE = 10.0  # points; sizes are given to the page in em, so this fixes only the detail
DISPLAY_SCALE = 1.15  # displayed formulas are drawn a little larger than inline ones

# TeX spellings that mathtext knows under another name (whole control words only).
_SYNONYMS = {
    r"\le": r"\leq", r"\ge": r"\geq", r"\lVert": r"\Vert", r"\rVert": r"\Vert",
    r"\texttt": r"\mathtt", r"\tfrac": r"\frac",
    r"\bigl": r"\left", r"\Bigl": r"\left", r"\bigr": r"\right", r"\Bigr": r"\right",
    r"\textstyle": "", r"\displaystyle": "",
}
_CONTROL_WORD = re.compile(r"\\[A-Za-z]+")
_FRAC_SHORT = re.compile(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])")  # \frac1N
_ALIGNED = re.compile(r"^\s*\\begin\{aligned\}(?P<body>.*)\\end\{aligned\}\s*$", re.S)


class UnsupportedFormula(ValueError):
    """A formula that mathtext cannot draw as written."""


@dataclass(frozen=True)
class Drawing:
    """One formula drawn as SVG; sizes in em of the page's text, depth below the baseline."""

    svg: bytes
    width: float
    height: float
    depth: float


def _group(tex: str, start: int) -> int:
    """The index just past the brace group (or single token) that starts at ``start``."""
    if tex[start] != "{":
        return start + 1
    depth = 0
    for index in range(start, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[index], 0)
        if depth == 0:
            return index + 1
    raise UnsupportedFormula(f"unbalanced braces in {tex!r}")


def _underbraces(tex: str) -> str:
    r"""``\underbrace{x}_{s}`` as ``\underset{s}{x}``: the label under the term, no brace."""
    while (start := tex.find(r"\underbrace")) >= 0:
        body_start = start + len(r"\underbrace")
        body_end = _group(tex, body_start)
        label_end = body_end
        if tex.startswith("_", body_end):
            label_end = _group(tex, body_end + 1)
        label = tex[body_end + 1:label_end] if label_end > body_end else "{}"
        tex = f"{tex[:start]}\\underset{{{label.strip('{}')}}}{tex[body_start:body_end]}" \
              f"{tex[label_end:]}"
    return tex


def to_mathtext(tex: str, display: bool = False) -> str:
    """``tex`` in the dialect mathtext parses (one formula, no ``aligned`` environment).

    mathtext draws every ``\\frac`` in text style; a displayed formula asks for ``\\dfrac``.
    """
    tex = " ".join(tex.split())
    tex = _CONTROL_WORD.sub(lambda m: _SYNONYMS.get(m.group(0), m.group(0)), tex)
    tex = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", tex)
    if display:
        tex = re.sub(r"\\frac(?![A-Za-z])", r"\\dfrac", tex)
    return _underbraces(tex)


class _GlyphWarnings(logging.Handler):
    """Collects mathtext's "substituting with a dummy symbol" warnings while drawing."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _minified(svg: bytes) -> bytes:
    """matplotlib's SVG without its prolog, comments, background and line breaks."""
    text = svg.decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r'<g id="patch_1">.*?</g>', "", text, count=1, flags=re.S)
    return re.sub(r"\s+", " ", text).replace("> <", "><").encode("utf-8")


def draw(tex: str, display: bool = False) -> Drawing:
    """One formula (TeX without its ``$`` delimiters) as an SVG image with its metrics."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    source = f"${to_mathtext(tex, display)}$"
    size = FONT_SIZE * (DISPLAY_SCALE if display else 1.0)
    warnings = _GlyphWarnings()
    logger = logging.getLogger("matplotlib.mathtext")
    logger.addHandler(warnings)
    try:
        with rc_context({"mathtext.fontset": "cm", "svg.fonttype": "path",
                         "svg.hashsalt": "backprop-hw", "font.size": size}):
            prop = FontProperties(size=size)
            try:
                width, height, depth, _, _ = MathTextParser("path").parse(source, 72, prop)
            except ValueError as error:
                reason = str(error).strip().splitlines()[-1]
                raise UnsupportedFormula(f"mathtext cannot draw ${tex}$: {reason}") from None
            figure = Figure(figsize=(width / 72, height / 72))
            figure.text(0, depth / height, source, fontproperties=prop)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", transparent=True,
                           metadata={"Date": None, "Creator": None, "Format": None,
                                     "Type": None})
    finally:
        logger.removeHandler(warnings)
    if warnings.messages:
        raise UnsupportedFormula(f"mathtext cannot draw ${tex}$: {warnings.messages[0]}")
    # At 72 dpi mathtext measures in points; the surrounding text's em is FONT_SIZE points.
    return Drawing(_minified(buffer.getvalue()), width / FONT_SIZE, height / FONT_SIZE,
                   depth / FONT_SIZE)


def _attribute(tex: str) -> str:
    # '|' would end a markdown table cell, even inside an attribute.
    return html.escape(" ".join(tex.split())).replace("|", "&#124;")


@cache  # a notebook repeats many formulas ($N$, ...)
def _img(tex: str, display: bool, whole: bool = True) -> str:
    """An image of ``tex``; ``whole``: the formula itself (role "math"), not a part of one."""
    drawing = draw(tex, display)
    data = base64.b64encode(drawing.svg).decode("ascii")
    role = ' role="math"' if whole else ""
    return (f'<img class="tex"{role} alt="{_attribute(tex)}" '
            f'src="data:image/svg+xml;base64,{data}" '
            f'style="width:{drawing.width:.3f}em;height:{drawing.height:.3f}em;'
            f'vertical-align:{-drawing.depth:.3f}em">')


def _aligned(tex: str, body: str) -> str:
    """An ``aligned`` environment as a grid: columns alternately right and left aligned."""
    rows = [[cell.strip() for cell in row.split("&")]
            for row in re.split(r"\\\\", body) if row.strip()]
    columns = max(len(row) for row in rows)
    cells = []
    for row in rows:
        for index in range(columns):
            cell = row[index] if index < len(row) else ""
            # the right-hand column of each pair starts with what follows '&' ('= x'),
            # drawn after an empty group so that a relation keeps its spacing.
            tex = ("{}" + cell) if index % 2 and cell else cell
            side = "left" if index % 2 else "right"
            gap = "padding-left:2em;" if index % 2 == 0 and index else ""
            cells.append(f'<span style="text-align:{side};{gap}">'
                         f'{_img(tex, True, whole=False) if cell else ""}</span>')
    return (f'<span class="tex-display" role="math" aria-label="{_attribute(tex)}">'
            f'<span class="tex-aligned" style="display:inline-grid;'
            f'grid-template-columns:repeat({columns},auto);row-gap:0.4em;'
            f'align-items:baseline">{"".join(cells)}</span></span>')


def formula_html(tex: str, display: bool) -> str:
    """The HTML that shows one formula: an inline image, or a centred block for display."""
    if not display:
        return _img(tex, False)
    aligned = _ALIGNED.match(tex)
    if aligned:
        return _aligned(tex, aligned.group("body"))
    return f'<span class="tex-display">{_img(tex, True)}</span>'


# Math in markdown: fenced code and code spans are skipped, so their '$' stay as written.
_MARKDOWN_MATH = re.compile(
    r"(?P<fence>^(?P<ticks>```|~~~).*?^(?P=ticks)[ \t]*$)"
    r"|(?P<code>(?P<backticks>`+).+?(?P=backticks))"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$])\$(?P<inline>[^$]+?)\$",
    re.S | re.M)


def formulas(markdown: str) -> list[tuple[str, bool]]:
    """Every formula of a markdown text: ``(tex, display)``, in order."""
    return [(m.group("display"), True) if m.group("display") is not None
            else (m.group("inline"), False)
            for m in _MARKDOWN_MATH.finditer(markdown)
            if m.group("display") is not None or m.group("inline") is not None]


def render_markdown_math(markdown: str) -> str:
    """``markdown`` with each formula replaced by the HTML that shows it."""
    def replace(match: re.Match) -> str:
        if match.group("display") is not None:
            return formula_html(match.group("display"), display=True)
        if match.group("inline") is not None:
            return formula_html(match.group("inline"), display=False)
        return match.group(0)
    return _MARKDOWN_MATH.sub(replace, markdown)
