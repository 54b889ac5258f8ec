"""Exceptions shapeguard raises itself (as opposed to the ones it reports).

A `ShapeguardError` is one sentence a person can act on, made of parts and
written out at the door it leaves through: a *subject* (what the sentence is
about: the target, ``examples/block.py:block``), an *option* (the option of
the user's that it is about, which writes itself in either door's syntax) and
a *reason*::

    ShapeguardError("dimension 'C/2': 'C/2' uses the operator /; ...",
                    subject="examples/block.py:block", option=InputOption("x", "H,H,C/2"))

    str(exc)       examples/block.py:block: inputs={'x': 'H,H,C/2'}: dimension 'C/2': ...
    exc.for_cli()  examples/block.py:block: --input x=H,H,C/2: dimension 'C/2': ...

An option may also stand inside the reason, which is then a tuple of parts
(strings and options): ``("give some, e.g. ", AxisOption("C", (8, 16)), ".")``
reads ``give some, e.g. C=[8, 16].`` in Python and ``give some, e.g. --axis
C=8,16.`` on the command line. So no sentence is written twice, and none is
edited as a string after it is raised: a layer that knows more than the one
that raised (the target, the option a template came from) adds it with
`ShapeguardError.with_context`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._show import show_value

PYTHON = "python"  # shapeguard.check, @guard, pytest --shapeguard
CLI = "cli"  # shapeguard check


class Option:
    """One of the user's options, as each door spells it."""

    def python(self) -> str:
        raise NotImplementedError

    def cli(self) -> str:
        raise NotImplementedError

    def render(self, door: str) -> str:
        return self.cli() if door == CLI else self.python()


@dataclass(frozen=True)
class AxisOption(Option):
    """Values for an axis: ``C=[8, 16]`` / ``--axis C=8,16``."""

    name: str
    values: tuple

    def python(self) -> str:
        return f"{self.name}=[" + ", ".join(map(show_value, self.values)) + "]"

    def cli(self) -> str:
        return f"--axis {self.name}=" + ",".join(map(show_value, self.values))


@dataclass(frozen=True)
class ObjectOption(Option):
    """An object for a parameter, one shapeguard cannot make (a config, a
    backbone model): ``backbone=[my_backbone]`` / ``--axis
    backbone=mymodule.BACKBONE`` (the command line imports a dotted name)."""

    name: str

    def python(self) -> str:
        return f"{self.name}=[my_{self.name}]"

    def cli(self) -> str:
        return f"--axis {self.name}=mymodule.{self.name.upper()}"


@dataclass(frozen=True)
class InputOption(Option):
    """A tensor parameter's template: ``inputs={'x': 'H,H,C'}`` / ``--input x=H,H,C``."""

    param: str
    template: Any  # as given: a string, or in Python a tuple or list

    def python(self) -> str:
        return f"inputs={{{self.param!r}: {self.template!r}}}"

    def cli(self) -> str:
        return f"--input {self.param}={self.template}"


@dataclass(frozen=True)
class InputShapeOption(Option):
    """A shape parameter's template: ``input_shapes={'input_shape': 'H,H,3'}`` /
    ``--input-shape input_shape=H,H,3``."""

    param: str
    template: Any

    def python(self) -> str:
        return f"input_shapes={{{self.param!r}: {self.template!r}}}"

    def cli(self) -> str:
        return f"--input-shape {self.param}={self.template}"


@dataclass(frozen=True)
class WhereOption(Option):
    """One constraint, ``where='filters % groups == 0'`` / ``--where 'filters %
    groups == 0'``, or several: ``where=['a', 'b']`` / ``--where 'a' --where 'b'``."""

    texts: tuple

    def __init__(self, texts: str | tuple | list):
        object.__setattr__(self, "texts", (texts,) if isinstance(texts, str) else tuple(texts))

    def python(self) -> str:
        return f"where={self.texts[0]!r}" if len(self.texts) == 1 else f"where={list(self.texts)!r}"

    def cli(self) -> str:
        return " ".join(f"--where {text!r}" for text in self.texts)


