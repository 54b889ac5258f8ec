"""What `shapeguard.check_fit` costs on a 10-layer model, after the import.

    python benchmarks/check_fit.py [--repeats 20]

Builds a 10-layer CNN once, then times `check_fit` of it on data that
fits (the common case: nothing to confirm), after one untimed warm-up check
(TensorFlow's first graph is start-up, not the check). Prints the median and
its ratio to the target of 0.1 s (issue #20), then the time of one failing
check, which costs more: its tiny real ``fit`` step confirms it (no target).
Timing claims live here, not in the tests.
"""

from __future__ import annotations

import argparse
import statistics
import time

TARGET = 0.1  # seconds per passing check of a 10-layer model


def model():
    import keras

    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(32, activation="relu"), layers.Dropout(0.1),
        layers.Dense(10, activation="softmax"),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args(argv).repeats
    import shapeguard

    built = model()
    assert len(built.layers) == 10, len(built.layers)
    x, y, loss = (60000, 28, 28), (60000,), "sparse_categorical_crossentropy"
    assert shapeguard.check_fit(built, x, y, loss=loss).ok  # the warm-up, and the check's verdict
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        report = shapeguard.check_fit(built, x, y, loss=loss)
        times.append(time.perf_counter() - start)
        assert report.ok
    median = statistics.median(times)
    print(f"check_fit, 10-layer CNN, passing: median {median * 1000:.1f} ms over {repeats} checks; "
          f"target {TARGET * 1000:.0f} ms; ratio {median / TARGET:.2f}")
    start = time.perf_counter()
    report = shapeguard.check_fit(built, (60000, 28, 28, 3), y, loss=loss)
    assert [f.side for f in report.failures] == ["input"], report
    print(f"check_fit, the same model, failing (confirmed by one real fit step): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
