"""The text report in colour, for a terminal (``--color``): ANSI codes
around what a reader looks for first, the rest of the text unchanged.

* the verdict of each block: ``FAIL`` red, ``ERROR`` and ``NOT CHECKED``
  yellow, ``OK`` green;
* each mode's kind (``shape failure``, ``config failure``, ``declared
  failure``: the words of `_words.FAILURE_WORDS`) bold red, ``[error] the
  block raised ...`` bold yellow, ``[warning] broadcast`` yellow;
* the ``minimal:`` (or ``example:``) and ``reproduce:`` values bold, the ``fix:`` line green.

Only lines of `text.render_text`'s own shapes are touched (fixed indents and
labels), so a Keras message that happens to contain such a word stays as it is.
"""

from __future__ import annotations

import re

from ._words import FAILURE_WORDS

RESET = "\033[0m"
BOLD = "\033[1m"
RED = "\033[31m"
GREEN = "\033[32m"
YELLOW = "\033[33m"

_VERDICT = re.compile(r"^(\S.*?: )(FAIL|ERROR|NOT CHECKED|OK)(?=[ ,(]|$)", re.M)
_VERDICT_COLOURS = {"FAIL": BOLD + RED, "ERROR": BOLD + YELLOW, "NOT CHECKED": BOLD + YELLOW, "OK": BOLD + GREEN}
_KIND = re.compile(r"^(  \[\d+\] )(" + "|".join(re.escape(w.label) for w in FAILURE_WORDS.values()) + r")(?=:)",
                   re.M)
_ERROR = re.compile(r"^(  )(\[error\] the block [^:\n]*)(?=:)", re.M)
_WARNING = re.compile(r"^(  )(\[warning\] broadcast)(?=:)", re.M)
_CALL = re.compile(r"^(      (?:minimal|example|reproduce|reproduce on data): )(.+)$", re.M)
_FIX = re.compile(r"^(      fix: .+(?:\n {11}.+)*)$", re.M)  # with its wrapped lines


def highlight(text: str) -> str:
    """``text`` (a text report, `text.render`) with ANSI colour codes."""
    text = _VERDICT.sub(lambda m: m[1] + _VERDICT_COLOURS[m[2]] + m[2] + RESET, text)
    text = _KIND.sub(lambda m: m[1] + BOLD + RED + m[2] + RESET, text)
    text = _ERROR.sub(lambda m: m[1] + BOLD + YELLOW + m[2] + RESET, text)
    text = _WARNING.sub(lambda m: m[1] + YELLOW + m[2] + RESET, text)
    text = _CALL.sub(lambda m: m[1] + BOLD + m[2] + RESET, text)
    return _FIX.sub(lambda m: "\n".join(GREEN + line + RESET for line in m[1].split("\n")), text)
