"""Which code is the user's: one rule for a probe, the crash supervisor and
every renderer (modelled on Hypothesis's ``internal/escalation.py``).

The user's code is every file outside Keras, TensorFlow, shapeguard, the
libraries they run on and the standard library, plus the target's own files
wherever they are installed (``keras.src.applications.resnet`` is the user's
code when it is the target). The innermost frame of the user's code is where
a failure is reported. Nothing here imports Keras: package folders are found
with `importlib.util.find_spec`, which does not import them, so the
command line's light watching process applies the same rule.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import linecache
import os
import sys
import sysconfig
from typing import Callable

# Packages whose frames are never "the user's line".
INTERNAL_PACKAGES = ("keras", "tensorflow", "shapeguard", "wrapt", "hypothesis", "optree", "numpy", "jax",
                     "jaxlib", "torch")


# TensorFlow's autograph writes the code it makes of a ``@tf.function`` to a
# temporary file of this name: never the user's line (classify maps it back).
AUTOGRAPH_PREFIX = "__autograph_generated_file"


@functools.lru_cache(maxsize=None)
def _internal_roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(standard library folders, folders of the packages in INTERNAL_PACKAGES)."""
    paths = sysconfig.get_paths()
    packages = []
    for name in INTERNAL_PACKAGES:
        module = sys.modules.get(name)
        folder = os.path.dirname(module.__file__) if getattr(module, "__file__", None) else None
        if folder is None:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            locations = list(spec.submodule_search_locations or []) if spec is not None else []
            folder = locations[0] if locations else None
        if folder:
            packages.append(folder)
    as_dirs = lambda dirs: tuple(os.path.join(os.path.realpath(d), "") for d in dirs)
    return as_dirs({paths["stdlib"], paths["platstdlib"]}), as_dirs(packages)


@functools.lru_cache(maxsize=4096)
def is_internal(filename: str) -> bool:
    """Frames of Keras, TensorFlow, shapeguard and the standard library. A
    user's own package installed in site-packages still counts as the user's."""
    if filename.startswith("<") or os.path.basename(filename).startswith(AUTOGRAPH_PREFIX):
        return True
    path = os.path.realpath(filename)
    stdlib, packages = _internal_roots()
    if path.startswith(packages):
        return True
    parts = path.split(os.sep)
    return path.startswith(stdlib) and "site-packages" not in parts and "dist-packages" not in parts


def is_user(filename: str, user_files: frozenset = frozenset()) -> bool:
    """The user's code: anything not internal, and the target's own files
    (``user_files``, see `target_files`) wherever they are installed."""
    if not is_internal(filename):
        return True
    return bool(user_files) and not filename.startswith("<") and realpath(filename) in user_files


@functools.lru_cache(maxsize=4096)
def realpath(filename: str) -> str:
    return os.path.realpath(filename)


def innermost(fn: Callable) -> Callable:
    """The function under decorators (``__wrapped__``), bound methods and
    partials: what identifies a target and its file."""
    for _ in range(10):
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif inspect.ismethod(fn):
            fn = fn.__func__
        elif getattr(fn, "__wrapped__", None) is not None:  # a decorator's wrapper, a resolved target
            fn = fn.__wrapped__
        else:
            break
    return fn


def target_files(fn: Callable) -> frozenset:
    """The real path of the file that defines ``fn`` (through decorators,
    bound methods and partials), as a set for `is_user`'s ``user_files``;
    empty when it has none (a builtin, a lambda typed at a prompt)."""
    try:
        target = innermost(fn)
        path = inspect.getsourcefile(target) or inspect.getfile(target)
    except (TypeError, OSError):
        return frozenset()
    return frozenset({os.path.realpath(path)}) if path and not path.startswith("<") else frozenset()


def definition(fn) -> tuple | None:
    """``(file, line)`` of the ``def`` or ``class`` line of ``fn`` (through
    decorators, bound methods and partials; a callable instance's class), not
    of its first decorator: where a report points when nothing else has a
    line (a block that killed its process). None when it has no source."""
    import ast
    import textwrap

    target = innermost(fn)
    if not (inspect.isclass(target) or inspect.isfunction(target)):
        target = type(target)
    try:
        file = inspect.getsourcefile(target)
        lines, start = inspect.getsourcelines(target)
    except (OSError, TypeError, IndexError):  # no source: a builtin, a class typed at a prompt
        return None
    if not file:
        return None
    try:  # a decorated definition starts at its first decorator; the node's lineno is its def line
        node = ast.parse(textwrap.dedent("".join(lines))).body[0]
        offset = node.lineno - 1
    except (SyntaxError, IndexError):
        offset = 0
    return file, max(start, 1) + offset


def frames(tb) -> list:
    """``[(frame, line), ...]`` of a traceback, outermost first."""
    found = []
    while tb is not None:
        found.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return found


def function_name(frame) -> str:
    return getattr(frame.f_code, "co_qualname", frame.f_code.co_name)


def user_line(frame) -> tuple:
    """``(file, line)`` of the innermost frame of the user's code at or above ``frame``."""
    while frame is not None:
        if not is_internal(frame.f_code.co_filename):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return None, None


def relative_path(path: str) -> str:
    """``path`` relative to the current directory when under it, else as it is."""
    try:
        rel = os.path.relpath(path)
    except (ValueError, OSError):  # another drive; no current directory (a block removed it)
        return path
    return path if rel.startswith(os.pardir) else rel


_SOURCES_KEPT = 256  # files whose lines are kept (the most recent checks' targets)
_sources: dict = {}  # file -> its lines when a check started, or when a probe first reported a line in it


def remember_source(files) -> None:
    """Keep the lines of ``files`` as they are now: a block may delete or
    rewrite its own file while it is probed, and the report still shows the
    lines of the code that was checked (`source_line`)."""
    for file in files:
        if not file or file.startswith("<"):
            continue
        lines = linecache.getlines(file)
        if lines:
            _sources.pop(file, None)
            _sources[file] = lines
            while len(_sources) > _SOURCES_KEPT:
                del _sources[next(iter(_sources))]


def source_line(file: str, line: int) -> str:
    """Line ``line`` of ``file`` as `remember_source` kept it, else as it is now
    (empty when it cannot be read)."""
    lines = _sources.get(file) or _sources.get(realpath(file))
    if lines is None:
        return linecache.getline(file, line)
    return lines[line - 1] if 0 < line <= len(lines) else ""


def shown(location: tuple) -> str:
    """``blocks.py:12`` for ``(file, line)``; ``Cell In[3], line 5`` for a
    line of a notebook cell (`notebook_cell`), as IPython's own tracebacks say it."""
    cell = notebook_cell(location[0])
    if cell is not None:
        return f"Cell {cell}, line {location[1]}"
    return f"{relative_path(location[0])}:{location[1]}"


def notebook_cell(file: str) -> str | None:
    """``In[3]`` when ``file`` is the code of a cell of the running IPython
    (``/tmp/ipykernel_12345/3412.py``), the name its tracebacks give it
    (``IPython.core.compilerop.CachingCompiler.format_code_name``); None
    otherwise. Never imports IPython: a program that did not is no notebook."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if get is not None else None
    compiler = getattr(shell, "compile", None)
    try:
        named = compiler.format_code_name(file) if compiler is not None else None
    except Exception:  # noqa: BLE001 - another IPython's compiler: the path is shown as it is
        return None
    return named[1] if named and named[0] == "Cell" else None
