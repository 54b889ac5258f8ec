"""Exceptions shapeguard raises itself (as opposed to the ones it reports)."""


class ShapeguardError(Exception):
    """Bad input from the user of shapeguard: an unknown axis, a bad value, a
    target that cannot be found. The message is one sentence a person can act
    on; the command line prints it and exits with status 2."""


class ShapeCheckFailed(AssertionError):
    """Raised by `assert_ok` / `Report.raise_for_failures`: the message is the
    whole text report, so a failing test shows the minimal call and shapes."""

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report
