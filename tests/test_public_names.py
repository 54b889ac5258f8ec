"""What editors and type checkers see of the package: its public names in
``dir()`` (they load lazily, so nothing else would list them), and the PEP
561 marker that makes type checkers read its annotations."""

from __future__ import annotations

import importlib.resources
import sys

import shapeguard


def test_dir_lists_every_public_name_and_importing_it_loads_no_keras():
    assert dir(shapeguard) == sorted(shapeguard.__all__)
    if "keras" not in sys.modules:  # the fast lane: listing the names imports nothing heavy
        dir(shapeguard)
        assert "keras" not in sys.modules


def test_every_listed_name_resolves():
    for name in shapeguard.__all__:
        assert getattr(shapeguard, name) is not None, name


def test_the_package_is_marked_as_typed():
    assert importlib.resources.files("shapeguard").joinpath("py.typed").is_file()
