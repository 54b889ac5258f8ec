"""The report in a notebook (``Report._repr_html_``): a status header, one
row per failure mode with the rest in ``<details>``, and the grid as a table.

It says what the text report says, in the same words (`text`, `_words`), laid
out for a page. Every string is HTML-escaped: layer names, messages and
calls come from the user's code. The colours are translucent tints over the
page's own background and text colour, so they read on light and dark
themes alike without knowing which is on; the grid's marks are text, so a
notebook that strips the styles (an untrusted one) still shows them.
"""

from __future__ import annotations

from html import escape

from .._show import show_example, show_value
from ._words import ERROR_WORDS, FAILURE_WORDS, MARKS, MEANINGS, WARNING_WORDS, error_verb, headline
from .text import ON_DATA, chain, closing, facts, how_checked, nearest_pass, sizes, verdict, when

STYLE = """<style>
.shapeguard-report{font-family:var(--jp-ui-font-family,system-ui,sans-serif);line-height:1.4;margin:.3em 0}
.shapeguard-report code{font-family:var(--jp-code-font-family,monospace);font-size:.92em}
.shapeguard-report .sg-head{font-size:1.05em;margin:.2em 0}
.shapeguard-report .sg-status{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:bold;color:#fff}
.shapeguard-report .sg-pass .sg-status{background:#1a7f37}
.shapeguard-report .sg-fail .sg-status{background:#cf222e}
.shapeguard-report .sg-error .sg-status{background:#8a5a00}
.shapeguard-report .sg-facts{margin:.2em 0 .4em 0;opacity:.85}
.shapeguard-report table{border-collapse:collapse;margin:.4em 0;color:inherit;background:transparent}
.shapeguard-report th,.shapeguard-report td{border:1px solid rgba(127,127,127,.45);padding:.2em .5em;
 text-align:left;vertical-align:top;color:inherit;background:transparent}
.shapeguard-report tr.sg-more td{border-top:none;padding-top:0}
.shapeguard-report .sg-at{opacity:.75;font-size:.9em}
.shapeguard-report summary{cursor:pointer}
.shapeguard-report ul{margin:.2em 0 .3em 1.2em;padding:0}
.shapeguard-report .sg-label{font-weight:bold}
.shapeguard-report table.sg-grid td{text-align:center;min-width:2em;font-family:var(--jp-code-font-family,monospace);
 font-weight:bold}
.shapeguard-report table.sg-grid caption{caption-side:top;text-align:left;opacity:.85;white-space:nowrap}
.shapeguard-report td.sg-pass{background:rgba(46,160,67,.28)}
.shapeguard-report td.sg-fail{background:rgba(218,54,51,.40)}
.shapeguard-report td.sg-some{background:rgba(210,153,34,.36)}
.shapeguard-report .sg-legend span{display:inline-block;min-width:1.4em;text-align:center;font-weight:bold;
 font-family:var(--jp-code-font-family,monospace);margin-right:.3em}
.shapeguard-report .sg-legend span.sg-none{border:1px solid rgba(127,127,127,.45)}
.shapeguard-report .sg-legend span.sg-pass{background:rgba(46,160,67,.28)}
.shapeguard-report .sg-legend span.sg-fail{background:rgba(218,54,51,.40)}
.shapeguard-report .sg-legend span.sg-some{background:rgba(210,153,34,.36)}
.shapeguard-report .sg-legend{font-size:.9em;opacity:.9}
</style>"""

COLUMNS = ("", "kind", "layer", "cause", "minimal", "when")


def render_html(report) -> str:
    """One report as an HTML fragment, with its style."""
    return f"<div class='shapeguard-report'>{STYLE}{_report(report)}</div>"


def render_html_all(reports, call_lines: bool = False, scope=None) -> str:
    """Several reports, then the text report's closing lines, as one fragment ending with a newline."""
    parts = [_report(report, call_lines) for report in reports]
    parts += [f"<p>{escape(line)}</p>" for line in closing(reports, scope)]
    return f"<div class='shapeguard-report'>{STYLE}{''.join(parts)}</div>\n"


