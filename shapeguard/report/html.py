"""The report in a notebook (``_repr_html_``): its text, and the grid as an HTML table."""

from __future__ import annotations

import html

from .._show import show_value
from ._words import LEGEND, MARKS


def render_html(report) -> str:
    """The report for Jupyter: its text, and the grid as an HTML table."""
    parts = [f"<div class='shapeguard-report'><pre>{html.escape(str(report))}</pre>"]
    g = getattr(report, "grid", None)
    if g:
        colours = {"pass": "#c8e6c9", "fail": "#ffcdd2", "some": "#fff3c4", "none": "#ffffff"}
        head = "".join(f"<th>{html.escape(show_value(v))}</th>" for v in g["column_values"])
        body = []
        for value, line in zip(g["row_values"], g["cells"]):
            cells = "".join(f"<td style='background:{colours[c]};text-align:center'>{MARKS[c]}</td>" for c in line)
            body.append(f"<tr><th>{html.escape(g['rows'])}={html.escape(show_value(value))}</th>{cells}</tr>")
        parts.append(f"<table><caption>{html.escape(g['rows'])} down, {html.escape(g['columns'])} across: "
                     f"{html.escape(LEGEND)}</caption><tr><th></th>{head}</tr>{''.join(body)}</table>")
    parts.append("</div>")
    return "".join(parts)


def render_html_all(reports, call_lines: bool = False, scope=None) -> str:
    return "".join(render_html(report) for report in reports) + "\n"
