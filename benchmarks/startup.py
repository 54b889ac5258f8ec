"""What loading shapeguard's pytest plugin costs a pytest session that does not use it.

    python benchmarks/startup.py [--repeats 20]

Times a trivial pytest session (one empty test, in a scratch folder) with the
plugin loaded and with it disabled (``-p no:shapeguard``), alternating the two
so that drift in the machine's load hits both alike, and prints the medians,
their difference and their ratio. Each timed session also checks that the
plugin really was loaded (or not), so the numbers cannot come from a
misconfigured run. Timing claims about the plugin live here, not in the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL_TEST = '''
import os

def test_nothing(pytestconfig):
    loaded = pytestconfig.pluginmanager.hasplugin("shapeguard")
    assert loaded == (os.environ["EXPECT_SHAPEGUARD"] == "1"), loaded
'''

VARIANTS = {
    "plugin loaded": ([], "1"),
    "plugin disabled (-p no:shapeguard)": (["-p", "no:shapeguard"], "0"),
}


def time_session(folder: Path, extra_args: list[str], expect: str) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra_args, "test_trivial.py"]
    env = {**os.environ, "EXPECT_SHAPEGUARD": expect}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"pytest {' '.join(extra_args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed sessions per variant (default 20)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="shapeguard-startup-") as tmp:
        folder = Path(tmp)
        (folder / "test_trivial.py").write_text(TRIVIAL_TEST)
        (folder / "pytest.ini").write_text("[pytest]\n")  # rootdir here, no outer config
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for name, (extra, expect) in VARIANTS.items():  # warm the file cache; not timed
            time_session(folder, extra, expect)
        for _ in range(args.repeats):
            for name, (extra, expect) in VARIANTS.items():
                times[name].append(time_session(folder, extra, expect))

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"trivial pytest session, median of {args.repeats} interleaved runs each ({sys.executable})")
    for name, values in times.items():
        spread = f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"
        print(f"  {name:<36} {medians[name] * 1000:7.1f} ms   {spread}")
    loaded, disabled = medians.values()
    print(f"  difference                           {(loaded - disabled) * 1000:+7.1f} ms")
    print(f"  ratio loaded / disabled              {loaded / disabled:7.3f}")


if __name__ == "__main__":
    main()
