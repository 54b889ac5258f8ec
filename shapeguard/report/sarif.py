"""``--format sarif``: the reports as one SARIF 2.1.0 log, the format GitHub
code scanning and other analysers' dashboards read (docs/explanation/reports.md).

One run per invocation; one result per failure mode (level ``error``), per
block error (``error``) and per broadcast warning (``warning``, or ``error``
with strict). The explanation (condition, hint, nearest pass, branches) is in
the message and in each result's ``properties``.

Every result has a location, since GitHub code scanning refuses a whole log
for one result without: its own line, else the target's ``def``/``class``
line (`Report.definition`). URIs are relative references, percent-encoded,
against ``%SRCROOT%``: the repository around the current directory (the
nearest folder above it with ``.git``), else the current directory, which
is what GitHub resolves them against. A file outside that root gets a
relative reference too, climbing out with ``..`` (it cannot be mistaken for
a file of the repository, and code scanning accepts it); only a file with
no relative path at all (another drive on Windows) gets an absolute
``file:`` URI.

Code scanning matches a result to the alert of an earlier run by its
``partialFingerprints``: ``shapeguard/v1`` hashes what a failure mode is
(rule, file from the root, block, layer class, cause), never its line or
counts, so an unchanged bug keeps its alert when the lines above it move.
The run's category (``automationDetails``) is the targets as given, so two
checks of different folders upload as two analyses.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path, PurePath
from urllib.parse import quote

from .._show import show_value
from .._version import DOCS_URL, __version__
from ._words import ALL_RULES, ERROR_WORDS, FAILURE_WORDS, WARNING_WORDS, checked_on, error_verb, headline
from .json import plain as _plain

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "shapeguard/v1"  # a new version of the hash gets a new key: old alerts are not silently rematched
RULES_PAGE = DOCS_URL + "reference/rules/"  # one anchor per rule id


def render_sarif(reports, call_lines: bool = False, scope=None) -> str:
    """The SARIF document for ``reports`` (a list of `Report`), ending with a
    newline: a result per failure mode, block error and broadcast warning,
    and a warning per block found but not checked (``scope.not_checked``);
    ``scope``'s ``targets`` and ``category`` name the run's category)."""
    rule_ids = [words.rule for words in ALL_RULES]
    results = []
    root = _root()
    for report in reports:
        result = functools.partial(_result, rule_ids=rule_ids, definition=report.definition, root=root,
                                   block=report.target.rpartition(":")[2])
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
            results.append(result(words.rule, "error", lines, failure.location, properties,
                                  identity=(failure.layer_class, failure.cause)))
        for error in report.errors:
            lines = [f"{report.target}: the block {error_verb(error.type)}: {error.message}", f"call: {error.call}"]
            properties = {"target": report.target, "example": _plain(error.example), "call": error.call}
            results.append(result(ERROR_WORDS.rule, "error", lines, error.location, properties,
                                  identity=(error.type, error.cause)))
        for warning in report.warnings:
            lines = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            properties = {"target": report.target, "example": _plain(warning.example), "call": warning.call}
            level = "error" if report.strict else "warning"
            results.append(result(WARNING_WORDS.rule, level, lines, warning.location, properties,
                                  identity=(warning.layer_class, "")))
    for block in scope.not_checked if scope is not None else ():  # as the GitHub annotations warn of them
        if block.file is None:
            continue  # nowhere to show it, and code scanning refuses a result without a location
        properties = {"target": block.target, "not_checked": block.reason}
        results.append(_result(ERROR_WORDS.rule, "warning", [f"{block.target}: not checked: {block.reason}"],
                               dataclasses.replace(block, line=block.line or 1), properties, rule_ids, None, root,
                               block.target.rpartition(":")[2], identity=("not checked",)))
    _number_repeats(results)
    driver = {"name": "shapeguard", "version": __version__, "informationUri": DOCS_URL,
              "rules": [_rule(words) for words in ALL_RULES]}
    if re.fullmatch(r"\d+\.\d+\.\d+", __version__):  # a PEP 440 pre-release or dev version is not SemVer
        driver["semanticVersion"] = __version__
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "automationDetails": {"id": automation_id(scope, root)},
            "originalUriBaseIds": {SRCROOT: {"uri": _folder_uri(root)}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, default=show_value) + "\n"


def _rule(words) -> dict:
    return {
        "id": words.rule,
        "name": words.rule.split("/")[1],
        "shortDescription": {"text": words.short},
        "fullDescription": {"text": words.full},
        "help": {"text": words.help.replace("`", ""), "markdown": words.help},
        "helpUri": rule_uri(words.rule),
    }


def rule_uri(rule_id: str) -> str:
    """The documentation of a rule: ``.../reference/rules/#shape`` for
    ``shapeguard/shape`` (the anchors of ``docs/reference/rules.md``)."""
    return RULES_PAGE + "#" + quote(rule_id.removeprefix("shapeguard/"), safe="")


def _result(rule_id: str, level: str, lines: list[str], location, properties: dict, rule_ids: list[str],
            definition, root: str, block: str, identity: tuple) -> dict:
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
    where = uri(location.file, root) if location is not None else ""
    if location is not None:
        artifact = {"uri": where}
        if not where.startswith("file:"):
            artifact["uriBaseId"] = SRCROOT
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": location.line},
        }}]
    digest = hashlib.sha256("\0".join([rule_id, where, block, *map(str, identity)]).encode()).hexdigest()
    result["partialFingerprints"] = {FINGERPRINT: digest[:32]}
    return result


def _number_repeats(results: list[dict]) -> None:
    """Two modes that differ only by their line (the same layer class failing
    for the same cause at two lines of one block) hash alike: each fingerprint
    ends with its occurrence in the log, ``:1``, ``:2``, as GitHub's own
    ``primaryLocationLineHash`` does."""
    seen: Counter = Counter()
    for result in results:
        digest = result["partialFingerprints"][FINGERPRINT]
        seen[digest] += 1
        result["partialFingerprints"][FINGERPRINT] = f"{digest}:{seen[digest]}"


def automation_id(scope, root: str) -> str:
    """The run's ``automationDetails.id``: ``shapeguard/<category>/``, the
    category given (``scope.category``), else the targets as given, sorted,
    with paths made relative to ``root`` (so the same check run from a
    subfolder is the same analysis). The trailing slash makes the whole id
    the category, with no run id (GitHub's ``runAutomationDetails``)."""
    category = scope.category if scope is not None else ""
    if not category and scope is not None:
        category = ",".join(sorted(_from_root(target, root) for target in scope.targets))
    return f"shapeguard/{category.strip('/')}/" if category else "shapeguard/"


def _from_root(target: str, root: str) -> str:
    """A target as given, its path relative to ``root`` when it names one
    (``../src/blocks.py:block``, given in ``tools``, is ``src/blocks.py:block``)."""
    path, colon, name = target.rpartition(":")
    if not colon or not os.path.exists(path):
        path, colon, name = target, "", ""
    if not os.path.exists(path):
        return target  # a module name
    try:
        relative = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # another drive
        return target
    return PurePath(relative).as_posix() + colon + name


def _folder_uri(folder: str) -> str:
    """A folder's absolute ``file:`` URI, ending with ``/`` as SARIF requires of a base."""
    base = Path(folder).as_uri()
    return base if base.endswith("/") else base + "/"


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
