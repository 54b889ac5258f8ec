"""What the command line shows on a terminal besides the report: whether the
text report is coloured (`wants_colour`) and the progress line on standard
error (`Progress`). Neither is shown anywhere else: not in a pipe, a file,
CI logs read as files, json, github or sarif."""

from __future__ import annotations

import os
from typing import Mapping, TextIO


def isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_colour(choice: str, stream, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour or not, for ``--color`` ``choice`` (``auto``, ``always``,
    ``never``) and the report's ``stream``: the flag, else ``NO_COLOR`` (any
    non-empty value: none, https://no-color.org), else ``FORCE_COLOR`` (any
    non-empty value: colour), else only on a terminal that is not ``TERM=dumb``."""
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return isatty(stream) and environ.get("TERM") != "dumb"


class Progress:
    """One status line on the terminal, rewritten after every probe and
    phase: ``blocks.py:block: probing 37/128 · 2 modes``. The total is the
    search's budget (``max_examples``, or every combination of an exhaustive
    run); the phases are ``collecting`` (importing the targets), ``probing``,
    ``shrinking`` (the minimal call of each mode), ``confirming`` (each on
    plain Keras) and ``explaining`` (conditions, fixes, nearest passes)."""

    def __init__(self, stream: TextIO, target: str, phase: str = "probing"):
        self.stream, self.target, self.shown = stream, target, 0
        self.name, self.probes, self.modes = phase, 0, 0
        self.total: int | None = None
        self.dot = "·"
        try:  # a terminal that cannot show it (LANG=C) gets a hyphen
            "·".encode(getattr(stream, "encoding", None) or "utf-8")
        except (LookupError, UnicodeEncodeError):
            self.dot = "-"

    def phase(self, name: str, total: int | None = None) -> None:
        self.name, self.total = name, total
        self.show()

    def update(self, probes: int, modes: int) -> None:
        self.probes, self.modes = probes, modes
        self.show()

    def text(self) -> str:
        """The line's counts: ``probing 37/128 · 2 modes``; a total the count has
        passed (probes made before the search) is left out rather than shown wrong."""
        if self.name == "collecting":
            return "collecting blocks (importing the targets)"
        count = self.probes
        if self.name == "probing" and self.total is not None and count <= self.total:
            counted = f" {count}/{self.total}"
        else:
            counted = f" {self.dot} {count} probe{'s' * (count != 1)}" if self.name != "probing" else f" {count}"
        return f"{self.name}{counted} {self.dot} {self.modes} mode{'s' * (self.modes != 1)}"

    def show(self) -> None:
        counts = ": " + self.text()
        room = max(_terminal_width(self.stream) - 1 - len(counts), 12)  # a wrapped line cannot be rewritten
        target = self.target if len(self.target) <= room else "..." + self.target[-(room - 3):]
        line = target + counts
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


def _terminal_width(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80
