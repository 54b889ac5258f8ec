"""What a shape check costs, against plain Keras at its best, measured side by side in one run.

    python benchmarks/speed.py                    # the full run (long: run it on a quiet machine)
    python benchmarks/speed.py --quick            # one repeat, a 10-block repository: a first look
    python benchmarks/speed.py --only probe --only backends --json figures.json

Sections (``--only NAME``, repeatable):

1. ``probe`` (in-process): the call a user writes with plain Keras (`keras.Input`
   plus the block call), timed with `keras.backend.clear_session()` between
   points and without, the faster taken as the baseline; shapeguard's `probe`
   on the same points, its first pass the SUM over the points of each point's
   first probe from an empty memo (nothing kept on disk either), its later
   passes with the memo warm; verdict disagreements (pass/fail and failing
   layer class) counted. On the seed ResNeXt block and a ResNet-50-sized builder.
2. ``end-to-end`` (whole processes): `shapeguard check shapeguard/examples/resnext_block.py:block
   --no-cache` against `python -c "import keras"` and against a plain script
   making the same block calls.
3. ``repository``: `shapeguard check FOLDER` on the 60 blocks of
   `benchmarks/blocks_repo.py`, cold (empty cache folder) and warm (unchanged,
   answered from the cache, same JSON but for ``cached``), and the cold run's
   peak RSS, each against `import keras`.
4. ``pytest``: `pytest --shapeguard FOLDER` on the same folder, ``-n 2`` against ``-n 1``.
5. ``backends``: the seed example's check on TensorFlow, JAX and NumPy, and on
   NumPy with TensorFlow made unimportable; the failure modes compared.
6. ``memory``: peak RSS after many probes, and at 4,096 channels against 8.
7. ``startup``: pytest start-up with the plugin against without (benchmarks/startup.py).

Every ratio is printed with its target (issue #18) and MET / NOT MET; whole
processes are interleaved and their medians compared. Timing claims about
shapeguard live here, never in the tests.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# Children run this checkout's shapeguard, never another installed copy, and start
# from the environment this script got (before section 1 turns the cache off in-process).
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
       "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
for _name in ("SHAPEGUARD_NO_CACHE", "SHAPEGUARD_CACHE_DIR"):
    ENV.pop(_name, None)
SEED = "shapeguard/examples/resnext_block.py:block"


# ---------------------------------------------------------------- the record

@dataclass
class Ratio:
    what: str
    value: float
    target: str  # "<= 0.25", ">= 15", "== 0", or "" for a figure with no target

    @property
    def verdict(self) -> str:
        if not self.target:
            return ""
        op, bound = self.target.split()
        bound = float(bound)
        met = {"<=": self.value <= bound, ">=": self.value >= bound, "==": self.value == bound}[op]
        return "MET" if met else "NOT MET"


RATIOS: list[Ratio] = []
FIGURES: dict[str, dict] = {}


def ratio(what: str, value: float, target: str = "") -> None:
    RATIOS.append(Ratio(what, value, target))
    shown = f"{value:.3g}" if isinstance(value, float) else str(value)
    mark = f"   target {target}: {RATIOS[-1].verdict}" if target else ""
    print(f"  -> {what}: {shown}{mark}")


# ---------------------------------------------------------------- whole processes

WRAPPER = r'''
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime,
                  "rc": done.returncode, "stdout": done.stdout,
                  "stderr": done.stderr[-4000:]}))
'''


def run_process(command: list[str], cwd: Path = ROOT, env: dict | None = None, ok=(0, 1)) -> dict:
    """One whole process, run from a fresh wrapper so that its wall time, the
    peak RSS of it and its children (`RUSAGE_CHILDREN`: the largest of them)
    and their CPU time (the sum) are its own; exits on an unexpected status."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], cwd=cwd, env=env or ENV,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["rc"] not in ok:
        sys.exit(f"{' '.join(command)} failed ({result['rc']}):\n{result['stdout'][-3000:]}{result['stderr']}")
    return result


def interleaved(commands: dict[str, tuple], repeats: int) -> dict[str, list[dict]]:
    """Each command `repeats` times, round-robin, so that drift in the machine's
    load hits all alike. A value is (command, cwd, env) or a callable making one
    (a cold run needs a fresh cache folder each time)."""
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, spec in commands.items():
            command, cwd, env = spec() if callable(spec) else spec
            runs[name].append(run_process(command, cwd, env))
    return runs


def median(runs: list[dict], key: str = "wall") -> float:
    return statistics.median(run[key] for run in runs)


