"""``--format sarif``: the reports as one SARIF 2.1.0 log, the format GitHub
code scanning and other analysers' dashboards read (README, "Reports that explain").

One run per invocation; one result per failure mode (level ``error``), per
block error (``error``) and per broadcast warning (``warning``, or ``error``
with strict). The explanation (condition, hint, nearest pass, branches) is in
the message and in each result's ``properties``.
"""

from __future__ import annotations

import json
from pathlib import PurePath

from .._show import show_value
from .._usercode import relative_path
from .._version import __version__
from ._words import ALL_RULES, ERROR_WORDS, FAILURE_WORDS, WARNING_WORDS, checked_on, error_verb, headline
from .json import plain as _plain

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(reports, call_lines: bool = False, scope=None) -> str:
    """The SARIF document for ``reports`` (a list of `Report`), ending with a
    newline; results only (blocks not checked, ``scope``, are not listed)."""
    rule_ids = [words.rule for words in ALL_RULES]
    results = []
    for report in reports:
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
            results.append(_result(words.rule, "error", lines, failure.location, properties, rule_ids))
        for error in report.errors:
            lines = [f"{report.target}: the block {error_verb(error.type)}: {error.message}", f"call: {error.call}"]
            properties = {"target": report.target, "example": _plain(error.example), "call": error.call}
            results.append(_result(ERROR_WORDS.rule, "error", lines, error.location, properties, rule_ids))
        for warning in report.warnings:
            lines = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            properties = {"target": report.target, "example": _plain(warning.example), "call": warning.call}
            level = "error" if report.strict else "warning"
            results.append(_result(WARNING_WORDS.rule, level, lines, warning.location, properties, rule_ids))
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


def _result(rule_id: str, level: str, lines: list[str], location, properties: dict, rule_ids: list[str]) -> dict:
    result = {
        "ruleId": rule_id,
        "ruleIndex": rule_ids.index(rule_id),
        "level": level,
        "message": {"text": "\n".join(lines)},
        "properties": properties,
    }
    if location is not None:
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(relative_path(location.file))},
            "region": {"startLine": location.line},
        }}]
    return result


def _uri(path: str) -> str:
    """A relative path as a relative URI; an absolute one as a file URI."""
    pure = PurePath(path)
    return pure.as_uri() if pure.is_absolute() else pure.as_posix()
