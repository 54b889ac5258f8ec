"""The text report: what the terminal, ``str(report)`` and pytest show.

`render_text` writes one report: its verdict and what was checked, each
failure mode with its minimal call and explanations (docs/explanation/reports.md),
the block errors, size summaries, the grid and broadcast warnings;
`summary` is the line after several reports, and `found_summary` the lines
after the reports of a bare module, file or folder (what was found, checked
and not checked).
"""

from __future__ import annotations

import re
import textwrap

from .._outcome import INTERNAL, NO_KERAS_CALL
from .._show import show_example, show_value
from .._usercode import shown
from ._words import FAILURE_WORDS, LEGEND, MARKS, checked_on, error_verb, headline
from .scope import Scope, tally


def render(reports, call_lines: bool = False, scope: Scope | None = None) -> str:
    """The text of several reports, then the summary, ending with a newline:
    `found_summary` when blocks were found in a bare module, file or folder
    (``scope``), else the `summary` line when there are several reports."""
    parts = [report.render(call_lines) for report in reports]
    end = closing(reports, scope)
    if end:
        parts.append("\n".join(end))
    return "".join(part + "\n\n" for part in parts[:-1]) + (parts[-1] + "\n" if parts else "")


def closing(reports, scope: Scope | None = None) -> list[str]:
    """The lines after the reports: `found_summary` when blocks were found in a
    bare module, file or folder, the `summary` line for several reports, else none."""
    if scope is not None and scope.discovered and tally(reports, scope)["found"]:
        return found_summary(reports, scope)
    return [summary(reports)] if len(reports) > 1 else []


def render_text(report, call_lines: bool = False) -> str:
    """The terminal report (see `Report.render`)."""
    lines = [f"{report.target}: {verdict(report)} ({how_checked(report)})"]
    for label, text, indent in facts(report):
        line = f"  {label}: {text}"
        lines += [line] if indent is None else _wrap(line, indent)
    for i, failure in enumerate(report.failures, 1):
        cause = f" (cause: {failure.cause})" if failure.cause else ""
        lines += ["", f"  [{i}] {headline(failure)}{cause}"]
        lines += _where(failure.location)
        lines += _cause_lines(failure, failure.layer_class)
        lines.append(f"      {FAILURE_WORDS[failure.kind].source}: {failure.message}")
        # check_fit's failure: the data is in the heading, the plain Keras step is the reproduction
        lines += [f"      reproduce: {failure.call}"] if report.fit else _example_lines(failure, _label(report))
        if failure.on_data:
            lines += [f"      {ON_DATA}", f"      reproduce on data: {failure.on_data}"]
        lines += failure_lines(failure, call_lines)
    for error in report.errors:
        what = error_verb(error.type)
        lines += ["", f"  [error] the block {what}: {error.message}"]
        lines += _where(error.location)
        lines += _cause_lines(error, None)
        lines += _example_lines(error, _label(report))
    lines += report_lines(report)
    return "\n".join(lines)


# Said of a failure found in a call() that symbolic Keras never runs, once an
# eager call on arrays of zeros (``reproduce on data``) was seen to fail too.
ON_DATA = "fails only when run on data: symbolic Keras does not run call()"


def verdict(report) -> str:
    """``FAIL, 2 failure modes``, ``OK``, ``OK in 100 of 128 combinations``, ``ERROR, ...``."""
    n = len(report.failures)
    if report.status == "error" and {e.type for e in report.errors} == {NO_KERAS_CALL}:
        return "NOT CHECKED, the block called no Keras layer or operation"
    if report.status == "error" and {e.type for e in report.errors} == {INTERNAL}:
        return "ERROR, shapeguard could not check it"  # a bug of ours: not something the block raised
    return {
        "pass": _ok_verdict(report),
        "fail": f"FAIL, {n} failure mode{'s' * (n != 1)}" if n else
        f"FAIL, {len(report.warnings)} broadcast warning{'s' * (len(report.warnings) != 1)} (strict)",
        "error": "ERROR, the block raised by itself",
    }[report.status]