IMPORT_KERAS = [sys.executable, "-c", "import keras"]


def scratch(prefix: str) -> Path:
    """A temporary folder, removed when the run ends."""
    path = Path(tempfile.mkdtemp(prefix=f"shapeguard-{prefix}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def shapeguard_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "shapeguard", *args]


# ---------------------------------------------------------------- 1. per probe

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


def agree(plain, guard) -> bool:
    """pass/fail always; the layer when plain Keras names one (the innermost
    operation of its traceback may be a wrapper)."""
    return plain[0] == guard[0] and not (plain[1] and guard[1] and plain[1] != guard[1])


def per_probe(name: str, fn, space, points, passes: int, chunk: int = 16) -> dict:
    """Plain Keras with and without `clear_session` and shapeguard's probes,
    one pass over all points each, interleaved pass by pass, `passes` times
    (the pass without `clear_session` never calls it, so its name counters
    grow as a user's loop's would). Pass 0 of shapeguard starts from an empty
    memo (`clear_memo`; nothing is read from disk: SHAPEGUARD_NO_CACHE is
    set); a check runs its probes in one `session`, so each chunk of points
    runs in one, entering and leaving it counted. A pass's sum is what a user
    pays for it. Keras's own caches are warm for both (two points of each are
    run first, untimed): only shapeguard's memo starts empty."""
    import keras

    from shapeguard._probe import run, session, standins

    keras.config.disable_traceback_filtering()
    for point in points[:2]:  # import and warm both paths; not timed
        plain_probe(fn, space, point)
        shapeguard_probe(fn, space, point)
    standins.clear_memo()  # pass 0 starts, as a new check does, with nothing remembered
    run.forget_functions()
    sums = {"clear": [0.0] * passes, "plain": [0.0] * passes, "guard": [0.0] * passes}
    per_call = {"clear": [], "plain": []}
    disagreements = 0
    for index in range(passes):
        verdicts = {"clear": [], "plain": []}
        for key in ("clear", "plain"):
            for point in points:
                if key == "clear":
                    keras.backend.clear_session()  # not timed: plain at its best
                verdict, seconds = plain_probe(fn, space, point)
                sums[key][index] += seconds
                per_call[key].append(seconds)
                verdicts[key].append(verdict)
        guard = []
        for start in range(0, len(points), chunk):
            begin = time.perf_counter()
            with session():
                guard.extend(shapeguard_probe(fn, space, point)[0] for point in points[start:start + chunk])
            sums["guard"][index] += time.perf_counter() - begin
        for key in ("clear", "plain"):
            disagreements += sum(not agree(plain, verdict) for plain, verdict in zip(verdicts[key], guard))
    best = min(("clear", "plain"), key=lambda key: statistics.median(sums[key]))
    baseline = statistics.median(sums[best])
    first, later = sums["guard"][0], (statistics.median(sums["guard"][1:]) if passes > 1 else float("nan"))
    n = len(points)
    print(f"  {name}: {n} points x {passes} passes")
    for key, label in (("clear", "plain Keras, clear_session() (untimed) between points"),
                       ("plain", "plain Keras, no clear_session() (name counters grow)")):
        print(f"    {label:<56} {statistics.median(sums[key]):8.3f} s a pass "
              f"({statistics.median(per_call[key]) * 1000:7.2f} ms a call){'  <- at its best' if key == best else ''}")
    print(f"    {'shapeguard first pass (memo empty), sum over the points':<56} {first:8.3f} s "
          f"({first / n * 1000:7.2f} ms a probe)")
    if passes > 1:
        print(f"    {'shapeguard later passes (memo warm), median pass':<56} {later:8.3f} s "
              f"({later / n * 1000:7.2f} ms a probe)")
    ratio(f"{name}: first pass, plain at its best / shapeguard", baseline / first, ">= 15")
    if passes > 1:
        ratio(f"{name}: later passes, plain at its best / shapeguard", baseline / later)
    ratio(f"{name}: verdict disagreements", disagreements, "== 0")
    return {"points": n, "passes": passes, "plain_clear_session": sums["clear"],
            "plain_no_clear_session": sums["plain"],
            "baseline": best, "shapeguard": sums["guard"], "disagreements": disagreements}


def seed_space():
    """The seed block and its space, as `shapeguard check` builds it from the decorator."""
    sys.path.insert(0, str(ROOT))
    from shapeguard.examples.resnext_block import block
    from shapeguard.space import build_space

    spec = block._self_guard_spec
    return block.__wrapped__, build_space(block.__wrapped__, spec.axes, spec.inputs)


def run_per_probe(quick: bool) -> None:
    """Section 1. The persisted memo is turned off before shapeguard is first
    imported, so the first pass really starts from nothing."""
    os.environ["SHAPEGUARD_NO_CACHE"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from shapeguard.space import build_space

    print("1. per probe (in-process; seconds are sums over the points of one pass)")
    passes = 2 if quick else 4
    fn, space = seed_space()
    FIGURES["probe_seed"] = per_probe("seed ResNeXt block", fn, space, list(space.points()), passes)
    body = build_space(resnet50_body, {"H": [32, 33], "C": [64, 256], "width": [16]}, {"x": "H,H,C"})
    FIGURES["probe_resnet50"] = per_probe("ResNet-50-sized builder (16 bottlenecks)", resnet50_body, body,
                                          list(body.points()), passes)


# ---------------------------------------------------------------- 2. end to end

SAME_CALLS = '''"""Plain Keras making the calls `shapeguard check {target}` makes in its search:
the block at each of the {count} combinations of its space, on keras.Input tensors."""
import importlib.util
import itertools
import sys

import keras

spec = importlib.util.spec_from_file_location({module!r}, {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
fn = getattr(module.{function}, "__wrapped__", module.{function})  # the block itself, not its @guard

AXES = {axes!r}
PARAMETERS = {parameters!r}
TEMPLATES = {templates!r}
CLEAR_SESSION = {clear_session!r}


def dimension(text, point):
    return None if text.strip().lower() == "none" else eval(text, {{}}, dict(point))


calls = failed = 0
for values in itertools.product(*AXES.values()):
    point = dict(zip(AXES, values))
    kwargs = {{name: value for name, value in point.items() if name in PARAMETERS}}
    for name, template in TEMPLATES.items():
        kwargs[name] = keras.Input(shape=tuple(dimension(d, point) for d in template.split(",")))
    if CLEAR_SESSION:
        keras.backend.clear_session()
    calls += 1
    try:
        fn(**kwargs)
    except Exception:
        failed += 1
print(calls, failed)
'''


def same_calls_script(path: str | Path, function: str, axes: dict, templates: dict,
                      clear_session: bool = False) -> str:
    """The source of a plain script making the search's calls of a check: the
    function at every combination of ``axes`` (the check's JSON ``space``, in
    its order), each in try/except. Which axes are parameters is read from the
    function's signature with `ast`; the others are template dimensions."""
    path = Path(path).resolve()
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function)
    parameters = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
    if any(";" in t or "[" in t or "|" in t for t in templates.values()):
        raise ValueError("only single-tensor templates (H,H,C) are supported")
    count = 1
    for values in axes.values():
        count *= len(values)
    return SAME_CALLS.format(target=f"{path.name}:{function}", count=count, module=path.stem, path=str(path),
                             function=function, axes=axes, parameters=parameters, templates=templates,
                             clear_session=clear_session)


def run_end_to_end(quick: bool) -> None:
    """Section 2. The check's JSON says which combinations it searched (exhaustive,
    none skipped: all of `space`); the plain scripts call the block at each of them.
    The check also probes again to shrink, explain and confirm each failure on
    plain Keras: those calls are its own work, not the user's script's."""
    print("2. end to end (whole processes, interleaved; medians)")
    report = json.loads(run_process(shapeguard_cli("check", "-q", "--no-cache", "--format", "json", SEED))["stdout"])
    target = report["targets"][0]
    if target["mode"] != "exhaustive" or target["skipped"]:
        print(f"  note: the check was {target['mode']} with {target['skipped']} skipped: the script's calls "
              "are every combination of its space, more than it searched")
    path, function = SEED.split(":")
    folder = scratch("same-calls")
    scripts = {}
    for clear in (False, True):
        script = folder / f"same_calls{'_clear' if clear else ''}.py"
        script.write_text(same_calls_script(ROOT / path, function, target["space"], target["templates"], clear))
        scripts[clear] = script
    commands = {
        "import keras": (IMPORT_KERAS, ROOT, ENV),
        "plain script, same calls": ([sys.executable, str(scripts[False])], ROOT, ENV),
        "plain script, same calls, clear_session() before each": ([sys.executable, str(scripts[True])], ROOT, ENV),
        "shapeguard check --no-cache": (shapeguard_cli("check", "-q", "--no-cache", SEED), ROOT, ENV),
    }
    runs = interleaved(commands, 1 if quick else 3)
    calls = runs["plain script, same calls"][0]["stdout"].split()
    print(f"  the plain scripts call the block {calls[0]} times ({calls[1]} raise); the check searched "
          f"{target['probes']} combinations, then shrank, explained and confirmed its "
          f"{len(target['failures'])} failure modes")
    medians = {name: median(values) for name, values in runs.items()}
    for name, value in medians.items():
        print(f"    {name:<56} {value:7.2f} s")
    best = min(medians["plain script, same calls"], medians["plain script, same calls, clear_session() before each"])
    check = medians["shapeguard check --no-cache"]
    ratio("seed check / import keras (whole processes)", check / medians["import keras"])
    ratio("seed check / plain script making the same calls, at its best", check / best)
    FIGURES["end_to_end"] = {"seconds": medians, "probes": target["probes"], "script_calls": int(calls[0])}


# ---------------------------------------------------------------- 3. repository

def write_repository(quick: bool) -> tuple[Path, int]:
    """The 60-block folder in a scratch folder (10 blocks, one per family, with --quick)."""
    sys.path.insert(0, str(BENCH))
    import blocks_repo

    root = scratch("repo")
    folder = blocks_repo.write(root)
    if quick:
        for path in sorted(folder.glob("*.py")):
            if not path.stem.endswith("_0"):
                path.unlink()
    (root / "pytest.ini").write_text("[pytest]\n")  # rootdir here, no outer configuration
    return root, len(list(folder.glob("*.py")))


def without_cached(value):
    """The JSON document with every ``cached`` field taken out."""
    if isinstance(value, dict):
        return {k: without_cached(v) for k, v in value.items() if k != "cached"}
    if isinstance(value, list):
        return [without_cached(v) for v in value]
    return value


def run_repository(quick: bool) -> None:
    """Section 3. Cold: a fresh, empty cache folder each time (the check writes
    it); warm: the same folder right after, nothing changed, so every target
    must come from the cache and the JSON must equal the cold one but for
    ``cached``."""
    root, count = write_repository(quick)
    print(f"3. repository: `shapeguard check blocks/` on {count} blocks"
          f"{' (quick: one per family, not the 60)' if quick else ''} (whole processes, interleaved; medians)")
    caches = []

    def cold():
        caches.append(str(scratch("cache")))
        return (shapeguard_cli("check", "-q", "--format", "json", "blocks"), root,
                {**ENV, "SHAPEGUARD_CACHE_DIR": caches[-1]})

    def warm():
        return (shapeguard_cli("check", "-q", "--format", "json", "blocks"), root,
                {**ENV, "SHAPEGUARD_CACHE_DIR": caches[-1]})

    runs = interleaved({"import keras": (IMPORT_KERAS, ROOT, ENV), "cold": cold, "warm": warm}, 1 if quick else 2)
    for cold_run, warm_run in zip(runs["cold"], runs["warm"]):
        first, again = json.loads(cold_run["stdout"]), json.loads(warm_run["stdout"])
        summary = first["summary"]
        assert summary["found"] == summary["checked"] == count and not first["not_checked"], summary
        assert not any(t.get("cached") for t in first["targets"]), "the cold run read a cache"
        assert all(t.get("cached") for t in again["targets"]), "the warm run probed again"
        assert without_cached(first) == without_cached(again), "the warm JSON differs from the cold one"
    summary = json.loads(runs["cold"][0]["stdout"])["summary"]
    print(f"  all {count} blocks checked ({summary['failed']} failed, {summary['passed']} passed); warm JSON "
          "equals cold but for `cached`, every target from the cache")
    walls = {name: median(values) for name, values in runs.items()}
    peaks = {name: median(values, "peak_mb") for name, values in runs.items()}
    cpus = {name: median(values, "cpu") for name, values in runs.items()}
    for name in runs:
        print(f"    {name:<14} {walls[name]:7.2f} s   CPU {cpus[name]:7.2f} s   peak RSS {peaks[name]:7.0f} MB")
    ratio("repository warm check / import keras", walls["warm"] / walls["import keras"], "<= 0.25")
    ratio("repository cold check / import keras", walls["cold"] / walls["import keras"], "<= 1.5")
    ratio("repository cold check peak RSS / import keras's", peaks["cold"] / peaks["import keras"], "<= 1.1")
    FIGURES["repository"] = {"blocks": count, "seconds": walls, "cpu_seconds": cpus, "peak_mb": peaks}


# ---------------------------------------------------------------- 4. pytest

def run_pytest(quick: bool) -> None:
    """Section 4. Each session starts from an empty cache folder and without the
    example database, so both do the same work."""
    root, count = write_repository(quick)
    print(f"4. pytest --shapeguard blocks/ on {count} blocks, -n 1 against -n 2 (whole processes, interleaved)")

    def session(*workers):
        def spec():
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--shapeguard",
                       "--shapeguard-no-database", *workers, "blocks"]
            return command, root, {**ENV, "SHAPEGUARD_CACHE_DIR": str(scratch("cache"))}
        return spec

    # Without xdist too, to show what its workers cost (not a target), on the quick run only: a
    # 60-block session takes minutes, so the full run times -n 1 and -n 2 once each.
    sessions = {"no -n": session()} if quick else {}
    runs = interleaved({**sessions, "-n 1": session("-n", "1"), "-n 2": session("-n", "2")}, 1)
    for name, values in runs.items():
        for run in values:
            last = run["stdout"].strip().splitlines()[-1]
            items = sum(int(word) for word, kind in zip(last.split(), last.split()[1:])
                        if kind.strip(",") in ("passed", "failed"))
            assert items == count, f"pytest {name} ran {items} items, not {count}: {last}"
    walls = {name: median(values) for name, values in runs.items()}
    cpus = {name: median(values, "cpu") for name, values in runs.items()}
    for name, value in walls.items():
        print(f"    {name:<6} {value:7.2f} s   CPU {cpus[name]:7.2f} s   ({count} items)")
    print("  each xdist worker collects (imports) every file and starts Keras itself; the cache folder"
          " (and the stand-ins' memo in it) starts empty for each session")
    ratio("pytest -n 2 / -n 1 wall time", walls["-n 2"] / walls["-n 1"], "<= 0.7")
    FIGURES["pytest"] = {"blocks": count, "seconds": walls, "cpu_seconds": cpus}


# ---------------------------------------------------------------- 5. backends

NO_TENSORFLOW = r'''
import atexit, os, sys

class _NoTensorFlow:
    """TensorFlow is not installed, as far as this process can tell."""
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoTensorFlow())

@atexit.register
def _say():
    with open(os.environ["SHAPEGUARD_BENCH_TF_LOG"], "a") as log:
        log.write(f"{os.getpid()} {'tensorflow' in sys.modules}\n")
'''


def failure_modes(report: dict) -> list[tuple]:
    return sorted((f["kind"], f["layer"]["class"] if f["layer"] else None, f["cause"])
                  for t in report["targets"] for f in t["failures"])


def run_backends(quick: bool) -> None:
    """Section 5. TensorFlow is installed here; "NumPy without TensorFlow" makes
    it unimportable in every process of the check (the command line checks in
    a child process, so a `-c` bootstrap would reach only the parent): a
    `sitecustomize.py` first on PYTHONPATH puts a `sys.meta_path` finder first
    that raises ModuleNotFoundError for `tensorflow`, and each process logs at
    exit whether `tensorflow` was in `sys.modules`."""
    print("5. backends: the seed example's check, --no-cache (whole processes, interleaved; medians)")
    blocker = scratch("no-tensorflow")
    (blocker / "sitecustomize.py").write_text(NO_TENSORFLOW)
    log = blocker / "tensorflow.log"
    command = shapeguard_cli("check", "-q", "--no-cache", "--format", "json", SEED)
    commands = {backend: (command, ROOT, {**ENV, "KERAS_BACKEND": backend})
                for backend in ("tensorflow", "jax", "numpy")}
    commands["numpy, TensorFlow unimportable"] = (command, ROOT, {
        **ENV, "KERAS_BACKEND": "numpy", "SHAPEGUARD_BENCH_TF_LOG": str(log),
        "PYTHONPATH": os.pathsep.join((str(blocker), ENV["PYTHONPATH"]))})
    runs = interleaved(commands, 1 if quick else 3)
    lines = log.read_text().split()
    processes, loaded = lines[0::2], [flag == "True" for flag in lines[1::2]]
    assert processes and not any(loaded), f"tensorflow was imported: {lines}"
    print(f"  TensorFlow unimportable: {len(processes)} processes logged, none had imported tensorflow")
    modes = {name: [failure_modes(json.loads(run["stdout"])) for run in values] for name, values in runs.items()}
    reference = modes["tensorflow"][0]
    same = all(found == reference for values in modes.values() for found in values)
    walls = {name: median(values) for name, values in runs.items()}
    for name, value in walls.items():
        print(f"    {name:<32} {value:7.2f} s   {len(modes[name][0])} failure modes")
    print(f"  failure modes (kind, layer class, cause) on every backend: {'AGREE' if same else 'DISAGREE'}")
    if not same:
        for name, values in modes.items():
            print(f"    {name}: {values[0]}")
    ratio("seed check, NumPy without TensorFlow / TensorFlow",
          walls["numpy, TensorFlow unimportable"] / walls["tensorflow"], "<= 0.6")
    ratio("backends whose failure modes differ from TensorFlow's",
          sum(any(found != reference for found in values) for values in modes.values()), "== 0")
    FIGURES["backends"] = {"seconds": walls, "agree": same, "modes": {k: v[0] for k, v in modes.items()}}


# ---------------------------------------------------------------- 6. memory

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
                          cwd=ROOT, env={**ENV, "SHAPEGUARD_NO_CACHE": "1"}, capture_output=True, text=True, check=True)
    after_import, peak = map(float, done.stdout.split()[-2:])
    return after_import, peak


