"""What a shape check costs, against plain Keras, measured side by side in one run.

    python benchmarks/speed.py            # the full run (several minutes)
    python benchmarks/speed.py --quick    # fewer repeats and probes, for a first look

Prints, as ratios of two figures measured in the same run on the same machine:

1. per probe: shapeguard's `probe` against the plain-Keras probe (`keras.Input`
   plus the call, as a user would write it), interleaved in chunks of points, on the
   seed ResNeXt block's space and on a ResNet-50-sized builder (16 bottleneck
   blocks); with the number of verdict disagreements (pass/fail and failing
   layer class), which must be 0; the first pass over the points, which
   starts with an empty memo of stand-in answers (`shapeguard._probe.standins`), is
   also shown alone;
2. end to end: `shapeguard check examples/resnext_block.py:block` against
   `python -c "import keras"`, whole processes, interleaved;
3. memory: peak RSS after 10,000 probes, and after 2 probes at 4,096 channels
   against 2 at 8, each above the figure right after import (child processes);
4. pytest start-up with the plugin against without (benchmarks/startup.py).

Timing claims about shapeguard live here, never in the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def resnet50_body(x, width=64):
    """The 16 bottleneck blocks of ResNet-50 (Keras's own residual_block_v1)."""
    from keras.src.applications import resnet

    for stage, (blocks, stride) in enumerate(((3, 1), (4, 2), (6, 2), (3, 2))):
        filters = width * 2**stage
        x = resnet.residual_block_v1(x, filters, stride=stride, name=f"conv{stage + 2}_block1")
        for i in range(2, blocks + 1):
            x = resnet.residual_block_v1(x, filters, conv_shortcut=False, name=f"conv{stage + 2}_block{i}")
    return x


def plain_probe(fn, space, point):
    """(verdict, seconds) of the call a user would write with plain Keras."""
    import keras
    from keras.src.ops.operation import Operation

    start = time.perf_counter()
    args, kwargs = [], {}
    for arg in space.arguments(point):
        value = keras.Input(shape=arg.shape) if arg.shape is not None else arg.value
        (args.append(value) if arg.positional else kwargs.__setitem__(arg.name, value))
    try:
        fn(*args, **kwargs)
        verdict = ("pass", None)
    except Exception as exc:  # noqa: BLE001 - the verdict is the point
        layer, tb = None, exc.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get("self")
            if isinstance(owner, Operation):
                layer = type(owner).__name__
            tb = tb.tb_next
        verdict = ("fail", layer)
    return verdict, time.perf_counter() - start


def shapeguard_probe(fn, space, point):
    from shapeguard._probe import probe

    start = time.perf_counter()
    outcome = probe(fn, space, point)
    elapsed = time.perf_counter() - start
    return (("pass", None) if not outcome.failed else ("fail", outcome.layer_class)), elapsed


def per_probe(name, fn, space, points, repeats, chunk=16):
    """Interleave the two probes, chunk by chunk of points; medians and
    disagreements. A check runs its probes inside `shapeguard._probe.session`
    (Keras's special methods wrapped once for all of them), so shapeguard's
    probes of a chunk run in one session, and what entering and leaving it
    cost is shared out over them; plain Keras runs outside any session."""
    import keras

    from shapeguard._probe import session

    from shapeguard._probe import standins as _standin

    keras.config.disable_traceback_filtering()
    plain_times, guard_times, disagreements = [], [], 0
    for point in points[:2]:  # warm both paths; not timed
        plain_probe(fn, space, point)
        shapeguard_probe(fn, space, point)
    _standin.clear_memo()  # the first pass starts, as a check does, with nothing remembered
    first_pass = 0
    for repeat in range(repeats):
        for start in range(0, len(points), chunk):
            part = points[start:start + chunk]
            plain_verdicts = []
            for point in part:
                verdict, seconds = plain_probe(fn, space, point)
                plain_verdicts.append(verdict)
                plain_times.append(seconds)
            guard = []
            begin = time.perf_counter()
            with session():
                entered = time.perf_counter() - begin
                for point in part:
                    guard.append(shapeguard_probe(fn, space, point))
                begin = time.perf_counter()
            shared = (entered + time.perf_counter() - begin) / len(part)
            for plain_verdict, (guard_verdict, seconds) in zip(plain_verdicts, guard):
                guard_times.append(seconds + shared)
                # The plain traceback's innermost operation may be a wrapper; compare pass/fail
                # always, and the layer when plain Keras names one.
                if plain_verdict[0] != guard_verdict[0] or (
                    plain_verdict[1] and guard_verdict[1] and plain_verdict[1] != guard_verdict[1]
                ):
                    disagreements += 1
        if repeat == 0:
            first_pass = len(guard_times)
    plain, guard = statistics.median(plain_times), statistics.median(guard_times)
    print(f"  {name:<34} plain {plain * 1000:8.2f} ms   shapeguard {guard * 1000:8.2f} ms   "
          f"ratio {plain / guard:6.2f}x   {len(plain_times)} probes, {disagreements} disagreements")
    first_plain, first_guard = statistics.median(plain_times[:first_pass]), statistics.median(guard_times[:first_pass])
    print(f"  {'  of which the first pass':<34} plain {first_plain * 1000:8.2f} ms   shapeguard "
          f"{first_guard * 1000:8.2f} ms   ratio {first_plain / first_guard:6.2f}x   {first_pass} probes "
          "(memo empty at its start)")
    return plain / guard, disagreements


def run_per_probe(quick: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from examples.resnext_block import block
    from shapeguard.space import build_space

    print("1. per probe (median; interleaved in chunks of 16 points)")
    seed = build_space(block.__wrapped__, block._self_guard_spec.axes, block._self_guard_spec.inputs)
    points = list(seed.points())
    per_probe("seed ResNeXt block, 128 points", block.__wrapped__, seed, points, 1 if quick else 3)
    body = build_space(resnet50_body, {"H": [32, 33], "C": [64, 256], "width": [16]}, {"x": "H,H,C"})
    per_probe("ResNet-50-sized builder (16 blocks)", resnet50_body, body, list(body.points()), 1 if quick else 3)


def timed_process(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def run_end_to_end(quick: bool) -> None:
    print("2. end to end (median of interleaved whole processes)")
    commands = {
        "python -c 'import keras'": [sys.executable, "-c", "import keras"],
        "shapeguard check examples/resnext_block.py:block": [
            sys.executable, "-m", "shapeguard", "check", "-q", "examples/resnext_block.py:block"],
    }
    times = {name: [] for name in commands}
    for _ in range(2 if quick else 5):
        for name, command in commands.items():
            times[name].append(timed_process(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:<52} {value:7.2f} s")
    base, check = medians.values()
    print(f"  ratio check / import                                 {check / base:7.2f}x")


MEMORY_CHILD = r'''
import sys
from keras import layers
from shapeguard._probe import probe
from shapeguard.space import build_space

def hwm():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmHWM:")).split()[1]) / 1024

def block(x, filters=8):
    y = layers.Conv2D(filters, 3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    return layers.Add()([x, y])

count, channels = int(sys.argv[1]), int(sys.argv[2])
space = build_space(block, {"C": [channels], "H": [8], "filters": [channels]})
point = next(space.points())
probe(block, space, point)  # imports and warms what a probe needs
after_import = hwm()
for _ in range(count):
    probe(block, space, point)
print(after_import, hwm())
'''


def child_memory(count: int, channels: int) -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(count), str(channels)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    after_import, peak = map(float, done.stdout.split()[-2:])
    return after_import, peak


def run_memory(quick: bool) -> None:
    print("3. memory (peak RSS above the figure right after import and one probe)")
    many = 1000 if quick else 10_000
    base, peak = child_memory(many, 8)
    print(f"  {many:,} probes at 8 channels             +{peak - base:8.1f} MB")
    narrow = child_memory(2, 8)
    wide = child_memory(2, 4096)
    print(f"  2 probes at 8 channels                 +{narrow[1] - narrow[0]:8.1f} MB (peak {narrow[1]:.0f} MB)")
    print(f"  2 probes at 4,096 channels             +{wide[1] - wide[0]:8.1f} MB (peak {wide[1]:.0f} MB)")
    print(f"  4,096 vs 8 channels, peak              {wide[1] - narrow[1]:+8.1f} MB")


def run_startup(quick: bool) -> None:
    print("4. pytest start-up (benchmarks/startup.py)")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "startup.py"), "--repeats",
                           "3" if quick else "15"], cwd=ROOT, env=ENV, capture_output=True, text=True)
    print("".join(f"  {line}\n" for line in done.stdout.splitlines()), end="")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and probes")
    parser.add_argument("--only", choices=["probe", "end-to-end", "memory", "startup"], action="append",
                        help="run only these parts (repeatable)")
    args = parser.parse_args(argv)
    import platform

    print(f"shapeguard speed, {platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}"
          f"{' (quick)' if args.quick else ''}")
    parts = {"probe": run_per_probe, "end-to-end": run_end_to_end, "memory": run_memory, "startup": run_startup}
    for name, run in parts.items():
        if not args.only or name in args.only:
            run(args.quick)


if __name__ == "__main__":
    main()
