"""The seed example, shipped so that the quick start runs from any folder
after ``pip install``: `resnext_block` (the ResNeXt block shapeguard started
from, bugs included) and `resnext_block_fixed` (its fixed twin)::

    shapeguard check shapeguard.examples.resnext_block:block        # exits 1: 4 failure modes
    shapeguard check shapeguard.examples.resnext_block_fixed:block  # exits 0

Importing this package imports nothing; each module imports Keras.
"""
