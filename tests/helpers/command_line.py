"""``python -m shapeguard``, run as a user runs it: in a real subprocess, with
this checkout importable and TensorFlow's own logging left on (the command
must silence it by itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def child_env() -> dict:
    """The user's environment: shapeguard importable, and TensorFlow not told
    to be quiet (the command must silence it by itself)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def shapeguard(*args: str, cwd: Path = REPO, timeout: float = 600) -> Run:
    """``python -m shapeguard *args``; ``timeout`` seconds before the test gives up on it."""
    done = subprocess.run(
        [sys.executable, "-m", "shapeguard", *args],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def shapeguard_on_terminal(*args: str, cwd: Path = REPO) -> Run:
    """As `shapeguard`, with standard error on a pseudo-terminal (progress shows)."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "shapeguard", *args],
        cwd=cwd, env=child_env(), stdout=subprocess.PIPE, stderr=follower,
    )
    os.close(follower)
    received = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received.append(chunk)
    stdout = process.stdout.read()
    process.wait(timeout=600)
    os.close(leader)
    return Run(process.returncode, stdout.decode(), b"".join(received).decode())


def check_here(root: Path, monkeypatch, *args: str) -> int:
    """``shapeguard check ARGS`` in this process, in ``root`` (no new process
    loading TensorFlow); the modules it imported from ``root`` are dropped
    after, as a new process would never have had them."""
    from shapeguard.cli import build_parser, run_check

    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    try:
        try:
            parsed = build_parser().parse_args(["check", *args])
        except SystemExit as exit:  # argparse's usage error: its one line said, status 2
            return exit.code
        return run_check(parsed)
    finally:
        for name in set(sys.modules) - before:
            if str(root) in (getattr(sys.modules[name], "__file__", None) or ""):
                del sys.modules[name]


def shapeguard_here(root: Path, monkeypatch, capfd, *args: str) -> Run:
    """`check_here`, with what it wrote to standard output and error
    (``capfd``: the descriptors, as a terminal would see them)."""
    capfd.readouterr()
    code = check_here(root, monkeypatch, *args)
    out, err = capfd.readouterr()
    return Run(code, out, err)
