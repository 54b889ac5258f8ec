"""One failure of every kind, one block error of every error type and a
broadcast warning, rendered through every format of `report.RENDERERS`, with
each heading pinned (jaxtyping's message test is the model).

Pure Python: the reports are made by hand, nothing imports Keras. A kind
added to `shapeguard._outcome` without its words in `report._words` fails here.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
import pytest

from shapeguard._outcome import DIED, FAILURE_KINDS, INTERNAL, NO_KERAS_CALL, TIMEOUT, Kind
from shapeguard._version import DOCS_URL, __version__
from shapeguard.report import RENDERERS, BlockError, BroadcastWarning, Failure, Location, Report, Scope, render

DATA = Path(__file__).parent / "data"
HERE = __file__
CALL = "block(keras.Input(shape=(7, 7, 16)), filters=32)"
EXAMPLE = {"C": 16, "H": 7, "filters": 32}

HEADINGS = {  # kind -> the failure's headline, the same in every format
    Kind.SHAPE: "shape failure: Add 'add' rejected input shapes (None, 7, 7, 64) and (None, 7, 7, 16)",
    Kind.CONFIG: "config failure: Conv2D 'conv2d' rejected its arguments for input shape (None, 7, 7, 48)",
    Kind.DECLARED: ("declared failure: MyLayer 'my_layer' declares an output shape its call() does not produce "
                    "for input shape (None, 7, 7, 16)"),
}
SOURCES = {Kind.SHAPE: "keras: ", Kind.CONFIG: "keras: ", Kind.DECLARED: "shapeguard: "}
SHAPES = {Kind.SHAPE: ((None, 7, 7, 64), (None, 7, 7, 16)), Kind.CONFIG: ((None, 7, 7, 48),),
          Kind.DECLARED: ((None, 7, 7, 16),)}
LAYERS = {Kind.SHAPE: ("Add", "add"), Kind.CONFIG: ("Conv2D", "conv2d"), Kind.DECLARED: ("MyLayer", "my_layer")}
ERRORS = {  # error type -> what the block did, in every format
    TIMEOUT: "the block hung", DIED: "the block could not be run to the end",
    NO_KERAS_CALL: "the block checked nothing", INTERNAL: "the block could not be checked",
    "TypeError": "the block raised TypeError",
}


def failure(kind) -> Failure:
    layer_class, layer_name = LAYERS[kind]
    return Failure(kind, layer_class, layer_name, Location(HERE, 10), f"a message of the {kind} kind",
                   SHAPES[kind], EXAMPLE, CALL, cause="channels")


def every_kind() -> Report:
    report = Report(target="blocks.py:block", mode="exhaustive", probes=4, space={"C": [16]}, size=4, seed=0)
    report.failures = [failure(kind) for kind in FAILURE_KINDS]
    report.errors = [BlockError(error_type, f"a {error_type} message", Location(HERE, 20), EXAMPLE, CALL)
                     for error_type in ERRORS]
    report.warnings = [BroadcastWarning("Add", "add_1", Location(HERE, 30), ((None, 8, 1), (None, 8, 32)), 2,
                                        EXAMPLE, CALL, 1)]
    return report


def test_every_failure_kind_has_a_heading():
    assert set(HEADINGS) == set(FAILURE_KINDS)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_kind_renders_in_every_format(fmt):
    text = render([every_kind()], fmt)
    assert text.endswith("\n")
    if fmt == "json":
        text = json.dumps(json.loads(text))  # as stored, without indentation
    if fmt == "html":
        text = seen(text)
    for kind, heading in HEADINGS.items():
        if fmt == "json":
            assert f'"kind": "{kind}"' in text
        else:
            assert heading in text, (fmt, kind)
            assert SOURCES[kind] + f"a message of the {kind} kind" in text, (fmt, kind)
    for error_type, what in ERRORS.items():
        assert (f'"type": "{error_type}"' if fmt == "json" else what) in text, (fmt, error_type)
    assert "broadcasts the channels of (None, 8, 1)" in text


def test_the_text_report_numbers_each_failure_under_its_heading():
    text = render([every_kind()], "text")
    for i, kind in enumerate(FAILURE_KINDS, 1):
        assert f"  [{i}] {HEADINGS[kind]} (cause: channels)" in text


def test_github_annotations_name_each_kind():
    lines = render([every_kind()], "github").splitlines()
    for kind in FAILURE_KINDS:
        assert any(line.startswith("::error ") and HEADINGS[kind] in line for line in lines), kind
        layer_class = LAYERS[kind][0]
        assert any(f",title=shapeguard%3A {layer_class} (channels)::" in line for line in lines), kind
    assert not any("config failure" in line for line in lines if "MyLayer" in line)  # was the 'declared' bug
    assert lines[-1].startswith("shapeguard: 1 target: 1 failed (3 failure modes)")


def test_sarif_is_valid_and_has_a_rule_for_every_kind():
    document = json.loads(render([every_kind()], "sarif"))
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    by_rule = {}
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        by_rule.setdefault(result["ruleId"], []).append(result["message"]["text"])
    assert sorted(by_rule) == sorted(["shapeguard/shape", "shapeguard/config", "shapeguard/declared",
                                      "shapeguard/block-error", "shapeguard/broadcast"])
    assert HEADINGS[Kind.DECLARED] in by_rule["shapeguard/declared"][0]
    assert len(by_rule["shapeguard/block-error"]) == len(ERRORS)


def seen(page: str) -> str:
    """What a reader of an HTML page sees: its text, without the tags and the style."""
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style>.*?</style>", "", page, flags=re.S)))


def test_the_notebook_shows_a_header_a_row_per_mode_and_the_rest_folded():
    report = every_kind()
    page = report._repr_html_()
    assert "<pre>" not in page  # not the terminal's text
    assert seen(page).startswith("FAIL blocks.py:block: 3 failure modes (all 4 combinations probed)")
    rows = len(report.failures) + len(report.errors) + len(report.warnings)
    assert page.count("<tr class='sg-mode'>") == rows and page.count("<details>") == rows
    first = page.split("<tr class='sg-mode'>")[1].split("</tr>")[0]
    assert [seen(cell) for cell in re.findall(r"<td>(.*?)</td>", first)] == [
        "1", "shape failure", f"Add 'add'{Location(HERE, 10).shown()}",
        "channels", "C=16, H=7, filters=32", ""]


def test_the_notebook_escapes_what_the_user_wrote():
    report = every_kind()
    hostile = "<script>alert(1)</script>"
    report.target = f"blocks.py:{hostile}"
    report.failures = [Failure("shape", "Add", hostile, Location(HERE, 10), f"a {hostile} message", ((None, 2),),
                               {"C": hostile}, f"block({hostile!r})", cause="channels")]
    page = render([report], "html")
    assert "<script>" not in page and seen(page).count(hostile) >= 4


def test_the_notebook_grid_keeps_its_marks_as_text_in_one_table():
    report = every_kind()
    report.grid = {"rows": "C", "columns": "filters", "row_values": [8, 16], "column_values": [8, 16, 32],
                   "cells": [["pass", "fail", "some"], ["fail", "pass", "none"]]}
    page = report._repr_html_()
    assert page.count("<table class='sg-grid'>") == 1 and "<caption>C down, filters across</caption>" in page
    grid = page.split("<table class='sg-grid'>")[1].split("</table>")[0]
    marks = [html.unescape(m) for m in re.findall(r"<td class='sg-\w+' title='[^']*'>(.*?)</td>", grid)]
    assert marks == [".", "#", "+", "#", ".", " "]  # the text report's marks, row by row
    assert seen(grid).count("C=") == 2 and seen(grid).count("filters=") == 3


def test_a_file_is_shown_as_a_path_outside_a_notebook_and_showing_it_never_imports_ipython(monkeypatch):
    import sys

    for name in [name for name in sys.modules if name == "IPython" or name.startswith("IPython.")]:
        monkeypatch.delitem(sys.modules, name)
    assert Location("/tmp/ipykernel_12345/3412.py", 5).shown() == "/tmp/ipykernel_12345/3412.py:5"
    assert "IPython" not in sys.modules


def sarif_run(reports, scope=None) -> dict:
    document = json.loads(render(reports, "sarif", scope=scope))
    jsonschema.validate(document, json.loads((DATA / "sarif-schema-2.1.0.json").read_text()),
                        format_checker=jsonschema.FormatChecker())
    return document["runs"][0]


def test_every_sarif_rule_has_help_and_links_to_its_section_of_the_docs():
    run = sarif_run([every_kind()])
    driver = run["tool"]["driver"]
    assert (driver["version"], driver["semanticVersion"], driver["informationUri"]) == (
        __version__, __version__, DOCS_URL)
    for rule in driver["rules"]:
        assert rule["helpUri"] == f"{DOCS_URL}reference/rules/#{rule['id'].removeprefix('shapeguard/')}"
        assert rule["help"]["text"] and "`" not in rule["help"]["text"]
        assert rule["help"]["markdown"].replace("`", "") == rule["help"]["text"]


def test_sarif_uris_resolve_against_srcroot_to_the_files_from_the_repository_root(tmp_path, monkeypatch):
    root = tmp_path.resolve()  # as the current directory reads it (macOS's /tmp is a link)
    (root / ".git").mkdir()
    (root / "tools").mkdir()
    monkeypatch.chdir(root / "tools")  # a subfolder: the URIs are still from the root
    report = every_kind()
    blocks = root / "src dir" / "blocks.py"
    report.failures = [Failure(Kind.SHAPE, "Add", "add", Location(str(blocks), 10), "m", SHAPES[Kind.SHAPE],
                               EXAMPLE, CALL, cause="channels")]
    run = sarif_run([report])
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.endswith("/") and unquote(urlsplit(base).path) == f"{root}/"
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert (artifact["uri"], artifact["uriBaseId"]) == ("src%20dir/blocks.py", "%SRCROOT%")
    assert unquote(urlsplit(urljoin(base, artifact["uri"])).path) == str(blocks)
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
               for r in run["results"])


def test_the_sarif_category_is_the_targets_from_the_repository_root_or_the_one_given(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "src" / "models").mkdir(parents=True)
    (tmp_path / "src" / "models" / "blocks.py").write_text("")
    monkeypatch.chdir(tmp_path)
    from_root = sarif_run([], Scope(targets=("src/models/blocks.py:block", "src")))["automationDetails"]
    monkeypatch.chdir(tmp_path / "src")
    from_src = sarif_run([], Scope(targets=(".", "models/blocks.py:block")))["automationDetails"]
    assert from_root == from_src == {"id": "shapeguard/src,src/models/blocks.py:block/"}
    given = sarif_run([], Scope(targets=(".",), category="backend-jax"))["automationDetails"]
    assert given == {"id": "shapeguard/backend-jax/"}


def test_two_sarif_modes_that_differ_only_by_line_get_two_fingerprints():
    report = every_kind()
    twin = failure(Kind.SHAPE)  # the same layer class failing for the same cause, two lines further down
    report.failures.append(Failure(twin.kind, twin.layer_class, twin.layer_name, Location(HERE, 12), twin.message,
                                   twin.input_shapes, EXAMPLE, CALL, cause=twin.cause))
    results = sarif_run([report])["results"]
    prints = [r["partialFingerprints"]["shapeguard/v1"] for r in results]
    assert len(set(prints)) == len(prints)
    first, second = (p for p, r in zip(prints, results) if r["ruleId"] == "shapeguard/shape")
    assert (first.replace(":1", ":2"), second[-2:]) == (second, ":2")


def test_a_github_annotation_carries_the_fix_line():
    report = every_kind()
    plain = failure(Kind.SHAPE)
    report.failures = [Failure(plain.kind, plain.layer_class, plain.layer_name, plain.location, plain.message,
                               plain.input_shapes, EXAMPLE, CALL, cause="channels",
                               hint="project the shortcut: Conv2D(64, 1)(x)")]
    [annotation] = [line for line in render([report], "github").splitlines() if "title=shapeguard%3A Add" in line]
    assert annotation.endswith("%0Afix: project the shortcut: Conv2D(64, 1)(x)")


def test_the_short_forms_name_every_kind():
    # pytest's --tb=short, --tb=line and short summary (tests/test_pytest_plugin.py runs them in pytest).
    from shapeguard.report.text import first_finding, render_short, what_failed

    report = every_kind()
    short = render_short(report)
    assert short.splitlines()[0] == "blocks.py:block: FAIL, 3 failure modes (all 4 combinations probed)"
    for kind in FAILURE_KINDS:
        assert f"  [{FAILURE_KINDS.index(kind) + 1}] {HEADINGS[kind]} (cause: channels)" in short
    for what in ERRORS.values():
        assert f"  [error] {what}: " in short
    assert short.count(f"reproduce: {CALL}") == len(FAILURE_KINDS) + len(ERRORS)  # no warning: not strict
    assert "keras: " not in short and "grid" not in short
    assert what_failed(report) == ("3 failure modes: Add (channels), Conv2D (channels), MyLayer (channels); "
                                   f"5 block errors: the block hung: a {TIMEOUT} message")
    headline, location = first_finding(report)
    assert headline == f"{HEADINGS[FAILURE_KINDS[0]]} (cause: channels) (1 of 3 failure modes)"
    assert location == Location(HERE, 10)

    report.failures, report.strict = [], True  # only the broadcast, which fails a strict check
    assert what_failed(report).startswith("1 broadcast warning (strict): Add 'add_1'; 5 block errors: ")
    assert first_finding(report) == (
        "broadcast warning (strict): Add 'add_1': " + report.warnings[0].message, Location(HERE, 30))
    assert "  [warning] broadcast (strict): Add 'add_1'" in render_short(report)
