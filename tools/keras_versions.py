"""Run the fast path's tests against other Keras versions, each in a venv of its own.

    python tools/keras_versions.py 3.3.3 3.5.0 3.8.0 3.10.0 3.12.0

The fast probe path patches Keras internals (`shapeguard._probe.fast`,
`shapeguard._probe.standins`, `shapeguard._probe.patches`); each has an ``available()`` check
that turns it off where an internal it relies on is missing. pyproject.toml
allows the Keras versions this script has run (its ``keras`` range: widen it
only after a run here), so this script makes, for each version given, a
venv that sees the system's packages (TensorFlow stays the installed one),
installs that Keras (from the package index) and this checkout (without
dependencies), and runs there: the ``available()`` flags, the tests that
compare the fast path with plain Keras, and the command line on the shipped
example and its fixed twin. It prints one line per version; the venvs are
made under a temporary folder and removed. Several minutes per version.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_differential.py", "tests/test_standin.py", "tests/test_standin_edge_cases.py",
         "tests/test_fuzz.py", "tests/test_probe.py", "tests/test_contract.py"]
FLAGS = ("import keras; from shapeguard._probe import fast as _fast, standins as _standin, patches as _hooks; "
         "print(keras.__version__, _fast.available(), _standin.available(), _hooks.available())")


def run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)


def check_version(version: str, folder: Path) -> str:
    venv = folder / f"keras-{version}"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)
    installed = run([python, "-m", "pip", "install", "-q", f"keras=={version}"], env)
    if installed.returncode:
        return f"keras {version}: cannot be installed ({installed.stderr.strip().splitlines()[-1:]})"
    run([python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)], env)
    flags = run([python, "-c", FLAGS], env)
    if flags.returncode:
        return f"keras {version}: shapeguard does not import ({flags.stderr.strip().splitlines()[-1:]})"
    tests = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS], env)
    lines = tests.stdout.strip().splitlines() or ["no output"]
    summary = lines[-1] + "".join(f"\n    {line}" for line in lines if line.startswith("FAILED"))
    example = run([python, "-m", "shapeguard", "check", "-q", "shapeguard.examples.resnext_block:block"], env)
    fixed = run([python, "-m", "shapeguard", "check", "-q", "shapeguard.examples.resnext_block_fixed:block"], env)
    keras_version, fast, standin, hooks = flags.stdout.split()
    return (f"keras {keras_version}: fast path {fast}, stand-ins {standin}, hooks {hooks}; tests: {summary}; "
            f"example exits {example.returncode} (want 1), fixed twin exits {fixed.returncode} (want 0)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="Keras versions, e.g. 3.5.0")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shapeguard-keras-") as folder:
        for version in args.versions:
            print(check_version(version, Path(folder)), flush=True)


if __name__ == "__main__":
    main()
