"""What ``shapeguard check`` shows on a terminal: colour (``--color``,
``NO_COLOR``, ``FORCE_COLOR``) in the text report only, and the progress line
on standard error with its phase and total, only on a terminal and never with
``--quiet``. The terminal is faked (a stream that says it is one); the runs
are `cli.run_check` in this process, on a block Keras rejects at one of its
two points (confirmed with plain Keras)."""

from __future__ import annotations

import io
import json
import re
import sys

import pytest

from shapeguard._terminal import Progress, wants_colour

ANSI = re.compile(r"\033\[[0-9;]*m")

BLOCK = '''
from keras import layers


def plain(x):
    return layers.Add()([layers.Dense(4)(x), x])
'''


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("choice, environ, tty, coloured", [
    ("auto", {}, True, True),
    ("auto", {}, False, False),  # a pipe or a file
    ("auto", {"TERM": "dumb"}, True, False),
    ("auto", {"NO_COLOR": "1"}, True, False),
    ("auto", {"NO_COLOR": ""}, True, True),  # empty is unset (no-color.org)
    ("auto", {"FORCE_COLOR": "1"}, False, True),
    ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR over FORCE_COLOR
    ("always", {"NO_COLOR": "1"}, False, True),  # the flag over both
    ("never", {"FORCE_COLOR": "1"}, True, False),
])
def test_colour_is_the_flag_then_no_color_then_force_color_then_the_terminal(choice, environ, tty, coloured):
    stream = FakeTerminal() if tty else io.StringIO()
    assert wants_colour(choice, stream, environ) is coloured


def test_the_progress_line_says_the_phase_and_the_total():
    terminal = FakeTerminal()
    progress = Progress(terminal, "blocks.py:block")
    progress.update(2, 0)
    progress.phase("probing", 128)
    progress.update(37, 2)
    assert terminal.getvalue().rsplit("\r", 1)[-1] == "blocks.py:block: probing 37/128 · 2 modes"
    progress.phase("explaining")
    assert terminal.getvalue().rsplit("\r", 1)[-1] == "blocks.py:block: explaining · 37 probes · 2 modes"
    progress.clear()
    assert terminal.getvalue().endswith("\r" + " " * len("blocks.py:block: explaining · 37 probes · 2 modes") + "\r")
    raw = io.BytesIO()
    ascii_only = io.TextIOWrapper(raw, encoding="ascii")  # LANG=C
    Progress(ascii_only, "b").update(1, 1)
    assert raw.getvalue() == b"\rb: probing 1 - 1 mode"


@pytest.fixture
def run(tmp_path, monkeypatch, capfd):
    """``shapeguard check blocks.py:plain ARGS`` here; returns (status, stdout, stderr)."""
    from shapeguard import cli

    (tmp_path / "blocks.py").write_text(BLOCK)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)

    def run_(*args: str, terminal: bool = False):
        monkeypatch.setattr(cli, "isatty", lambda stream: terminal)  # standard error, for the progress line
        sys.modules.pop("blocks", None)
        status = cli.run_check(cli.build_parser().parse_args(["check", "blocks.py:plain", *args]))
        out, err = capfd.readouterr()
        return status, out, err

    yield run_
    sys.modules.pop("blocks", None)


@pytest.mark.keras
def test_the_text_report_is_coloured_only_when_asked_or_on_a_terminal(run, monkeypatch, tmp_path):
    status, out, _ = run("--input", "x=4,C", "--axis", "C=4,8", "-q", "--color", "always")
    assert status == 1
    assert "\033[1m\033[31mshape failure\033[0m: Add 'add'" in out
    assert "reproduce: \033[1mplain(keras.Input(shape=(4, 8)))\033[0m" in out
    assert re.search(r"blocks\.py:plain: \033\[1m\033\[31mFAIL\033\[0m, 1 failure mode", out)
    plain = ANSI.sub("", out)

    assert run("--input", "x=4,C", "--axis", "C=4,8", "-q", "--color", "never")[1] == plain
    assert run("--input", "x=4,C", "--axis", "C=4,8", "-q")[1] == plain  # auto: the captured output is no terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert run("--input", "x=4,C", "--axis", "C=4,8", "-q")[1] == out
    monkeypatch.setenv("NO_COLOR", "1")
    assert run("--input", "x=4,C", "--axis", "C=4,8", "-q")[1] == plain
    for fmt in ("json", "github", "sarif"):
        assert not ANSI.search(run("--input", "x=4,C", "--axis", "C=4,8", "-q", "--color", "always", "--format", fmt)[1]), fmt
    run("--input", "x=4,C", "--axis", "C=4,8", "-q", "--color", "always", "--output", "report.txt")
    assert (tmp_path / "report.txt").read_text() == plain

    from helpers.plain_keras import confirm

    from shapeguard import check

    namespace: dict = {}
    exec(compile(BLOCK, str(tmp_path / "blocks.py"), "exec"), namespace)
    [failure] = check(namespace["plain"], inputs={"x": "4,C"}, C=[4, 8]).failures
    assert f"reproduce: {failure.call}" in plain
    confirm(failure, namespace)


@pytest.mark.keras
def test_progress_shows_its_phases_on_a_terminal_only_and_never_when_quiet(run):
    status, out, err = run("--input", "x=4,C", "--axis", "C=4,8,16", "--format", "json", terminal=True)
    assert status == 1 and json.loads(out)["targets"][0]["status"] == "fail"
    lines = [line.strip() for line in err.split("\r") if line.strip()]
    assert lines[0] == "shapeguard: collecting blocks (importing the targets)"
    assert "blocks.py:plain: probing 3/3 · 1 mode" in lines
    phases = [line.split(": ")[1].split()[0] for line in lines[1:]]
    assert [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p] == [
        "probing", "shrinking", "confirming", "explaining"]
    assert err.endswith("\r")  # the line is cleared before the report

    assert run("--input", "x=4,C", "--axis", "C=4,8,16", "--format", "json", "-q", terminal=True)[2] == ""
    assert run("--input", "x=4,C", "--axis", "C=4,8,16", "--format", "json")[2] == ""  # not a terminal
