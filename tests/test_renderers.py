"""One failure of every kind, one block error of every error type and a
broadcast warning, rendered through every format of `report.RENDERERS`, with
each heading pinned (jaxtyping's message test is the model).

Pure Python: the reports are made by hand, nothing imports Keras. A kind
added to `shapeguard._outcome` without its words in `report._words` fails here.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import jsonschema
import pytest

from shapeguard._outcome import DIED, FAILURE_KINDS, INTERNAL, NO_KERAS_CALL, TIMEOUT, Kind
from shapeguard.report import RENDERERS, BlockError, BroadcastWarning, Failure, Location, Report, render

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
        text = html.unescape(text)
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


def test_the_notebook_shows_the_text_report():
    page = render([every_kind()], "html")
    assert page.startswith("<div class='shapeguard-report'><pre>")
    assert "declares an output shape its call() does not produce" in page


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
