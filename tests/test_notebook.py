"""The report in a real Jupyter kernel: a notebook built here (nbformat) is
executed by nbclient, as JupyterLab would run it, and its outputs are read
as the notebook shows them.

Cost: one kernel start and one TensorFlow import in it, about 10 s, for the
whole module (one execution, read by each test).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.keras

TESTS = Path(__file__).resolve().parent

CELLS = [
    "import keras, shapeguard",
    # The broken block, defined in a cell: its Add line is line 3 of cell In[2].
    "def block(x, filters=32):\n"
    "    y = keras.layers.Conv2D(filters, 3, padding='same')(x)\n"
    "    return keras.layers.Add()([x, y])",
    "report = shapeguard.check(block, inputs={'x': 'H,H,C'}, C=[8, 16], filters=[8, 16, 32], H=[7], exhaustive=True)\n"
    "report",
    "report.failures[0]",
    # Every failure the notebook shows is one plain Keras makes.
    f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
    "from helpers.plain_keras import confirm\n"
    "print('confirmed', len([confirm(f, globals()) for f in report.failures]))",
    "print(report)",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The outputs of each cell, by execution count, after running the notebook in a kernel."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    folder = tmp_path_factory.mktemp("notebook")
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return {cell.execution_count: cell.outputs for cell in notebook.cells}


def data(outputs, count: int, mime: str) -> str:
    (result,) = [o for o in outputs[count] if o.output_type == "execute_result"]
    return result.data[mime]


def test_the_report_is_a_header_one_row_per_mode_and_one_grid(outputs):
    page = data(outputs, 3, "text/html")
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style>.*?</style>", "", page, flags=re.S)))  # as seen
    modes = page.count("<tr class='sg-mode'>")
    assert modes >= 1 and text.startswith(f"FAIL __main__:block: {modes} failure mode")
    assert "(all 6 combinations probed)" in text
    assert page.count("<details>") >= modes  # each mode's rest, folded
    assert "Add 'add" in text and "keras:" in text and "reproduce:" in text
    assert "Cell In[2], line 3" in text and "ipykernel" not in page
    assert page.count("<table class='sg-grid'>") == 1 and "<pre>" not in page  # the grid once, no terminal text
    for mark in (".", "#"):  # the marks are text in the cells
        assert re.search(rf"<td class='sg-\w+' title='[^']*'>{re.escape(mark)}</td>", page), mark


def test_the_text_report_names_the_cell_too_and_a_report_repr_is_its_first_line(outputs):
    (stream,) = [o for o in outputs[6] if o.output_type == "stream"]
    assert "      at Cell In[2], line 3:  return keras.layers.Add()([x, y])" in stream.text
    assert data(outputs, 3, "text/plain") == f"<Report {stream.text.splitlines()[0]}>"


def test_a_failure_shows_as_one_line(outputs):
    shown = data(outputs, 4, "text/plain")
    assert re.fullmatch(r"<Failure shape Add 'add\w*' \(cause: channels\) minimal: [^<>\n]+>", shown), shown
    assert "H=7" in shown and "C=" in shown and "filters=" in shown


def test_plain_keras_fails_where_the_notebook_says(outputs):
    (stream,) = [o for o in outputs[5] if o.output_type == "stream"]
    assert re.fullmatch(r"confirmed [1-9]\d*\n", stream.text)
