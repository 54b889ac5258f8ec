"""How a check runs, apart from what it checks: one frozen, validated record
for all three doors (modelled on Hypothesis's ``settings``).

`CheckSettings` holds the options of a search (budget, seed, exhaustive,
example database, time limit, strict); the contract (axes, templates,
constraints) is the space's. Each field is validated when the record is made,
so a bad value is the caller's `ShapeguardError` before anything runs, in
Python's spelling (``max_examples=0``); the command line validates its flags
with argparse types first (`shapeguard._options`). ``None`` in
``max_examples`` and ``seed`` means "the decorator's, else the default".
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from ._options import MAX_TIMEOUT
from .errors import ShapeguardError

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_SEED = 0
DEFAULT_TIMEOUT = 60.0  # seconds


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_max_examples(value) -> None:
    if value is not None and (not _is_int(value) or value < 1):
        raise ShapeguardError(f"max_examples must be a positive integer, not {value!r}.")


def _validate_seed(value) -> None:
    if value is not None and not _is_int(value):
        raise ShapeguardError(f"seed must be an integer, not {value!r}.")


def _validate_exhaustive(value) -> None:
    if value is not None and not isinstance(value, bool):
        raise ShapeguardError(f"exhaustive must be True, False or None, not {value!r}.")


def _validate_database(value) -> None:
    if value is None or isinstance(value, (bool, str, os.PathLike)):
        return
    if not all(hasattr(value, m) for m in ("fetch", "save", "delete")):
        raise ShapeguardError(
            f"database must be True, False, None, a directory or an ExampleDatabase, not {value!r:.60}."
        )


def _validate_timeout(value) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT
    if value is not None and not ok:
        raise ShapeguardError(f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:,} (a week), "
                              f"or None for no limit, not {value!r}.")


def _validate_strict(value) -> None:
    if not isinstance(value, bool):
        raise ShapeguardError(f"strict must be True or False, not {value!r:.60}; to search an axis named "
                              f"strict, pass axes={{'strict': {value!r:.40}}}.")


@dataclass(frozen=True)
class CheckSettings:
    """The options of one check. Fields:

    * ``max_examples``: the probe budget (default 100, or the decorator's); a
      space no larger is enumerated exhaustively.
    * ``seed``: changes the search, not what it means (default 0, or the
      decorator's: the same code gives the same report).
    * ``exhaustive``: True probes every point whatever the size; None decides by size.
    * ``database``: off (None/False) by default; True uses Hypothesis's
      (``.hypothesis/``), or a directory or an ``ExampleDatabase``.
    * ``timeout``: seconds one call of the block may take (default 60; None: no limit).
    * ``strict``: broadcast warnings fail the check.

    Raises `ShapeguardError` for a bad value.
    """

    max_examples: int | None = None
    seed: int | None = None
    exhaustive: bool | None = None
    database: Any = None
    timeout: float | None = DEFAULT_TIMEOUT
    strict: bool = False

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            _VALIDATORS[item.name](getattr(self, item.name))

    def replace(self, **changes) -> CheckSettings:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)

    def over(self, declared: CheckSettings | None) -> CheckSettings:
        """These settings over the decorator's (``declared``): a field left at
        its default takes the declared value; then ``max_examples`` and
        ``seed`` still unset take the defaults (100 and 0)."""
        merged = {}
        for item in dataclasses.fields(self):
            mine = getattr(self, item.name)
            merged[item.name] = getattr(declared, item.name) if declared is not None and mine == item.default else mine
        if merged["max_examples"] is None:
            merged["max_examples"] = DEFAULT_MAX_EXAMPLES
        if merged["seed"] is None:
            merged["seed"] = DEFAULT_SEED
        return CheckSettings(**merged)


_VALIDATORS = {
    "max_examples": _validate_max_examples,
    "seed": _validate_seed,
    "exhaustive": _validate_exhaustive,
    "database": _validate_database,
    "timeout": _validate_timeout,
    "strict": _validate_strict,
}
SETTING_NAMES = tuple(_VALIDATORS)


def split_settings(settings: CheckSettings | None, more_axes: dict) -> tuple[CheckSettings, dict]:
    """``check(block, max_examples=10, C=[8])``: keywords that name a setting
    are settings (the calls written before `CheckSettings` existed), the rest
    axes; ``settings=`` and a setting keyword together are one too many."""
    if settings is not None and not isinstance(settings, CheckSettings):
        raise ShapeguardError(f"settings must be a shapeguard.CheckSettings, not {settings!r:.60}.")
    given = {name: more_axes.pop(name) for name in SETTING_NAMES if name in more_axes}
    if settings is not None and given:
        raise ShapeguardError(f"give {', '.join(given)} in settings=CheckSettings(...) or as keywords, not both.")
    return (settings if settings is not None else CheckSettings(**given)), more_axes
