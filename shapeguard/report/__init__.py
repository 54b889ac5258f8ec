"""The report of a check, and every rendering of it side by side.

`Report` and its records (`records`) are plain data; each format is one
module with one function ``render_<format>(reports, call_lines=False,
scope=None) -> str`` (the whole output, ending with a newline; ``scope``, a
`Scope`, says what the run found besides the reports), listed once in `RENDERERS`, the
table the command line reads (modelled on flake8's ``formatting/``). The
words each format uses for a kind come from `_words`.
"""

from __future__ import annotations

from .github import render_github
from .html import render_html_all
from .json import render_json, reports_to_json
from .records import BlockError, BroadcastWarning, Failure, Location, Report
from .sarif import render_sarif
from .scope import NotChecked, Scope
from .text import render as render_text_all

RENDERERS = {
    "text": render_text_all,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
    "html": render_html_all,
}


def render(reports: list, fmt: str, call_lines: bool = False, scope: Scope | None = None) -> str:
    """The whole output for ``fmt`` (a key of `RENDERERS`), ending with a newline;
    ``call_lines``: see `Report.render`; ``scope``: what was found besides the reports."""
    return RENDERERS[fmt](reports, call_lines, scope)


__all__ = ["RENDERERS", "BlockError", "BroadcastWarning", "Failure", "Location", "NotChecked", "Report", "Scope",
           "render", "reports_to_json"]
