"""Shared test setup. `pytester` runs pytest sessions in a temporary folder."""

import os

pytest_plugins = ["pytester"]

# Child processes (the CLI, pytester subprocess runs) start TensorFlow quietly.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