@dataclass(frozen=True)
class FitOption(Option):
    """Data given to ``check_fit``: ``x=(60000, 28, 28)`` / ``--fit x=60000,28,28``;
    ``x['image']`` / ``--fit x.image=...`` for a dict's entry; without a role,
    the value alone: ``(60000, 28, 28)`` / ``60000,28,28``."""

    role: str
    value: Any

    def python(self) -> str:
        return f"{self.role}={self.value!r}" if self.role else repr(self.value)

    def cli(self) -> str:
        value = ",".join(map(str, self.value)) if isinstance(self.value, tuple) else str(self.value)
        role = re.sub(r"\['([^']*)'\]", r".\1", self.role)
        return f"--fit {role}={value}" if self.role else value


@dataclass(frozen=True)
class BuilderArgsOption(Option):
    """Arguments a model builder needs: ``check_fit(build, x, y, units=...)`` / ``--axis units=...``."""

    builder: str
    names: tuple

    def python(self) -> str:
        return f"check_fit({self.builder}, x, y, " + ", ".join(f"{n}=..." for n in self.names) + ")"

    def cli(self) -> str:
        return " ".join(f"--axis {n}=VALUE" for n in self.names)


class _Subject:
    def __repr__(self) -> str:
        return "SUBJECT"


SUBJECT = _Subject()
"""A part of a reason that names the subject inline (``(SUBJECT, " is an int,
not a function.")``): the subject is then not put in front as well."""


class ShapeguardError(Exception):
    """Bad input from the user of shapeguard: an unknown axis, a bad value, a
    target that cannot be found (module doc). ``str(exc)`` is the sentence in
    Python's syntax (``C=[8, 16]``), `for_cli` the same sentence in the
    command line's (``--axis C=8,16``), which the command line prints before
    exiting with status 2. ``ShapeguardError("a plain sentence")`` reads the
    same at both doors.

    ``reason`` is a string, a tuple of strings, `Option`\\ s and `SUBJECT`, or
    another `ShapeguardError` (an error seen one level in: `with_context`)."""

    def __init__(self, reason: Any, *, subject: str | None = None, option: Option | None = None):
        self.reason = reason
        self.subject = subject
        self.option = option
        super().__init__(self.render(PYTHON))

    def render(self, door: str) -> str:
        """The sentence as ``door`` (`PYTHON` or `CLI`) spells it."""
        parts = self.reason if isinstance(self.reason, tuple) else (self.reason,)
        text = "".join(self._part(part, door) for part in parts)
        if self.option is not None:
            text = f"{self.option.render(door)}: {text}"
        if self.subject and not self._names_subject_inline:
            text = f"{self.subject}: {text}"
        return text

    @property
    def _names_subject_inline(self) -> bool:
        return isinstance(self.reason, tuple) and SUBJECT in self.reason

    def _part(self, part: Any, door: str) -> str:
        if part is SUBJECT:
            return self.subject or ""
        if isinstance(part, (Option, ShapeguardError)):
            return part.render(door)
        return str(part)

    def __str__(self) -> str:
        return self.render(PYTHON)

    def for_cli(self) -> str:
        """The sentence as the command line shows it."""
        return self.render(CLI)

    def with_context(self, *, subject: str | None = None, option: Option | None = None) -> ShapeguardError:
        """This error as told by a layer that knows what it is about: the
        target (``subject``) or the option it came from (``option``), put in
        front of what the error already says. A subject or option the error
        already has is not repeated, so a subject is prefixed once however
        many layers add it."""
        if option is not None and option == self.option:
            option = None
        if subject is not None and subject == self.subject:  # the same subject: the option goes after it
            if option is None:
                return self
            if self._names_subject_inline:
                return type(self)(self, option=option)
            if self.option is None:
                return type(self)(self.reason, subject=subject, option=option)
            return type(self)(type(self)(self.reason, option=self.option), subject=subject, option=option)
        if subject is None and option is None:
            return self
        if self.subject is None and (self.option is None or option is None):  # fits in the empty places
            return type(self)(self.reason, subject=subject, option=option or self.option)
        return type(self)(self, subject=subject, option=option)  # one level in: outer: inner

    def __reduce__(self):
        return _rebuild, (type(self), self.reason, self.subject, self.option)


def _rebuild(cls, reason, subject, option):
    return cls(reason, subject=subject, option=option)


class ShapeCheckFailed(AssertionError):
    """Raised by `assert_ok` / `Report.raise_for_failures`: the message is the
    whole text report, so a failing test shows the minimal call and shapes."""

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report
