"""Verdicts equal across Keras backends: the differential corpus of single
layers (`helpers.layer_cases`) judged on each installed backend other than
the suite's (in a subprocess with ``KERAS_BACKEND`` set) agrees with
shapeguard's fast path on the suite's backend, layer by layer; the seed
example's check reports the same failure modes on each; on a backend that is
not TensorFlow, TensorFlow is never imported. A backend that is not installed
is skipped with its reason; the suite's CI installs TensorFlow and JAX, so
the NumPy and JAX backends always run there."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import keras
import pytest

from helpers.command_line import REPO, child_env

pytestmark = pytest.mark.keras

CASES = 60  # single-layer cases compared per backend

# What the subprocess runs: the corpus's verdicts, as JSON, one per case.
VERDICTS = textwrap.dedent("""
    import json, sys
    import keras
    from hypothesis import HealthCheck, given, settings
    from helpers.layer_cases import single_layers
    from test_differential import verdict

    fast = sys.argv[1] == "fast"
    found = []

    @settings(max_examples=int(sys.argv[2]), derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(single_layers())
    def collect(case):
        description, make, shapes = case
        v = verdict(make, shapes, fast=fast)
        found.append([description, [list(s) for s in shapes], [v[0], repr(v[1])]])

    collect()
    heavy = "tensorflow" in sys.modules
    print(json.dumps({"backend": keras.backend.backend(), "cases": found, "tensorflow_imported": heavy}))
""")


def _installed(backend: str) -> bool:
    needs = {"tensorflow": ["tensorflow"], "jax": ["jax"], "numpy": ["jax"], "torch": ["torch"]}[backend]
    return all(importlib.util.find_spec(name) is not None for name in needs)


OTHER_BACKENDS = [b for b in ("jax", "numpy", "torch") if b != keras.backend.backend()]


def _verdicts(backend: str, fast: bool) -> dict:
    env = {**child_env(), "KERAS_BACKEND": backend,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), child_env().get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", VERDICTS, "fast" if fast else "plain", str(CASES)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def reference() -> dict:
    """The suite's backend, on shapeguard's fast path."""
    return _verdicts(keras.backend.backend(), fast=True)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_every_layer_verdict_is_the_same_on_each_backend(backend, reference):
    if not _installed(backend):
        pytest.skip(f"the {backend} backend is not installed (pip install \"shapeguard-keras[{backend}]\")")
    other = _verdicts(backend, fast=True)
    assert other["backend"] == backend
    assert not other["tensorflow_imported"], f"TensorFlow was imported on the {backend} backend"
    assert len(other["cases"]) == len(reference["cases"])
    disagreements = [
        f"{mine[0]} on {mine[1]}: {reference['backend']} {mine[2]} but {backend} {theirs[2]}"
        for mine, theirs in zip(reference["cases"], other["cases"])
        if mine[:2] == theirs[:2] and mine[2] != theirs[2]
    ]
    assert [m[:2] for m in reference["cases"]] == [t[:2] for t in other["cases"]], "the corpora differ"
    assert not disagreements, "\n".join(disagreements)


SEED_CHILD = """
import json, runpy, sys
import shapeguard
block = runpy.run_path("shapeguard/examples/resnext_block.py")["block"]
report = shapeguard.check(block)
modes = [[f.kind, f.layer_class, f.cause, f.location.line if f.location else None, f.call] for f in report.failures]
print(json.dumps({"modes": modes, "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def _seed_modes(backend: str) -> list:
    """The seed example's failure modes (kind, layer, cause, line, call) on
    ``backend``, checked in a process of its own; on a backend other than
    TensorFlow, that process must not have imported TensorFlow."""
    env = {**child_env(), "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", SEED_CHILD], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert backend == "tensorflow" or not result["tensorflow_imported"], f"TensorFlow was imported on {backend}"
    assert result["modes"], "the seed example fails on every backend"
    return result["modes"]


@pytest.fixture(scope="module")
def seed_modes() -> list:
    return _seed_modes(keras.backend.backend())


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_the_seed_example_reports_the_same_failure_modes_on_each_backend(backend, seed_modes):
    if not _installed(backend):
        pytest.skip(f"the {backend} backend is not installed (pip install \"shapeguard-keras[{backend}]\")")
    assert _seed_modes(backend) == seed_modes


def test_the_fuzz_corpus_agrees_with_plain_keras_on_the_numpy_backend():
    """tests/test_fuzz.py (random whole blocks, shapeguard against plain
    Keras) run on the NumPy backend, with its fast path (deferred weights, stand-ins)."""
    if not _installed("numpy"):
        pytest.skip("the numpy backend needs jax (pip install \"shapeguard-keras[jax]\")")
    env = {**child_env(), "KERAS_BACKEND": "numpy"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                           "tests/test_fuzz.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 disagreements" in done.stdout


def test_a_backend_that_is_not_installed_is_one_sentence_naming_the_extras():
    if _installed("torch"):
        pytest.skip("torch is installed here: this test needs a backend that is not")
    env = {**child_env(), "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, "-m", "shapeguard", "check", "shapeguard/examples/resnext_block.py:block"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "shapeguard: cannot import shapeguard/examples/resnext_block.py: Keras is configured for the torch backend "
        "(KERAS_BACKEND), but torch is not installed; install a backend with pip install "
        "\"shapeguard-keras[torch]\" (or [tensorflow], [jax]), or set KERAS_BACKEND to one that is installed."
    )


def test_a_backend_keras_does_not_have_is_one_sentence_naming_the_ones_it_has():
    env = {**child_env(), "KERAS_BACKEND": "nonsense"}
    done = subprocess.run([sys.executable, "-m", "shapeguard", "check", "shapeguard/examples/resnext_block.py:block"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == (
        "shapeguard: cannot import shapeguard/examples/resnext_block.py: Keras has no backend 'nonsense' (KERAS_BACKEND); "
        "set it to one of tensorflow, jax, torch, numpy, openvino."
    )


def test_a_block_calling_tensorflow_on_another_backend_gets_plain_keras_error(tmp_path):
    """``tf.nn.relu`` on a KerasTensor of the NumPy backend: the block's own
    error (exit 3), the ValueError plain Keras raises there, at its line."""
    if not (_installed("numpy") and _installed("tensorflow")):
        pytest.skip("needs the numpy backend (jax) and TensorFlow installed")
    (tmp_path / "b.py").write_text(textwrap.dedent("""\
        import tensorflow as tf
        from keras import layers


        def block(x, filters=8):
            y = layers.Conv2D(filters, 3, padding="same")(x)
            return tf.nn.relu(y)
    """))
    env = {**child_env(), "KERAS_BACKEND": "numpy"}
    done = subprocess.run([sys.executable, "-m", "shapeguard", "check", "b.py:block", "--input", "x=8,8,3",
                           "--format", "json", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 3, done.stderr
    (target,) = json.loads(done.stdout)["targets"]
    assert target["failures"] == []
    (error,) = target["errors"]
    plain = subprocess.run([sys.executable, "-c", "import keras, b\ntry:\n    b.block(keras.Input((8, 8, 3)))\n"
                            "except Exception as e:\n    print(type(e).__name__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert (error["type"], error["location"]["line"]) == (plain.stdout.strip(), 7)
