"""What several test modules share, imported as ``helpers.<module>`` (pytest
puts ``tests/`` on ``sys.path``, see ``pythonpath`` in pyproject.toml).

* `plain_keras`, `eager_keras`: confirm a failure independently of shapeguard,
  with plain Keras on symbolic inputs or on small real arrays;
* `standin_compare`: the stand-in tests' fast-against-plain comparison and marks;
* `layer_cases`: a Hypothesis strategy of single Keras layers and their inputs;
* `fuzz_blocks`: random blocks as data, written to files and compared;
* `explain_blocks`, `sample_blocks`: small blocks with known bugs, and block
  files' text that tests write into temporary folders;
* `command_line`: ``python -m shapeguard`` run as a user runs it.

Importing this package imports nothing; importing a module of it imports no
Keras unless its name says so (`layer_cases`, `explain_blocks` import it at
once; the others only inside their functions).
"""
