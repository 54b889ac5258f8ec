"""Argument types shared by the command line and the pytest plugin.

Kept apart from `cli` so that the pytest plugin, loaded in every pytest
session, imports only this (and argparse) rather than the whole command."""

from __future__ import annotations

import argparse

MAX_TIMEOUT = 604_800  # seconds (a week); the system's interval timer overflows far beyond


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds up to {MAX_TIMEOUT} (a week), "
                                         f"got {text!r}")
    return value


# The same values, checked where the API receives them (`check`, `@guard`):
# a bad one is the caller's error, a ShapeguardError, before anything runs.

def check_max_examples(value) -> None:
    from .errors import ShapeguardError

    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ShapeguardError(f"max_examples must be a positive integer, not {value!r}.")


def check_seed(value) -> None:
    from .errors import ShapeguardError

    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ShapeguardError(f"seed must be an integer, not {value!r}.")


def check_timeout(value) -> None:
    from .errors import ShapeguardError

    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT
    if value is not None and not ok:
        raise ShapeguardError(f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:,} (a week), "
                              f"or None for no limit, not {value!r}.")


def check_exhaustive(value) -> None:
    from .errors import ShapeguardError

    if value is not None and not isinstance(value, bool):
        raise ShapeguardError(f"exhaustive must be True, False or None, not {value!r}.")
