"""``--format github``: GitHub Actions workflow commands, one annotation per
failure mode, block error and broadcast warning, shown on the lines they name."""

from __future__ import annotations

from .._usercode import relative_path
from ._words import FAILURE_WORDS, error_verb, headline
from .text import summary


def render_github(reports, call_lines: bool = False) -> str:
    return "".join(line + "\n" for line in github_lines(reports))


def github_lines(reports: list) -> list[str]:
    """One workflow command per failure mode and per block error, then the
    summary line (GitHub shows the annotations on the lines they name)."""
    lines = []
    for report in reports:
        for failure in report.failures:
            words = FAILURE_WORDS[failure.kind]
            body = [headline(failure), f"{words.source}: {failure.message}", f"minimal call: {failure.call}"]
            body += _counts(failure)
            lines.append(_annotation(failure.location, "shapeguard", [f"{report.target}: {body[0]}", *body[1:]]))
        for error in report.errors:
            verb = error_verb(error.type)
            body = [f"{report.target}: the block {verb}: {error.message}", f"call: {error.call}"]
            lines.append(_annotation(error.location, f"shapeguard: block {verb}", body + _counts(error)))
        for warning in report.warnings:  # README, "Reports that explain"
            body = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            level = "error" if report.strict else "warning"
            lines.append(_annotation(warning.location, "shapeguard: broadcast", body, level))
    lines.append(summary(reports))
    return lines


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
