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

import difflib
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


def _as_axis(name: str, value) -> str:
    """The hint for a list given where a setting is read: it was meant as an axis."""
    if isinstance(value, (list, tuple)):
        return f"; to search an axis named {name}, pass axes={{{name!r}: {value!r:.40}}}"
    return ""


def _validate_max_examples(value) -> None:
    if value is not None and (not _is_int(value) or value < 1):
        raise ShapeguardError(f"max_examples must be a positive integer, not {value!r}"
                              f"{_as_axis('max_examples', value)}.")


def _validate_seed(value) -> None:
    if value is not None and not _is_int(value):
        raise ShapeguardError(f"seed must be an integer, not {value!r}{_as_axis('seed', value)}.")


def _validate_exhaustive(value) -> None:
    if value is not None and not isinstance(value, bool):
        raise ShapeguardError(f"exhaustive must be True, False or None, not {value!r}{_as_axis('exhaustive', value)}.")


def _validate_database(value) -> None:
    if value is None or isinstance(value, (bool, str, os.PathLike)):
        return
    if not all(hasattr(value, m) for m in ("fetch", "save", "delete")):
        raise ShapeguardError(
            f"database must be True, False, None, a directory or an ExampleDatabase, not {value!r:.60}"
            f"{_as_axis('database', value)}."
        )


def _validate_timeout(value) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT
    if value is not None and not ok:
        raise ShapeguardError(f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:,} (a week), "
                              f"or None for no limit, not {value!r}{_as_axis('timeout', value)}.")


def _validate_strict(value) -> None:
    if not isinstance(value, bool):
        raise ShapeguardError(f"strict must be True or False, not {value!r:.60}{_as_axis('strict', value)}.")


_UNSET = object()
_DEFAULTS = {"max_examples": None, "seed": None, "exhaustive": None, "database": None, "timeout": DEFAULT_TIMEOUT,
             "strict": False}


@dataclass(frozen=True, init=False)
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

    The record remembers which fields were given: a check's settings win over
    the decorator's field by field, for the fields it gave (`over`), even when
    it gave a field's default (``strict=False`` over ``@guard(strict=True)``).
    Raises `ShapeguardError` for a bad value or an unknown field.
    """

    max_examples: int | None
    seed: int | None
    exhaustive: bool | None
    database: Any
    timeout: float | None
    strict: bool

    def __init__(self, **given: Any) -> None:
        unknown = sorted(set(given) - set(_DEFAULTS))
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(_DEFAULTS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" The settings are {', '.join(_DEFAULTS)}."
            raise ShapeguardError(f"CheckSettings has no setting {unknown[0]!r}.{hint}")
        for name, default in _DEFAULTS.items():
            value = given.get(name, default)
            _VALIDATORS[name](value)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_given", frozenset(given))

    def given(self, name: str) -> bool:
        """Whether ``name`` was given (not left at its default)."""
        return name in self._given

    @property
    def explicit(self) -> frozenset:
        """The names of the fields that were given."""
        return self._given

    def replace(self, **changes) -> CheckSettings:
        """A copy with ``changes`` (validated); what was given stays given,
        and a budget or seed `over` resolved stays resolved."""
        result = CheckSettings(**{name: getattr(self, name) for name in self._given}, **changes)
        return _resolved(result, self.max_examples, self.seed)

    def over(self, declared: CheckSettings | None) -> CheckSettings:
        """These settings over the decorator's (``declared``): each field
        these gave, else the declared one, else the default; then
        ``max_examples`` and ``seed`` still unset take 100 and 0 (and are
        still not `given`)."""
        merged = {}
        for name in _DEFAULTS:
            if self.given(name):
                merged[name] = getattr(self, name)
            elif declared is not None and declared.given(name):
                merged[name] = getattr(declared, name)
        return _resolved(CheckSettings(**merged), DEFAULT_MAX_EXAMPLES, DEFAULT_SEED)

    def under(self, defaults: dict[str, Any]) -> CheckSettings:
        """These settings (a check's `over` the decorator's), with each field
        that neither gave taken from ``defaults``, the project's
        ``[tool.shapeguard]`` (`shapeguard._config`): a flag beats the
        decorator, which beats the project, which beats shapeguard's default."""
        missing = {name: value for name, value in defaults.items() if not self.given(name)}
        return self.replace(**missing) if missing else self


def _resolved(settings: CheckSettings, max_examples, seed) -> CheckSettings:
    """``settings`` with an unset budget and seed taking these values, still
    not "given": a budget nobody gave leaves the check to the time budget
    (`search.budget`), and a seed nobody gave is still the same on every run."""
    if settings.max_examples is None:
        object.__setattr__(settings, "max_examples", max_examples)
    if settings.seed is None:
        object.__setattr__(settings, "seed", seed)
    return settings


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
