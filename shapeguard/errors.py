"""Exceptions shapeguard raises itself (as opposed to the ones it reports)."""


class ShapeguardError(Exception):
    """Bad input from the user of shapeguard: an unknown axis, a bad value, a
    target that cannot be found. The message is one sentence a person can act
    on, in Python's syntax (``C=[8, 16]``); ``cli``, when given, is the same
    sentence in the command line's syntax (``--axis C=8,16``), which the
    command line prints before exiting with status 2."""

    def __init__(self, message: str, *, cli: str | None = None):
        super().__init__(message)
        self.cli = cli

    def for_cli(self) -> str:
        """The sentence as the command line shows it."""
        return self.cli or str(self)


class ShapeCheckFailed(AssertionError):
    """Raised by `assert_ok` / `Report.raise_for_failures`: the message is the
    whole text report, so a failing test shows the minimal call and shapes."""

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report