def run_memory(quick: bool) -> None:
    """Section 6: a probe makes no data, so memory neither grows with probes nor with width."""
    print("6. memory (peak RSS above the figure right after import and one probe; child processes)")
    many = 1000 if quick else 10_000
    base, peak = child_memory(many, 8)
    print(f"    {many:,} probes at 8 channels             +{peak - base:8.1f} MB")
    narrow = child_memory(2, 8)
    wide = child_memory(2, 4096)
    print(f"    2 probes at 8 channels                 +{narrow[1] - narrow[0]:8.1f} MB (peak {narrow[1]:.0f} MB)")
    print(f"    2 probes at 4,096 channels             +{wide[1] - wide[0]:8.1f} MB (peak {wide[1]:.0f} MB)")
    print(f"    4,096 vs 8 channels, peak              {wide[1] - narrow[1]:+8.1f} MB")
    FIGURES["memory"] = {"many_probes": many, "many_above_import_mb": peak - base,
                         "narrow_peak_mb": narrow[1], "wide_peak_mb": wide[1]}


# ---------------------------------------------------------------- 7. start-up

def run_startup(quick: bool) -> None:
    """Section 7: what the plugin costs a pytest session that does not use it."""
    print("7. pytest start-up (benchmarks/startup.py)")
    done = subprocess.run([sys.executable, str(BENCH / "startup.py"), "--repeats", "3" if quick else "15"],
                          cwd=ROOT, env=ENV, capture_output=True, text=True)
    print("".join(f"    {line}\n" for line in done.stdout.splitlines()), end="")
    FIGURES["startup"] = {"output": done.stdout}