def how_checked(report) -> str:
    """``Hypothesis search, 40 probes of 128 combinations, seed 0``, ``all 8 combinations probed``."""
    fit = getattr(report, "fit", None)
    if fit:  # check_fit: what was checked is the data, not a space
        how = f"{fit['mode']} of x {fit['x']}" + (f", y {fit['y']}" if fit.get("y") else "")
        how += f", loss {fit['loss']}" if fit.get("loss") else ""
        return how + (f", metrics {fit['metrics']}" if fit.get("metrics") else "")
    to_probe = report.to_probe
    if report.status == "pass" and report.checked < to_probe:
        how = "Hypothesis search" if report.mode == "search" else "exhaustive, stopped early"
        return how + (f", seed {report.seed}" if report.mode == "search" else "")
    if report.mode == "search":
        return f"Hypothesis search, {report.probes} probes of {to_probe} combinations, seed {report.seed}"
    if report.probes == to_probe:
        return "the only combination probed" if to_probe == 1 else f"all {to_probe} combinations probed"
    return f"exhaustive, stopped after {report.probes} of {to_probe} combinations"


def facts(report) -> list[tuple[str, str, int | None]]:
    """What the check was and what it met, under its verdict: ``(label, text,
    indent)`` per line, ``indent`` the column the text report wraps it at
    (None: not wrapped)."""
    found: list[tuple[str, str, int | None]] = []
    if report.cached:
        found.append(("from cache", "nothing this report depends on changed since it was made (--no-cache probes "
                      "again)", None))
    if report.interrupted:
        found.append(("interrupted", "what was found before Ctrl-C (failures not yet confirmed on plain Keras)", None))
    if report.stopped:
        found.append(("stopped early", report.stopped, None))
    if report.unchecked:
        u = report.unchecked
        found.append(("not checked", f"{u} combination{'s' * (u != 1)} called no Keras layer or operation", None))
    if not getattr(report, "fit", None):  # check_fit's data is in its verdict line
        found.append(("space", "  ".join(f"{k}=[{', '.join(map(show_value, v))}]" for k, v in report.space.items()),
                      None))
    if report.status == "pass" and report.templates:  # an OK says what it was checked on
        found.append(("templates checked", "  ".join(f"{k}={v}" for k, v in report.templates.items()), None))
    found += _inferred(report.inferred)
    found += _working(report.working_point)
    if report.budget:
        found.append(("budget", f"{report.mode}, {report.budget}", None))
    if report.skipped:
        found.append(("skipped", f"{report.skipped} of {report.size} combinations, ruled out by the contract"
                      " or repeating another's call", None))
    elif report.skipped is None:
        found.append(("skipped", f"not counted (a space of {report.size} combinations is too big to enumerate);"
                      " the search draws only points the contract allows", None))
    found += [("note", note, None) for note in report.notes]
    return found


def _inferred(inferred: dict) -> list[tuple[str, str, int | None]]:
    """``inferred: filters (named 'filters'), H (a spatial or sequence dimension); x=H,H,C (an image, the default)``"""
    parts = [f"{name} ({rule})" for name, rule in (inferred or {}).get("axes", {}).items()]
    templates = [f"{param}={t['template']} ({t['from']})" for param, t in (inferred or {}).get("templates", {}).items()]
    if not parts and not templates:
        return []
    return [("inferred", "; ".join(filter(None, [", ".join(parts), ", ".join(templates)])), 12)]


def _working(working: dict | None) -> list[tuple[str, str, int | None]]:
    """``works at: H=32, C=64 (defaults otherwise)``, or the sizes tried without one."""
    if not working:
        return []
    if working["works"]:
        at = ", ".join(f"{k}={show_value(v)}" for k, v in working["at"].items())
        found: list[tuple[str, str, int | None]] = [("works at", f"{at} (defaults otherwise)", None)]
        smallest = working.get("smallest")
        if smallest:
            works = ", ".join(f"{k}={v}" for k, v in smallest["works"].items())
            fails = ", ".join(f"{k}={v}" for k, v in smallest["fails"].items())
            found.append(("smallest size that works", f"{works}; at {fails} {smallest['layer']} rejects it: "
                          f"{smallest['message']}", 6))
        return found
    tried = ", ".join(f"{k}={lo}..{hi}" for k, (lo, hi) in working["tried"].items())
    names = ", ".join(working["tried"])
    return [("works at", f"none of the sizes tried ({tried}), with every parameter at its first value (its default unless"
             f" given); the"
             f" failure below is at the largest size, and nothing else was searched (smaller sizes failed"
             f" too). If the block is meant for other sizes or values, give them ({names} as axes, or the"
             f" input's template).", 6)]


