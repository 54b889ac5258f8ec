"""What a run was asked to check, beyond the reports: how many blocks it found
and the ones it could not check (docs/reference/cli.md), and the counts
every format's summary gives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotChecked:
    """A block found in a bare module, file or folder that could not be
    checked without options: ``reason`` is the one sentence saying what it
    needs (in the command line's syntax), without the target in front."""

    target: str
    reason: str
    file: str | None = None  # where the block is defined, when known
    line: int | None = None


@dataclass(frozen=True)
class Scope:
    """``paths``: the targets as given that found a block; ``discovered``:
    whether one of the targets was a bare module, file or folder (the summary
    then says what was found); ``found``: the blocks found, checked or not
    (None: one per report); ``targets``: every target as given; ``category``:
    the SARIF run's category when one is given (``SHAPEGUARD_SARIF_CATEGORY``),
    else the targets name it."""

    paths: tuple = ()
    discovered: bool = False
    found: int | None = None
    not_checked: tuple = ()  # NotChecked, in file order
    targets: tuple = ()
    category: str = ""


def tally(reports, scope: Scope | None = None) -> dict:
    """The summary's counts, as the JSON document gives them."""
    not_checked = len(scope.not_checked) if scope is not None else 0
    found = scope.found if scope is not None and scope.found is not None else len(reports) + not_checked
    return {
        "found": found,
        "checked": len(reports),
        "not_checked": not_checked,
        "failed": sum(r.status == "fail" for r in reports),
        "failure_modes": sum(len(r.failures) for r in reports),
        "block_errors": sum(r.status == "error" for r in reports),
        "passed": sum(r.status == "pass" for r in reports),
    }