def _report(report, call_lines: bool = False) -> str:
    said = verdict(report)  # "FAIL, 2 failure modes": its first word goes in the badge
    badge, _, counts = said.partition(", ")
    if report.status == "pass":
        badge, counts = "PASS", "" if said == "OK" else said
    title = f"<code>{escape(report.target)}</code>" + (f": {escape(counts)}" if counts else "")
    parts = [f"<div class='sg-head sg-{report.status}'><span class='sg-status'>{escape(badge)}</span> "
             f"{title} ({escape(how_checked(report))})</div>"]
    shown = facts(report)
    head = [(label, text) for label, text, _ in shown if label in _HEAD]
    rest = [(label, escape(text)) for label, text, _ in shown if label not in _HEAD]
    rest += [(f"size {name}", escape(text)) for name, text in sizes(report)]
    parts.append("<div class='sg-facts'>" + "<br>".join(_labelled(label, escape(text)) for label, text in head)
                 + "</div>")
    if rest:
        parts.append("<details><summary>how it was checked</summary>" + _list(rest) + "</details>")
    rows = [_failure(i, f, call_lines) for i, f in enumerate(report.failures, 1)]
    rows += [_error(e) for e in report.errors]
    rows += [_warning(w, report.strict) for w in report.warnings]
    if rows:
        heads = "".join(f"<th>{name}</th>" for name in COLUMNS)
        parts.append(f"<table class='sg-modes'><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if report.grid and (report.failures or report.errors):
        parts.append(_grid(report.grid))
    return "".join(parts)


# The facts shown under the verdict; the others are in "how it was checked".
_HEAD = ("from cache", "interrupted", "stopped early", "not checked", "space")


def _row(number: str, kind: str, layer: str, location, cause: str, example: dict, last: str, summary: str,
         details: list[tuple[str, str]]) -> str:
    at = f"<div class='sg-at'>{escape(location.shown())}</div>" if location is not None else ""
    cells = [number, escape(kind), escape(layer) + at, escape(cause),
             f"<code>{escape(show_example(example))}</code>" if example else "", escape(last)]
    more = (f"<tr class='sg-more'><td></td><td colspan='{len(COLUMNS) - 1}'><details><summary>{escape(summary)}"
            f"</summary>{_list(details)}</details></td></tr>")
    return "<tr class='sg-mode'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" + more


def _failure(i: int, failure, call_lines: bool) -> str:
    words = FAILURE_WORDS[failure.kind]
    layer = failure.layer_class + (f" {failure.layer_name!r}" if failure.layer_name else "")
    details = _where(failure) + [(words.source, escape(failure.message))] + _example(failure)
    if failure.on_data:
        details += [("", escape(ON_DATA)), ("reproduce on data", _code(failure.on_data))]
    if failure.branches:
        marked = any(b.parts_at is not None for b in failure.branches)
        details.append(("branches" + (" (* first layer where the inputs part)" if marked else ""),
                        "<ul>" + "".join(f"<li>{_code(b.text(call_lines))}</li>" for b in failure.branches) + "</ul>"))
    if failure.condition:
        details.append(("when", escape(when(failure.condition))))
    if failure.hint:
        details.append(("fix", escape(failure.hint)))
    if failure.nearest_pass:
        details.append(("nearest pass", escape(nearest_pass(failure.nearest_pass))))
    last = failure.condition["text"] if failure.condition else _count(failure)
    return _row(str(i), words.label, layer, failure.location, failure.cause, failure.example, last,
                headline(failure), details)


def _error(error) -> str:
    what = f"the block {error_verb(error.type)}"
    details = _where(error) + [("message", escape(error.message))] + _example(error)
    return _row("", ERROR_WORDS.label, what, error.location, error.cause, error.example, _count(error),
                f"{what}: {error.message}", details)


def _warning(warning, strict: bool) -> str:
    layer = warning.layer_class + (f" {warning.layer_name!r}" if warning.layer_name else "")
    met = f"met in {warning.count} probe{'s' * (warning.count != 1)}" + (" (fails the check: strict)" * strict)
    details = _where(warning) + [("reproduce", _code(warning.call))]
    return _row("", WARNING_WORDS.label, layer, warning.location, "", warning.example, met, warning.message,
                details)


def _where(item) -> list[tuple[str, str]]:
    """``at`` the line and its source, and the ``chain`` of the user's lines down to it."""
    found = []
    if item.location is not None:
        source = item.location.source()
        found.append(("at", escape(item.location.shown()) + (f": {_code(source)}" if source else "")))
    if len(getattr(item, "chain", ())) > 1:
        found.append(("chain", escape(chain(item))))
    return found


def _example(item) -> list[tuple[str, str]]:
    found = [("reproduce", _code(item.call))] if item.call else []
    count = _count(item)
    return found + ([("", escape(count))] if count else [])


def _count(item) -> str:
    if item.failing is None:
        return ""
    return f"fails at {item.failing} of {item.of} combination{'s' * (item.of != 1)}"


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def _labelled(label: str, shown: str) -> str:
    """``shown`` (HTML, escaped already) after its label, if it has one."""
    return f"<span class='sg-label'>{escape(label)}:</span> {shown}" if label else shown


def _list(items: list[tuple[str, str]]) -> str:
    return "<ul>" + "".join(f"<li>{_labelled(label, shown)}</li>" for label, shown in items) + "</ul>"


def _grid(g: dict) -> str:
    """The grid: one row per value of ``g["rows"]``, one column per value of ``g["columns"]``."""
    rows, columns = escape(g["rows"]), escape(g["columns"])
    head = "".join(f"<th>{columns}={escape(show_value(v))}</th>" for v in g["column_values"])
    body = []
    for value, line in zip(g["row_values"], g["cells"]):
        cells = "".join(f"<td class='sg-{c}' title='{escape(MEANINGS[c])}'>{escape(MARKS[c])}</td>" for c in line)
        body.append(f"<tr><th>{rows}={escape(show_value(value))}</th>{cells}</tr>")
    legend = " &nbsp; ".join(f"<span class='sg-{c}'>{escape(MARKS[c].strip()) or '&nbsp;'}</span>{escape(MEANINGS[c])}"
                             for c in MARKS)
    return (f"<table class='sg-grid'><caption>{rows} down, {columns} across</caption>"
            f"<tr><th></th>{head}</tr>{''.join(body)}</table><div class='sg-legend'>{legend}</div>")
