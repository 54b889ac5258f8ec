"""Argument types shared by the command line and the pytest plugin.

Kept apart from `cli` so that the pytest plugin, loaded in every pytest
session, imports only this (and argparse) rather than the whole command. The
same values given through the API are validated by `_settings.CheckSettings`."""

from __future__ import annotations

import argparse

MAX_TIMEOUT = 604_800  # seconds (a week); the system's interval timer overflows far beyond
FORMATS = ("text", "json", "github", "sarif")  # of report.RENDERERS; html is the notebook's
COLOR_CHOICES = ("auto", "always", "never")  # --color


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
