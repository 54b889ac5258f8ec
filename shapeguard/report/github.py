"""``--format github``: GitHub Actions workflow commands, one annotation per
failure mode, block error and broadcast warning, and one warning per block
found but not checked, shown on the lines they name.

A failure's annotation is titled by its mode (``shapeguard: Add (channels)``:
the title is all a pull request shows of it until it is opened) and carries
the report's ``fix:`` line when there is one."""

from __future__ import annotations

from .._usercode import relative_path
from ._words import FAILURE_WORDS, error_verb, headline
from .scope import Scope, tally
from .text import found_summary, mode_name, summary


def render_github(reports, call_lines: bool = False, scope: Scope | None = None) -> str:
    return "".join(line + "\n" for line in github_lines(reports, scope))


def github_lines(reports: list, scope: Scope | None = None) -> list[str]:
    """One workflow command per failure mode and per block error, and a
    warning per block that could not be checked (at its definition), then the
    summary line (GitHub shows the annotations on the lines they name)."""
    lines = []
    for report in reports:
        for failure in report.failures:
            words = FAILURE_WORDS[failure.kind]
            body = [f"{report.target}: {headline(failure)}", f"{words.source}: {failure.message}",
                    f"minimal call: {failure.call}", *_counts(failure)]
            if failure.hint:
                body.append(f"fix: {failure.hint}")
            location, body = _placed(failure.location, report, body)
            lines.append(_annotation(location, mode_title(failure), body))
        for error in report.errors:
            verb = error_verb(error.type)
            body = [f"{report.target}: the block {verb}: {error.message}", f"call: {error.call}"]
            location, body = _placed(error.location, report, body + _counts(error))
            lines.append(_annotation(location, f"shapeguard: block {verb}", body))
        for warning in report.warnings:  # docs/explanation/reports.md
            body = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            level = "error" if report.strict else "warning"
            location, body = _placed(warning.location, report, body)
            lines.append(_annotation(location, "shapeguard: broadcast", body, level))
    for block in scope.not_checked if scope is not None else ():
        location = _Where(block.file, block.line) if block.file is not None else None
        lines.append(_annotation(location, "shapeguard: not checked", [f"{block.target}: {block.reason}"],
                                 "warning"))
    if scope is not None and scope.discovered and tally(reports, scope)["found"]:
        lines.append(found_summary(reports, scope)[0])
    else:
        lines.append(summary(reports))
    return lines


def mode_title(failure) -> str:
    """``shapeguard: Add (channels)``: the layer class and the cause that make
    the failure mode (``shapeguard: Add`` when no cause is known)."""
    return f"shapeguard: {mode_name(failure)}"


class _Where:
    """A definition's place, as an annotation reads a location."""

    def __init__(self, file: str, line: int | None):
        self.file, self.line = file, line or 1


def _placed(location, report, body: list[str]) -> tuple:
    """An annotation without a line of its own is shown at the block's
    definition (as SARIF does), saying so."""
    if location is None and report.definition is not None:
        return report.definition, [*body, "shown at the block's definition: no line of its own is known"]
    return location, body


def _counts(item) -> list[str]:
    return [f"fails at {item.failing} of {item.of} combinations"] if item.failing is not None else []


def _annotation(location, title: str, body: list[str], level: str = "error") -> str:
    props = []
    if location is not None:
        props += [f"file={_escape_property(relative_path(location.file))}", f"line={location.line}"]
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(chr(10).join(body))}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
