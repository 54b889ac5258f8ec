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

from ._version import __version__
from .space import show_value

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

RULES = {
    "shape": ("shapeguard/shape", "A layer rejected the shapes it was given",
              "A Keras layer or op rejected its input shapes for some arguments of the block."),
    "config": ("shapeguard/config", "A layer rejected its own arguments",
               "A Keras layer rejected its own arguments for some arguments of the block."),
    "error": ("shapeguard/block-error", "The block raised by itself",
              "The block raised an exception of its own: not a shape bug, but these calls could not be judged."),
    "broadcast": ("shapeguard/broadcast", "A merge broadcast a channel of size 1",
                  "An additive merge built only by broadcasting a channel of size 1, usually an unprojected shortcut."),
}


def render_sarif(reports) -> str:
    """The SARIF document for ``reports`` (a list of `Report`)."""
    rule_ids = [rule[0] for rule in RULES.values()]
    results = []
    for report in reports:
        for failure in report.failures:
            lines = [f"{report.target}: {failure.kind} failure: {failure.layer_class}"
                     + (f" '{failure.layer_name}'" if failure.layer_name else "")
                     + (" rejected input shapes " + " and ".join(str(tuple(s)) for s in failure.input_shapes)
                        if failure.kind == "shape" else " rejected its arguments"),
                     f"keras: {failure.message}", f"minimal call: {failure.call}"]
            if failure.condition:
                lines.append(f"when: {failure.condition['text']} (checked on {failure.condition['checked_on']})")
            if failure.hint:
                lines.append(f"fix: {failure.hint}")
            if failure.nearest_pass:
                lines.append(f"nearest pass: {failure.nearest_pass['call']}")
            properties = {"target": report.target, "example": _plain(failure.example), "call": failure.call,
                          "condition": failure.condition, "hint": failure.hint,
                          "nearest_pass": _plain(failure.nearest_pass),
                          "branches": [b.text() for b in failure.branches]}
            results.append(_result(failure.kind, "error", lines, failure.location, properties, rule_ids))
        for error in report.errors:
            lines = [f"{report.target}: the block raised {error.type}: {error.message}", f"call: {error.call}"]
            properties = {"target": report.target, "example": _plain(error.example), "call": error.call}
            results.append(_result("error", "error", lines, error.location, properties, rule_ids))
        for warning in report.warnings:
            lines = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            properties = {"target": report.target, "example": _plain(warning.example), "call": warning.call}
            level = "error" if report.strict else "warning"
            results.append(_result("broadcast", level, lines, warning.location, properties, rule_ids))
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "shapeguard",
                "version": __version__,
                "rules": [
                    {"id": rule_id, "name": rule_id.split("/")[1], "shortDescription": {"text": short},
                     "fullDescription": {"text": full}}
                    for rule_id, short, full in RULES.values()
                ],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, default=show_value)


def _result(kind: str, level: str, lines: list[str], location, properties: dict, rule_ids: list[str]) -> dict:
    rule_id = RULES[kind][0]
    result = {
        "ruleId": rule_id,
        "ruleIndex": rule_ids.index(rule_id),
        "level": level,
        "message": {"text": "\n".join(lines)},
        "properties": properties,
    }
    if location is not None:
        from .report import relative_path

        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(relative_path(location.file))},
            "region": {"startLine": location.line},
        }}]
    return result


def _uri(path: str) -> str:
    """A relative path as a relative URI; an absolute one as a file URI."""
    pure = PurePath(path)
    return pure.as_uri() if pure.is_absolute() else pure.as_posix()


def _plain(value):
    """JSON-safe copy (functions and classes by dotted name)."""
    return json.loads(json.dumps(value, default=show_value))
