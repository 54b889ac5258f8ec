"""Random Keras blocks for differential tests: shapeguard (or any evaluator)
against plain Keras.

A block is data (`BlockSpec`: an input template, the axes to try, and a short
list of `Step`s, each one layer, merge or operator over earlier tensors) and
becomes a real Python function through `write_module`, which writes its source
to a file and imports it, so that failures have real file/line locations and a
reproducing call can be evaluated in that module's namespace.

`block_specs()` is the Hypothesis strategy; `corpus(n)` draws ``n`` specs with a
fixed seed (the same list on every machine with the same Hypothesis). `compare`
runs shapeguard's exhaustive check on one block and returns every disagreement
with plain Keras (empty when they agree): a reported failure must fail in plain
Keras at its call, raised by the innermost layer or op on the traceback (not a
`keras.Sequential` that only passes it on), from the reported line, with the
reported message; a pass must pass there.

The generator tracks only each tensor's rank, so that most layers fit the rank
they are given and failures come from the parameters' interplay (strides and a
shortcut, groups and channels, `valid` padding on a small input, a reshape
that does not divide); now and then it applies a layer of the wrong rank,
calls a layer a second time, or makes and calls it in a helper function.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from helpers.plain_keras import raising_layer_classes, run_call

# Values each axis may take (small, so that probes are cheap and `valid`
# convolutions and croppings meet inputs too small for them).
AXIS_POOLS = {
    "H": (1, 2, 3, 4, 5, 7, 8, 9),
    "W": (1, 2, 3, 4, 5, 7, 8),
    "C": (1, 2, 3, 4, 6, 8, 12, 16),
    "D": (1, 2, 4, 8, 16),  # channels of the second input
    "filters": (2, 3, 4, 6, 8, 16),
    "strides": (1, 2, 3),
    "kernel_size": (1, 2, 3, 5),
    "groups": (1, 2, 3, 4),
}
PARAM_DEFAULTS = {"filters": 8, "strides": 1, "kernel_size": 3, "groups": 1}

# Source expressions for layer arguments, as a block's author writes them.
FILTERS = ("filters", "filters * 2", "filters // 2", "4", "8", "16")
KERNEL = ("kernel_size", "1", "2", "3", "5")
KERNEL_2D = ("(1, kernel_size)", "(kernel_size, 3)")  # tuples, 2D only
STRIDES = ("strides", "1", "2")
STRIDES_2D = ("(strides, 1)", "(1, 2)")
GROUPS = ("groups", "1", "2", "4")
DILATION = ("1", "2")
POOL = ("2", "3", "strides", "kernel_size")
SIZE = ("1", "2", "strides")  # upsampling, cropping, padding
PADDING = ('"same"', '"valid"')

SPATIAL_LAYERS = (
    "Conv", "ConvTranspose", "DepthwiseConv", "MaxPooling", "AveragePooling", "GlobalAveragePooling",
    "UpSampling", "Cropping", "ZeroPadding", "Sequential",
)
ANY_RANK_LAYERS = ("Dense", "Flatten", "Reshape", "ops.reshape", "Permute", "BatchNormalization",
                   "LayerNormalization")
MERGES = ("Add", "Multiply", "Subtract", "Concatenate", "+", "*", "ops.add", "ops.multiply", "ops.concatenate")
STYLES = ("defaults", "no defaults", "keyword-only")  # how the block's parameters are declared


@dataclass(frozen=True)
class Step:
    """One line of a block, ``h3 = ...``, reading earlier tensors by index
    (the block's inputs first, then ``h1``, ``h2``, ...).

    A layer step creates a layer (``make``) and calls it (``call``, e.g.
    ``({0})``); a reusing step calls the layer of step ``reuses`` again; an
    operator step is ``call`` alone (``{0} + {1}``)."""

    kind: str  # a layer class (``Conv2D``), a merge (``Add``) or an operator (``+``)
    call: str
    inputs: tuple
    make: str | None = None
    reuses: int | None = None  # 1-based step whose layer is called again
    helper: bool = False  # the layer is made and called in a helper function of the module


@dataclass(frozen=True)
class BlockSpec:
    inputs: dict = field(hash=False)  # tensor parameter -> template, e.g. {"x": "H,W,C"}
    axes: dict = field(hash=False)  # axis name -> values to try (params and dims)
    steps: tuple = ()
    style: str = "defaults"

    @property
    def template(self) -> str:
        return self.inputs["x"]

    @property
    def params(self) -> list[str]:
        used = " ".join(f"{s.make} {s.call}" for s in self.steps)
        return [p for p in PARAM_DEFAULTS if re.search(rf"\b{p}\b", used)]

    def source(self, name: str = "block") -> str:
        params = [p if self.style == "no defaults" else f"{p}={PARAM_DEFAULTS[p]}" for p in self.params]
        if params and self.style == "keyword-only":
            params.insert(0, "*")
        lines = ["import keras", "from keras import layers", "", ""]
        for i, step in enumerate(self.steps, 1):  # helpers first: a failure inside one is a frame deeper
            if step.helper:
                used = [p for p in PARAM_DEFAULTS if re.search(rf"\b{p}\b", step.make)]
                lines += [f"def unit{i}({', '.join(['t', *used])}):", f"    return {step.make}(t)", "", ""]
        lines.append(f"def {name}({', '.join([*self.inputs, *params])}):")
        tensors = list(self.inputs) + [f"h{i}" for i in range(1, len(self.steps) + 1)]
        reused = {s.reuses for s in self.steps}
        for i, step in enumerate(self.steps, 1):
            call = step.call.format(*(tensors[j] for j in step.inputs))
            if step.helper:
                used = [p for p in PARAM_DEFAULTS if re.search(rf"\b{p}\b", step.make)]
                lines.append(f"    h{i} = unit{i}({', '.join([tensors[step.inputs[0]], *used])})")
            elif step.reuses is not None:
                lines.append(f"    h{i} = l{step.reuses}{call}")
            elif step.make is not None and i in reused:
                lines += [f"    l{i} = {step.make}", f"    h{i} = l{i}{call}"]
            else:
                lines.append(f"    h{i} = {step.make or ''}{call}")
        lines.append(f"    return {tensors[-1]}")
        return "\n".join(lines) + "\n"

    def check_options(self) -> dict:
        """Keyword arguments for `shapeguard.check` (inputs and axes)."""
        return {"inputs": dict(self.inputs), **{k: list(v) for k, v in self.axes.items()}}

    @property
    def size(self) -> int:
        n = 1
        for values in self.axes.values():
            n *= len(values)
        return n

    def call(self, example: dict, name: str = "block") -> str:
        """The plain-Keras call at one point of the space, built from the
        example alone: tensors positionally, parameters by keyword."""
        shapes = [
            tuple(example[d] if d in example else int(d) for d in template.split(","))
            for template in self.inputs.values()
        ]
        parts = [f"keras.Input(shape={shape!r})" for shape in shapes]
        parts += [f"{p}={example[p]!r}" for p in self.params]
        return f"{name}({', '.join(parts)})"


def _layer_step(draw, kind: str, rank: int, spatial: int, x: int) -> tuple[Step, int]:
    """A layer of ``kind`` applied to tensor ``x`` of ``rank`` (non-batch dims);
    returns the step and the rank of its output. ``spatial`` (1 or 2) picks the
    1D or 2D variant of a spatial layer."""
    d = f"{spatial}D"
    pick = lambda options: draw(st.sampled_from(options))
    kernel = lambda: pick(KERNEL + (KERNEL_2D if spatial == 2 else ()))
    strides = lambda: pick(STRIDES + (STRIDES_2D if spatial == 2 else ()))
    step = lambda name, make, call="({0})": Step(name, call, (x,), make)
    if kind == "Sequential":  # a sub-block of one or two layers that keep the rank
        inner = [_layer_step(draw, pick(SPATIAL_LAYERS[:5] + SPATIAL_LAYERS[6:-1]), rank, spatial, x)[0]
                 for _ in range(draw(st.integers(1, 2)))]
        return step("Sequential", f"keras.Sequential([{', '.join(i.make for i in inner)}])"), rank
    if kind == "Conv":
        padding = pick(PADDING + (('"causal"',) if spatial == 1 else ()))
        return step(f"Conv{d}", f"layers.Conv{d}({pick(FILTERS)}, {kernel()}, strides={strides()}, "
                    f"padding={padding}, groups={pick(GROUPS)}, dilation_rate={pick(DILATION)})"), rank
    if kind == "ConvTranspose":
        return step(f"Conv{d}Transpose", f"layers.Conv{d}Transpose({pick(FILTERS)}, {kernel()}, "
                    f"strides={strides()}, padding={pick(PADDING)})"), rank
    if kind == "DepthwiseConv":
        return step(f"DepthwiseConv{d}", f"layers.DepthwiseConv{d}({kernel()}, strides={strides()}, "
                    f"padding={pick(PADDING)}, depth_multiplier={pick(('1', '2'))})"), rank
    if kind in ("MaxPooling", "AveragePooling"):
        return step(f"{kind}{d}", f"layers.{kind}{d}({pick(POOL)}, strides={strides()}, padding={pick(PADDING)})"), rank
    if kind == "GlobalAveragePooling":
        keepdims = draw(st.booleans())
        return step(f"GlobalAveragePooling{d}", f"layers.GlobalAveragePooling{d}(keepdims={keepdims})"), (
            rank if keepdims else 1
        )
    if kind in ("UpSampling", "Cropping", "ZeroPadding"):
        return step(f"{kind}{d}", f"layers.{kind}{d}({pick(SIZE)})"), rank
    if kind == "Dense":
        return step("Dense", f"layers.Dense({pick(FILTERS)})"), rank
    if kind == "Flatten":
        return step("Flatten", "layers.Flatten()"), 1
    if kind in ("BatchNormalization", "LayerNormalization"):  # over a random axis, batch axis included
        return step(kind, f"layers.{kind}(axis={draw(st.integers(-rank - 1, rank))})"), rank
    if kind == "Permute":  # a permutation of the dims (valid for `rank`; the other rank now and then)
        dims = draw(st.permutations(range(1, max(rank + draw(st.integers(-1, 1)), 1) + 1)))
        return step("Permute", f"layers.Permute({tuple(dims)!r})"), len(dims)
    # Reshape: a target with one free dimension, sized by a parameter or a constant.
    size = pick(("filters", "4", "8"))
    if kind == "ops.reshape":  # the op's shape includes the batch dimension: -1 takes it in
        target, new_rank = pick(((f"(-1, {size})", 1), (f"(-1, 2, {size})", 2)))
        return Step("ops.reshape", f"keras.ops.reshape({{0}}, {target})", (x,)), new_rank
    target, new_rank = pick(((f"(-1, {size})", 2), (f"({size}, -1)", 2), ("(-1,)", 1), (f"(2, -1, {size})", 3)))
    return step("Reshape", f"layers.Reshape({target})"), new_rank


def _merge_step(draw, kind: str, a: int, b: int, rank: int) -> Step:
    axis = draw(st.integers(-rank - 1, rank)) if "oncat" in kind else None
    if kind in ("Add", "Multiply", "Subtract"):
        return Step(kind, "([{0}, {1}])", (a, b), f"layers.{kind}()")
    if kind == "Concatenate":
        return Step(kind, "([{0}, {1}])", (a, b), f"layers.Concatenate(axis={axis})")
    if kind in ("+", "*"):
        return Step(kind, f"{{0}} {kind} {{1}}", (a, b))
    if kind == "ops.concatenate":
        return Step(kind, f"keras.ops.concatenate([{{0}}, {{1}}], axis={axis})", (a, b))
    return Step(kind, f"keras.{kind}({{0}}, {{1}})", (a, b))


@st.composite
def block_specs(draw, max_steps: int = 5) -> BlockSpec:
    """A random block: 1 to ``max_steps`` steps over a 1D (``H,C``) or 2D
    (``H,H,C`` / ``H,W,C``) input ``x``, now and then a second input ``skip``,
    with 4 to 16 points in its space."""
    spatial = draw(st.sampled_from((1, 2)))
    inputs = {"x": "H,C" if spatial == 1 else draw(st.sampled_from(("H,H,C", "H,W,C")))}
    if draw(st.integers(0, 4)) == 0:
        inputs["skip"] = draw(st.sampled_from(("H,D", "H,C", "D") if spatial == 1 else ("H,H,D", "H,W,C", "1,1,D", "D")))
    ranks = [len(t.split(",")) for t in inputs.values()]  # rank of each tensor so far (non-batch dims)
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, max_steps))):
        last = len(ranks) - 1
        choice = draw(st.integers(0, 7))
        if len(ranks) > 1 and choice <= 1:  # a merge with an earlier tensor
            other = draw(st.integers(0, last - 1))
            kind = draw(st.sampled_from(MERGES))
            steps.append(_merge_step(draw, kind, other, last, ranks[last]))
            ranks.append(max(ranks[last], ranks[other]))
            continue
        layered = [i for i, s in enumerate(steps, 1) if s.make is not None and s.reuses is None and not s.helper]
        if layered and choice == 2:  # call an earlier layer again, on the newest tensor
            j = draw(st.sampled_from(layered))
            old = steps[j - 1]
            inputs_now = (last,) if len(old.inputs) == 1 else (last, draw(st.integers(0, last)))
            steps.append(Step(old.kind, old.call, inputs_now, reuses=j))
            ranks.append(ranks[len(inputs) + j - 1])
            continue
        fits = ranks[last] == spatial + 1 or draw(st.integers(0, 9)) == 0  # now and then, the wrong rank
        kind = draw(st.sampled_from(SPATIAL_LAYERS + ANY_RANK_LAYERS if fits else ANY_RANK_LAYERS))
        step, rank = _layer_step(draw, kind, ranks[last], spatial, last)
        if step.make is not None and draw(st.integers(0, 5)) == 3:  # now and then in a helper
            step = Step(step.kind, step.call, step.inputs, step.make, helper=True)
        steps.append(step)
        ranks.append(rank)
    style = draw(st.sampled_from(STYLES))
    spec = BlockSpec(inputs, {}, tuple(steps), style)

    # Axes: the templates' dims and the parameters the steps use; some vary.
    dims = [d for t in inputs.values() for d in t.split(",") if not d.isdigit()]
    names = list(dict.fromkeys(dims)) + spec.params
    varying = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    axes, size = {}, 1
    for name in names:
        pool = AXIS_POOLS[name]
        room = min(len(pool), 16 // size)  # at most 16 points in all
        count = draw(st.integers(2, min(room, 4))) if name in varying and room >= 2 else 1
        axes[name] = draw(st.lists(st.sampled_from(pool), min_size=count, max_size=count, unique=True))
        size *= count
    while size < 4:  # at least 4 points: one more value on an axis that has room
        name = draw(st.sampled_from([n for n in names if len(axes[n]) < len(AXIS_POOLS[n])]))
        value = draw(st.sampled_from([v for v in AXIS_POOLS[name] if v not in axes[name]]))
        size = size // len(axes[name]) * (len(axes[name]) + 1)
        axes[name] = axes[name] + [value]
    return BlockSpec(inputs, axes, tuple(steps), style)


class _Enough(Exception):
    """Stops the collecting test once ``n`` distinct blocks are drawn."""


def corpus(n: int, seed: int = 0) -> list[BlockSpec]:
    """``n`` blocks drawn by Hypothesis, derandomized: the same list every run."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    specs: dict[str, BlockSpec] = {}  # Hypothesis repeats simple examples: keep each once

    @fixed_seed(seed)
    @settings(max_examples=10 * n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(block_specs())
    def collect(spec):
        specs.setdefault(f"{spec.source()}{spec.inputs}{spec.axes}", spec)
        if len(specs) == n:
            raise _Enough

    try:
        collect()
    except _Enough:
        pass
    return list(specs.values())


def write_module(spec: BlockSpec, folder: Path, name: str):
    """Write the block's source to ``folder/name.py`` and import it as a module
    (not kept in `sys.modules`); its function is ``module.block``."""
    path = Path(folder) / f"{name}.py"
    path.write_text(spec.source())
    loader = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


# --- plain Keras ---------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _words(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


def plain_keras(call: str, namespace: dict) -> BaseException | None:
    """Run ``call`` with plain Keras, layer names counted from zero as in a
    probe (`run_call`); the exception it raised, or None."""
    try:
        return run_call(call, namespace)
    except AssertionError as accepted:
        if str(accepted).startswith("plain Keras accepted"):
            return None
        raise


def _user_line(exc: BaseException, file: str) -> int | None:
    """The innermost line of ``file`` (the block's module) on the traceback."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if os.path.realpath(tb.tb_frame.f_code.co_filename) == os.path.realpath(file):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _agrees(layer_class: str, message: str, file: str | None, line: int | None, exc: BaseException,
            module_file: str) -> str | None:
    """Why plain Keras's exception does not match a reported failure, or None."""
    classes = raising_layer_classes(exc)  # outermost first: the last one raised
    if not classes or layer_class != classes[-1]:
        return f"plain Keras raised in {classes or 'no layer'} ({type(exc).__name__}: {_words(str(exc))[:300]})"
    if _words(message) not in _words(str(exc)):
        return f"message {message!r} is not in plain Keras's {_words(str(exc))[:300]!r}"
    expected = _user_line(exc, module_file)
    if file is None or os.path.realpath(file) != os.path.realpath(module_file) or line != expected:
        return f"reported at {file}:{line}, but plain Keras raised from line {expected} of the block"
    return None


def compare(spec: BlockSpec, module) -> tuple[object, list[str]]:
    """shapeguard's exhaustive check of ``module.block`` against plain Keras at
    every point it probed. Returns (report, disagreements), each disagreement
    one line naming the point's call."""
    import shapeguard

    options = spec.check_options()
    report = shapeguard.check(module.block, exhaustive=True, **options)
    namespace = vars(module)
    where = lambda failure: (failure.location.file, failure.location.line) if failure.location else (None, None)
    problems = []
    if report.probes != spec.size:
        problems.append(f"probed {report.probes} of {spec.size} points")
    for failure in report.failures:
        exc = plain_keras(failure.call, namespace)
        if exc is None:
            problems.append(f"reported {failure.kind} failure of {failure.layer_class} at {failure.call}: plain Keras passed")
        elif (why := _agrees(failure.layer_class, failure.message, *where(failure), exc, module.__file__)):
            problems.append(f"reported {failure.kind} failure of {failure.layer_class} at {failure.call}: {why}")
    for example, outcome in report.outcomes:
        call = spec.call(example)
        exc = plain_keras(call, namespace)
        if not outcome.failed:
            if exc is not None:
                problems.append(f"pass at {call}: plain Keras raised {type(exc).__name__} in "
                                f"{raising_layer_classes(exc) or 'no layer'}: {_words(str(exc))[:300]}")
        elif exc is None:
            problems.append(f"{outcome.status} ({outcome.layer_class or outcome.error_type}) at {call}: plain Keras passed")
        elif outcome.status in ("shape", "config"):
            if (why := _agrees(outcome.layer_class, outcome.message, outcome.file, outcome.line, exc,
                               module.__file__)):
                problems.append(f"{outcome.status} failure of {outcome.layer_class} at {call}: {why}")
        elif raising_layer_classes(exc):  # every line of a generated block is a Keras call
            problems.append(f"error ({outcome.error_type}: {outcome.message[:200]}) at {call}: but plain Keras "
                            f"raised in {raising_layer_classes(exc)}")
    return report, problems