def _ok_verdict(report) -> str:
    """``OK`` only of what was checked: ``OK in 100 of 128 combinations``."""
    return "OK" if report.checked >= report.to_probe else f"OK in {report.checked} of {report.to_probe} combinations"


def _where(location) -> list[str]:
    if location is None:
        return []
    source = location.source()
    return [f"      at {location.shown()}" + (f":  {source}" if source else "")]


def _cause_lines(item, layer_class: str | None) -> list[str]:
    """``cause: out of memory`` for an error (a failure names its cause in its
    heading) and, when the failure is below the target's own line, the chain
    of the user's lines down to the layer."""
    lines = [f"      cause: {item.cause}"] if item.cause and layer_class is None else []
    if len(item.chain) > 1:
        lines.append("      chain: " + chain(item) + (f" -> {layer_class}" if layer_class else ""))
    return lines


def _label(report) -> str:
    """``minimal``, unless no working point was found: then the one point probed
    is the largest size tried (smaller ones failed too), not a minimal one."""
    working = report.working_point
    return "example" if working and not working["works"] else "minimal"


def _example_lines(item, label: str = "minimal") -> list[str]:
    lines = []
    if item.call:  # an internal error outside any point has neither: no empty lines
        lines = [f"      {label}: {show_example(item.example)}"] if item.example else []
        lines.append(f"      reproduce: {item.call}")
    if item.failing is not None:
        lines.append(f"      fails at {item.failing} of {item.of} combination{'s' * (item.of != 1)}")
    return lines


def failure_lines(failure, call_lines: bool = False) -> list[str]:
    """The explanation lines under one failure in the text report; with
    ``call_lines``, each layer on a branch names the user's line that called it."""
    lines = []
    if failure.branches:
        marked = next((b for b in failure.branches if b.parts_at is not None), None)
        lines.append("      branches" + (" (* first layer where the inputs part):" if marked else ":"))
        for branch in failure.branches:
            lines += _wrap_path(branch.text(call_lines))
    if failure.condition:
        lines += _wrap(f"      when: {when(failure.condition)}")
    if failure.hint:
        lines += _wrap(f"      fix: {failure.hint}")
    if failure.nearest_pass:
        lines.append(f"      nearest pass: {nearest_pass(failure.nearest_pass)}")
    return lines


def when(condition: dict) -> str:
    """``fails when conv_shortcut=False (checked on all combinations)``"""
    where = checked_on(condition)
    if condition.get("bisection_probes"):
        where += f" + {condition['bisection_probes']} sizes between"
    return f"{condition['text']} (checked on {where})"


def nearest_pass(nearest: dict) -> str:
    """``conv_shortcut=True: block(keras.Input(shape=(7, 7, 16)), conv_shortcut=True)``"""
    changed = ", ".join(f"{k}={show_value(v)}" for k, v in nearest["changed"].items())
    return f"{changed}: {nearest['call']}"


def chain(item) -> str:
    """``blocks.py:40 MyStack.call -> blocks.py:12 ResidualUnit.call``: the user's
    lines from the target down (notebook cells as ``Cell In[3], line 5``)."""
    return " -> ".join(f"{shown((file, line))} {function}" for file, line, function in item.chain)


WIDTH = 100  # explanation lines are wrapped to this many columns


def _wrap(text: str, indent: int | None = None) -> list[str]:
    """Wrapped to WIDTH, continuation lines under the text after the label,
    never inside a parenthesised shape or call."""
    indent = text.index(": ") + 2 if indent is None else indent
    kept = re.sub(r"\([^()]*\)", lambda m: m.group(0).replace(" ", "\xa0"), text)
    lines = textwrap.wrap(kept, WIDTH, subsequent_indent=" " * indent, break_long_words=False,
                          break_on_hyphens=False)
    return [line.replace("\xa0", " ") for line in lines]


