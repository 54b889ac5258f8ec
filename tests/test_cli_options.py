"""The command-line reference's options table (docs/reference/cli.md) of `shapeguard check` against the argument
parser: every option the parser takes is documented, and nothing else is
(the table had drifted: no `sarif`, `--strict` or `--input-shape`). Pure Python."""

from __future__ import annotations

import re
from pathlib import Path

from shapeguard.cli import FORMATS, build_parser

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md"


def _table_rows() -> list[str]:
    section = PAGE.read_text().split("**Options.**", 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("| `"):
            rows.append(line)
        elif rows and not line.startswith("|"):
            break
    return rows


def test_every_option_of_the_parser_is_in_the_reference_and_nothing_else():
    check = build_parser()._subparsers._group_actions[0].choices["check"]
    parsed = {flag for action in check._actions for flag in action.option_strings} - {"-h", "--help"}
    documented = {flag for row in _table_rows() for flag in re.findall(r"(--?[a-z][a-z-]*)", row.split("|")[1])}
    assert documented - {"--version"} == parsed
    format_row = next(row for row in _table_rows() if row.startswith("| `--format"))
    assert re.findall(r"[a-z]+", format_row.split("`")[1].removeprefix("--format")) == list(FORMATS)


# Read by shapeguard's own processes, never set by a user: the watched child's
# channel, known deaths and its watcher's pid (`_supervise`, `_sandbox`).
INTERNAL_VARIABLES = {"SHAPEGUARD_CHANNEL", "SHAPEGUARD_DEATHS", "SHAPEGUARD_SUPERVISOR"}
# Read to key the cache or to quiet TensorFlow, documented with what reads them.
NOT_IN_HELP = {"KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL", "TERM"}


def test_every_environment_variable_the_code_reads_is_in_the_help():
    """Found in the sources (``os.environ.get("X")``, ``ENV_X = "X"``), so a
    new variable cannot go undocumented."""
    import shapeguard
    from shapeguard.cli import _EPILOG

    package = Path(shapeguard.__file__).parent
    read = set()
    for source in package.rglob("*.py"):
        text = source.read_text()
        read |= set(re.findall(r"environ(?:\.get|\.pop|\.setdefault)?[(\[]\s*\"([A-Z_]+)\"", text))
        read |= set(re.findall(r"^[A-Z_]+ = \"((?:SHAPEGUARD|KERAS|NO|FORCE)_[A-Z_]+)\"", text, re.M))
    assert {"NO_COLOR", "SHAPEGUARD_TRACEBACK", "KERAS_BACKEND"} <= read  # the search finds them at all
    listed = set(re.findall(r"^  ([A-Z_]+) ", _EPILOG.split("environment:")[1], re.M))
    assert read - INTERNAL_VARIABLES - NOT_IN_HELP == listed
