"""What mypy sees of the public API, as a user's typed code meets it: mypy
(the test extra's) runs in this process on a snippet, with ``--strict``, and
its ``reveal_type`` notes are read. A few seconds (a cache folder of its own);
imports no Keras (mypy reads the sources, it does not import them)."""

from __future__ import annotations

import textwrap

from mypy import api

SNIPPET = '''
from typing import Any

import shapeguard
from shapeguard import CheckSettings, Report, check, guard


def block(x: Any, filters: int = 8) -> Any:
    return x


@guard(filters=[8, 16], inputs={"x": "H,W,C"})
def declared(x: Any, filters: int = 8) -> Any:
    return x


class Blocks:
    @guard(filters=[8])
    def widen(self, x: Any, filters: int) -> Any:
        return x


def first_fix(report: Report) -> str | None:
    return report.failures[0].hint if report.failures else None


reveal_type(check(block))
reveal_type(shapeguard.assert_ok(block))
reveal_type(declared)
reveal_type(declared.check())
reveal_type(Blocks().widen(None, 8))
reveal_type(guard(Blocks))
reveal_type(check(block).failures[0].call)
reveal_type(CheckSettings(max_examples=20).max_examples)
reveal_type(shapeguard.ShapeCheckFailed)
reveal_type(shapeguard.__version__)
'''


def revealed(tmp_path) -> list[str]:
    (tmp_path / "snippet.py").write_text(textwrap.dedent(SNIPPET))
    out, err, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary",
                                str(tmp_path / "snippet.py")])
    notes = [line for line in out.splitlines() if "Revealed type is" in line]
    others = [line for line in out.splitlines() if "Revealed type is" not in line]
    assert others == [] and err == "", out + err  # --strict: no "untyped decorator", no Any leaking out
    return [line.split("Revealed type is ", 1)[1].strip('"') for line in notes]


def test_mypy_sees_the_public_api_typed(tmp_path):
    types = revealed(tmp_path)
    assert types[:2] == ["shapeguard.report.records.Report"] * 2
    assert types[2] == "shapeguard.decorator.Guarded[[x: Any, filters: int =], Any]"
    assert types[3] == "shapeguard.report.records.Report"  # block.check()
    assert types[4] == "Any"  # the method, called with self bound: its own return type
    assert types[5] == "def () -> snippet.Blocks"  # a class stays a class
    assert types[6:8] == ["str", "int | None"]
    assert types[8].startswith("def (report:") and types[8].endswith("-> shapeguard.errors.ShapeCheckFailed")
    assert types[9] == "str"
