"""Keep TensorFlow's start-up noise off the user's terminal.

TensorFlow's C++ runtime writes to file descriptor 2 when it is imported and
when it first touches a device (absl's "All log messages before
absl::InitializeLog()", cudart, cuInit, cpu_feature_guard), whatever
``TF_CPP_MIN_LOG_LEVEL`` says by then. Python cannot filter that, so while the
user's module is imported and probed, descriptors 1 and 2 point at the null
device and ``sys.stderr`` is a stream on the real standard error: shapeguard's
own progress and messages still reach the terminal, nothing else does.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, TextIO

_NOISY_LOGGERS = ("tensorflow", "absl", "h5py")


@dataclass
class Terminal:
    """Streams on the real standard output and error while both are silenced."""

    stdout: TextIO
    stderr: TextIO


@contextmanager
def silenced_native_output() -> Iterator[Terminal]:
    """Send whatever TensorFlow, Keras and the user's module print to the null
    device; yield streams on the real stdout and stderr for shapeguard itself.

    Inside, ``sys.stderr`` is the real standard error (progress and messages)
    and ``sys.stdout`` discards (a block that prints must not corrupt a JSON
    report). Python warnings are ignored: a block probed a hundred times would
    repeat Keras's warnings a hundred times. Everything is restored on exit.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    loggers = {name: logging.getLogger(name) for name in _NOISY_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    saved_stdout, saved_stderr = sys.stdout, sys.stderr
    for stream in (saved_stdout, saved_stderr):
        _flush(stream)
    real_out, real_err = _redirect_to_null(1), _redirect_to_null(2)
    terminal = Terminal(
        stdout=_stream_on(real_out, saved_stdout) if real_out is not None else saved_stdout,
        stderr=_stream_on(real_err, saved_stderr) if real_err is not None else saved_stderr,
    )
    discard = open(os.devnull, "w", encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for logger in loggers.values():
                logger.setLevel(logging.ERROR)
            sys.stdout, sys.stderr = discard, terminal.stderr
            yield terminal
    finally:
        _flush(terminal.stdout)
        _flush(terminal.stderr)
        sys.stdout, sys.stderr = saved_stdout, saved_stderr
        for name, logger in loggers.items():
            logger.setLevel(levels[name])
        # The saved descriptors stay open: a logging handler created meanwhile
        # (TensorFlow makes one at import) may still hold a stream on them.
        if real_out is not None:
            os.dup2(real_out, 1)
        if real_err is not None:
            os.dup2(real_err, 2)
        discard.close()


def _redirect_to_null(fd: int) -> int | None:
    """Point ``fd`` at the null device; return a duplicate of what it was, or
    None when there is nothing to redirect (a closed or unusual descriptor)."""
    try:
        saved = os.dup(fd)
    except OSError:
        return None
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
    return saved


def _stream_on(fd: int, like) -> TextIO:
    """A text stream on ``fd`` with the encoding of the stream it replaces."""
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding=getattr(like, "encoding", None) or "utf-8",
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,
    )


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):
        pass
