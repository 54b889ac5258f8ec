"""``--format sarif``: the reports as one SARIF 2.1.0 log, the format GitHub
code scanning and other analysers' dashboards read (README, "Reports that explain").

One run per invocation; one result per failure mode (level ``error``), per
block error (``error``) and per broadcast warning (``warning``, or ``error``
with strict). The explanation (condition, hint, nearest pass, branches) is in
the message and in each result's ``properties``.

Every result has a location, since GitHub code scanning refuses a whole log
for one result without: its own line, else the target's ``def``/``class``
line (`Report.definition`). URIs are relative references, percent-encoded,
to the root GitHub resolves them against: the repository around the current
directory (the nearest folder above it with ``.git``), else the current
directory. A file outside that root gets a relative reference too, climbing
out with ``..`` (it cannot be mistaken for a file of the repository, and
code scanning accepts it); only a file with no relative path at all (another
drive on Windows) gets an absolute ``file:`` URI.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path, PurePath
from urllib.parse import quote

from .._show import show_value
from .._version import __version__
from ._words import ALL_RULES, ERROR_WORDS, FAILURE_WORDS, WARNING_WORDS, checked_on, error_verb, headline
from .json import plain as _plain

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(reports, call_lines: bool = False, scope=None) -> str:
    """The SARIF document for ``reports`` (a list of `Report`), ending with a
    newline; results only (blocks not checked, ``scope``, are not listed)."""
    rule_ids = [words.rule for words in ALL_RULES]
    results = []
    root = _root()
    for report in reports:
        result = functools.partial(_result, rule_ids=rule_ids, definition=report.definition, root=root)
        for failure in report.failures:
            words = FAILURE_WORDS[failure.kind]
            lines = [f"{report.target}: {headline(failure)}", f"{words.source}: {failure.message}",
                     f"minimal call: {failure.call}"]
            if failure.condition:
                lines.append(f"when: {failure.condition['text']} (checked on {checked_on(failure.condition)})")
            if failure.hint:
                lines.append(f"fix: {failure.hint}")
            if failure.nearest_pass:
                lines.append(f"nearest pass: {failure.nearest_pass['call']}")
            properties = {"target": report.target, "example": _plain(failure.example), "call": failure.call,
                          "condition": failure.condition, "hint": failure.hint,
                          "nearest_pass": _plain(failure.nearest_pass),
                          "branches": [b.text() for b in failure.branches]}
            results.append(result(words.rule, "error", lines, failure.location, properties))
        for error in report.errors:
            lines = [f"{report.target}: the block {error_verb(error.type)}: {error.message}", f"call: {error.call}"]
            properties = {"target": report.target, "example": _plain(error.example), "call": error.call}
            results.append(result(ERROR_WORDS.rule, "error", lines, error.location, properties))
        for warning in report.warnings:
            lines = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            properties = {"target": report.target, "example": _plain(warning.example), "call": warning.call}
            level = "error" if report.strict else "warning"
            results.append(result(WARNING_WORDS.rule, level, lines, warning.location, properties))
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "shapeguard",
                "version": __version__,
                "rules": [
                    {"id": words.rule, "name": words.rule.split("/")[1], "shortDescription": {"text": words.short},
                     "fullDescription": {"text": words.full}}
                    for words in ALL_RULES
                ],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, default=show_value) + "\n"


def _result(rule_id: str, level: str, lines: list[str], location, properties: dict, rule_ids: list[str],
            definition, root: str) -> dict:
    if location is None and definition is not None:
        lines = [*lines, "shown at the block's definition: no line of its own is known"]
        location = definition
    result = {
        "ruleId": rule_id,
        "ruleIndex": rule_ids.index(rule_id),
        "level": level,
        "message": {"text": "\n".join(lines)},
        "properties": properties,
    }
    if location is not None:
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": uri(location.file, root)},
            "region": {"startLine": location.line},
        }}]
    return result


def _root() -> str:
    """The folder relative URIs start from: the repository around the current
    directory (code scanning resolves them against the repository's root),
    else the current directory."""
    here = Path.cwd()
    return str(next((folder for folder in (here, *here.parents) if (folder / ".git").exists()), here))


def uri(path: str, root: str) -> str:
    """``path`` as a percent-encoded relative reference from ``root`` (with
    ``..`` when it is outside), or a ``file:`` URI when no relative path
    exists (another drive)."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:
        return PurePath(absolute).as_uri()
    return quote(PurePath(relative).as_posix(), safe="/")