def _wrap_path(text: str) -> list[str]:
    """A branch on as many lines as it needs, broken before an arrow."""
    lines, line = [], "        "
    for i, piece in enumerate(text.split(" -> ")):
        piece = piece if i == 0 else "-> " + piece
        if i and len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = " " * 17 + piece
        else:
            line = line + (" " if i else "") + piece
    return lines + [line]


def report_lines(report) -> list[str]:
    """Size summaries, the grid and the warnings, after the failures."""
    lines = []
    found = sizes(report)
    if found:
        lines += ["", "  sizes:"] + [f"    {name}: {text}" for name, text in found]
    g = getattr(report, "grid", None)
    if g and (report.failures or report.errors):
        lines += ["", f"  grid ({g['rows']} down, {g['columns']} across):"]
        lines += ["    " + line for line in grid_lines(g)]
        lines.append(f"    {LEGEND}")
    for w in getattr(report, "warnings", None) or []:
        name = f" {w.layer_name!r}" if w.layer_name else ""
        strict = " (fails the check: strict)" if getattr(report, "strict", False) else ""
        lines += [""] + _wrap(f"  [warning] broadcast: {w.layer_class}{name}{strict}: {w.message}", 6)
        if w.location is not None:
            source = w.location.source()
            lines.append(f"      at {w.location.shown()}" + (f":  {source}" if source else ""))
        lines.append(f"      example: {show_example(w.example)}")
        lines.append(f"      reproduce: {w.call}")
    return lines


def sizes(report) -> list[tuple[str, str]]:
    """``(axis, "passes at 16, 32; fails at 7")`` for each size axis with something to say."""
    summary = getattr(report, "axis_summary", None) or {}
    # An axis at which no probe was judged (every one was the block's own error) has nothing to say.
    return [(name, entry["text"]) for name, entry in summary.items()
            if not entry.get("inert") and (entry.get("passing") or entry.get("failing") or entry.get("depends"))]


def grid_lines(g: dict) -> list[str]:
    heads = [show_value(v) for v in g["column_values"]]
    labels = [f"{g['rows']}={show_value(v)}" for v in g["row_values"]]
    width = max(len(h) for h in heads)
    left = max(len(label) for label in labels)
    lines = [" " * (left + 2) + " ".join(h.rjust(width) for h in heads) + f"   <- {g['columns']}"]
    for label, line in zip(labels, g["cells"]):
        lines.append(label.rjust(left) + "  " + " ".join(MARKS[c].rjust(width) for c in line))
    return lines


def summary(reports: list) -> str:
    """``shapeguard: 3 targets: 1 failed (2 failure modes), 1 error, 1 passed``."""
    counts = {status: sum(r.status == status for r in reports) for status in ("fail", "error", "pass")}
    modes = sum(len(r.failures) for r in reports)
    parts = []
    if counts["fail"]:
        parts.append(f"{counts['fail']} failed ({modes} failure mode{'s' * (modes != 1)})")
    if counts["error"]:
        parts.append(f"{counts['error']} with block errors")
    if counts["pass"]:
        parts.append(f"{counts['pass']} passed")
    n = len(reports)
    return f"shapeguard: {n} target{'s' * (n != 1)}: " + (", ".join(parts) or "nothing checked")


def found_summary(reports: list, scope: Scope) -> list[str]:
    """``shapeguard: found 5 blocks in blocks/: checked 4 (1 failed with 2
    failure modes, 3 passed), could not check 1``, then one line per block
    that could not be checked, with the sentence saying what it needs."""
    counts = tally(reports, scope)
    found, checked, not_checked = counts["found"], counts["checked"], counts["not_checked"]
    parts = []
    if counts["failed"]:
        modes = counts["failure_modes"]
        parts.append(f"{counts['failed']} failed with {modes} failure mode{'s' * (modes != 1)}")
    if counts["block_errors"]:
        parts.append(f"{counts['block_errors']} with block errors")
    if counts["passed"]:
        parts.append(f"{counts['passed']} passed")
    paths = list(scope.paths)
    where = ", ".join(paths) if len(paths) <= 3 else f"{len(paths)} paths"
    line = f"shapeguard: found {found} block{'s' * (found != 1)} in {where}: checked {checked}"
    line += f" ({', '.join(parts)})" if parts else ""
    if not_checked:
        line += f", could not check {not_checked}"
    unreached = found - checked - not_checked
    if unreached > 0:
        line += f", {unreached} not reached (interrupted)"
    return [line] + [f"  could not check {n.target}: {n.reason}" for n in scope.not_checked]