# ---------------------------------------------------------------- main

SECTIONS = {"probe": run_per_probe, "end-to-end": run_end_to_end, "repository": run_repository,
            "pytest": run_pytest, "backends": run_backends, "memory": run_memory, "startup": run_startup}


def machine() -> str:
    import importlib.metadata as md

    versions = []
    for name in ("keras", "tensorflow", "jax", "numpy"):
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            pass
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    return (f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"{', '.join(versions)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, two passes, a 10-block repository")
    parser.add_argument("--only", choices=list(SECTIONS), action="append", help="run only these sections (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="write the figures and ratios as JSON to PATH")
    args = parser.parse_args(argv)

    print(f"shapeguard speed, {machine()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          f"{' (quick)' if args.quick else ''}")
    loads = {"start": os.getloadavg()}
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in loads['start'])} (a quiet machine is near 0)")
    for name, run in SECTIONS.items():
        if not args.only or name in args.only:
            run(args.quick)
            loads[name] = os.getloadavg()
    # Other processes on the machine make whole-process figures and -n 2 meaningless: say how busy it was.
    print(f"load average after each section: "
          f"{', '.join(f'{name} {values[0]:.2f}' for name, values in loads.items() if name != 'start')}")

    width = max((len(r.what) for r in RATIOS), default=10)
    if RATIOS:
        print(f"\n{'ratio':<{width}}  {'value':>8}  {'target':<8}  verdict")
    for r in RATIOS:
        print(f"{r.what:<{width}}  {r.value:8.3g}  {r.target:<8}  {r.verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "quick": args.quick, "load_average": loads,
                                               "figures": FIGURES,
                                               "ratios": [{**asdict(r), "verdict": r.verdict} for r in RATIOS]},
                                              indent=2, default=str))


if __name__ == "__main__":
    main()
