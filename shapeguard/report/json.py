"""``--format json``: the documented JSON document (docs/reference/json.md).

The JSON form is a contract: fields are only ever added. Each record writes
its own fields (``to_dict``); this module writes the document around them and
the shared pieces (locations and chains, paths relative to the current folder).
"""

from __future__ import annotations

import json

from .._show import show_value
from .._usercode import relative_path
from .._version import __version__
from .scope import Scope, tally


def reports_to_json(reports, indent: int | None = 2, scope: Scope | None = None) -> str:
    """The documented JSON document for one or more targets: the reports,
    the summary's counts and the blocks found but not checked (``scope``)."""
    document = {
        "shapeguard": __version__,
        "targets": [r.to_dict() for r in reports],
        "summary": tally(reports, scope),
        "not_checked": [
            {"target": n.target, "reason": n.reason,
             "location": None if n.file is None else {"file": relative_path(n.file), "line": n.line}}
            for n in (scope.not_checked if scope is not None else ())
        ],
    }
    return json.dumps(_writable(document), indent=indent, default=show_value)


def _writable(value):
    """The document with every value JSON can take as it is, sets and other
    objects as `show_value` writes them (sets sorted: their order changes
    from run to run), and a dict with keys JSON cannot take as one string."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _writable(v) for k, v in value.items()}
        return show_value(value)
    if isinstance(value, (list, tuple)):
        return [_writable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return show_value(value)


def render_json(reports, call_lines: bool = False, scope: Scope | None = None) -> str:
    return reports_to_json(reports, scope=scope) + "\n"


def location_dict(location) -> dict | None:
    return None if location is None else {"file": relative_path(location.file), "line": location.line}


def chain_list(chain) -> list[str]:
    """``["blocks.py:40 MyStack.call", "blocks.py:12 ResidualUnit.call"]``"""
    return [f"{relative_path(file)}:{line} {function}" for file, line, function in chain]


def plain(value):
    """JSON-safe copy (functions and classes by dotted name)."""
    return json.loads(json.dumps(_writable(value), default=show_value))