# -- the short forms: one line, and one stanza per mode (pytest's --tb, its short summary) ---------

def mode_name(failure) -> str:
    """``Add (channels)``: a failure mode named by its layer class and cause, as lists of modes name it."""
    return f"{failure.layer_class} ({failure.cause})" if failure.cause else failure.layer_class


def what_failed(report) -> str:
    """One line naming everything that failed, for a list of results (pytest's
    short summary): ``4 failure modes: Conv2D (invalid argument value), Add
    (channels), Add (spatial), ...``; ``1 block error: the block raised
    TypeError: ...``; ``1 broadcast warning (strict): Add 'add'``."""
    def counted(items: list, what: str) -> str:
        return f"{len(items)} {what}{'s' * (len(items) != 1)}"

    parts = []
    if report.failures:
        parts.append(counted(report.failures, "failure mode") + ": " + ", ".join(map(mode_name, report.failures)))
    if report.strict and report.warnings and not report.failures:
        names = [w.layer_class + (f" {w.layer_name!r}" if w.layer_name else "") for w in report.warnings]
        parts.append(counted(report.warnings, "broadcast warning") + " (strict): " + ", ".join(names))
    if report.errors:
        first = report.errors[0]
        parts.append(counted(report.errors, "block error") + f": the block {error_verb(first.type)}: {first.message}")
    if report.interrupted:
        parts.append("interrupted before the check ended")
    return "; ".join(parts) or _first_line(report)


def first_finding(report) -> tuple:
    """``(headline, location)``: the first failure mode's headline as the
    report writes it (``shape failure: Add 'add' rejected input shapes ...
    (cause: channels)``, ``(1 of 4 failure modes)`` added when there are more),
    else the first strict warning's or block error's; ``location`` is where it
    is (a `Location`), else the block's definition, else None."""
    n = len(report.failures)
    if report.failures:
        failure = report.failures[0]
        cause = f" (cause: {failure.cause})" if failure.cause else ""
        more = f" (1 of {n} failure modes)" if n > 1 else ""
        line, location = f"{headline(failure)}{cause}{more}", failure.location
    elif report.strict and report.warnings:
        w = report.warnings[0]
        name = f" {w.layer_name!r}" if w.layer_name else ""
        line, location = f"broadcast warning (strict): {w.layer_class}{name}: {w.message}", w.location
    elif report.errors:
        error = report.errors[0]
        line, location = f"block error: the block {error_verb(error.type)}: {error.message}", error.location
    else:
        line, location = _first_line(report), None
    return " ".join(line.split()), location or report.definition


def render_short(report) -> str:
    """The report's first line, then per failure mode (and block error, and
    warning when strict) its headline, where, the minimal example and the call
    that reproduces it: the full report (`render_text`) without its explanations."""
    lines = [_first_line(report)]
    for i, failure in enumerate(report.failures, 1):
        cause = f" (cause: {failure.cause})" if failure.cause else ""
        lines += [f"  [{i}] {headline(failure)}{cause}", *_where(failure.location), *_example_lines(failure)]
    for error in report.errors:
        lines += [f"  [error] the block {error_verb(error.type)}: {error.message}", *_where(error.location),
                  *_example_lines(error)]
    for w in report.warnings if report.strict else ():
        name = f" {w.layer_name!r}" if w.layer_name else ""
        lines += [f"  [warning] broadcast (strict): {w.layer_class}{name}", *_where(w.location),
                  f"      example: {show_example(w.example)}", f"      reproduce: {w.call}"]
    return "\n".join(lines)


def _first_line(report) -> str:
    """``blocks.py::block: FAIL, 4 failure modes (all 128 combinations probed)``"""
    return render_text(report).split("\n", 1)[0]
