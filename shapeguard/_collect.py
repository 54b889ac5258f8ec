"""Turn a command-line target into the functions to check.

A target is ``package.module:function``, ``path/to/file.py:function``,
``...:Class.method`` (the class is created with no arguments and its bound
method checked), ``...:MyLayer`` (a Layer subclass or a class with
``__call__``, checked as a class: see `shapeguard._callee`; ``MyLayer.call``
means the same), or a bare module or file, meaning every ``@guard`` function
and class in it. Every way a target can be wrong becomes one `TargetError` sentence that
names it; nothing here lets a traceback through, except Ctrl-C.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.util
import inspect
import os
import re
import sys
import types
from dataclasses import dataclass
from typing import Any, Callable

from ._callee import defines_call, is_layer_class
from ._show import one_line
from ._spec import find_guarded, is_guard_wrapper
from ._usercode import relative_path as _shown_path
from .errors import ShapeguardError

_MISSING = object()


class TargetError(ShapeguardError):
    """A target that cannot be imported, found or called."""


@dataclass(frozen=True)
class Target:
    name: str  # as the user wrote it; ":qualname" added for a bare module's functions
    function: Callable


def collect(text: str) -> list[Target]:
    """The functions ``text`` names; empty for a bare module or file without
    ``@guard`` functions. A directory means every Python file under it that
    ``pytest --shapeguard`` would collect (`python_files_under`)."""
    if os.path.isdir(text) and ":" not in text.rstrip(os.sep + (os.altsep or "")):
        return [t for path in python_files_under(text) for t in collect(path)]
    module_part, attribute = split_target(text)
    if is_file_path(module_part) and os.path.isfile(module_part) and not _is_python_file(module_part):
        raise TargetError(f"cannot import {module_part}: not a Python file (name a .py file, a folder or a module).")
    if attribute is None and is_file_path(module_part) and not mentions_guard(module_part):
        return []
    module = load_module(module_part)
    if attribute is not None:
        return [Target(text, resolve_attribute(module, attribute, module_part))]
    return [
        Target(f"{text}:{qualname}", resolve_attribute(module, qualname, module_part))
        for qualname, _ in find_guarded(module)
    ]


def _is_python_file(path: str) -> bool:
    """A ``.py`` file, or a script whose first line runs Python (pre-commit's
    ``types: [python]`` passes those too)."""
    if path.endswith((".py", ".pyw")):
        return True
    try:
        with open(path, "rb") as source:
            first = source.readline(200)
    except OSError:
        return True  # let the import say what is wrong with it
    return first.startswith(b"#!") and b"python" in first


def split_target(text: str) -> tuple[str, str | None]:
    """``"pkg.mod:Cls.fn"`` -> ``("pkg.mod", "Cls.fn")``; ``"pkg.mod"`` -> ``("pkg.mod", None)``.
    A Windows drive letter (``C:\\models\\blocks.py``) is not a separator."""
    module_part, colon, attribute = text.rpartition(":")
    if not colon or _is_drive(module_part):
        return text, None
    if not module_part:
        raise TargetError(f"{text!r} names no module; write module:function or path/to/file.py:function.")
    if not attribute or not all(part.isidentifier() for part in attribute.split(".")):
        raise TargetError(
            f"{text!r}: {attribute!r} after ':' is not a function name; write module:function or path/to/file.py:function."
        )
    return module_part, attribute


def _is_drive(text: str) -> bool:
    return len(text) == 1 and text.isalpha() and os.name == "nt"


def is_file_path(module_part: str) -> bool:
    separators = {"/", os.sep, os.altsep} - {None}
    return module_part.endswith(".py") or any(s in module_part for s in separators)


_MENTIONS_GUARD = re.compile(rb"shapeguard|@[ \t]*guard\b")

# The folders pytest does not recurse into by default (its `norecursedirs`),
# and __pycache__; a virtual environment is skipped too, as pytest does.
NORECURSEDIRS = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}", "__pycache__")


def mentions_guard(path: str) -> bool:
    """Whether a file can define ``@guard`` functions at all: its source says
    ``shapeguard`` (an import) or ``@guard``. Any other file is skipped
    unimported: pre-commit passes every staged Python file, and importing
    scripts and setup.py runs them ("safeguard" in a comment is no reason)."""
    try:
        with open(path, "rb") as source:
            return _MENTIONS_GUARD.search(source.read()) is not None
    except OSError:
        return True  # let the import report what is wrong with it


def python_files_under(directory: str) -> list[str]:
    """The ``.py`` files under ``directory`` that ``pytest --shapeguard
    directory`` would collect, in sorted order: not ``conftest.py``, not in
    folders matching `NORECURSEDIRS` or holding a virtual environment, and
    only files that `mentions_guard`. Shown relative to ``directory`` as given."""
    found = []
    root = directory.rstrip("/" + os.sep) or directory
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders
            if not any(fnmatch.fnmatch(d, pattern) for pattern in NORECURSEDIRS)
            and not _is_virtualenv(os.path.join(folder, d))
        )
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith(".py") and name != "conftest.py" and mentions_guard(path):
                found.append(path)
    return found


def _is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg")) or os.path.isfile(
        os.path.join(path, "conda-meta", "history")
    )


def load_module(module_part: str) -> types.ModuleType:
    """Import a module by dotted name, or a file by path; the current
    directory is importable, as with ``python -m`` and pytest."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    if is_file_path(module_part):
        return _load_file(module_part)
    if not all(part.isidentifier() for part in module_part.split(".")):
        raise TargetError(f"{module_part!r} is neither a Python file (path/to/file.py) nor a module name (package.module).")
    return _import(module_part, module_part)


def _load_file(shown: str) -> types.ModuleType:
    path = os.path.realpath(shown)
    if os.path.isdir(path):
        raise TargetError(f"cannot import {shown}: it is a directory; name a .py file or a module.")
    if not os.path.isfile(path):
        raise TargetError(f"cannot import {shown}: no such file.")
    name, root = module_name_for(path)
    loaded = sys.modules.get(name)
    if loaded is not None and _same_file(getattr(loaded, "__file__", None), path):
        return loaded
    if loaded is not None:  # another file already has that name (a/blocks.py, b/blocks.py)
        name = _unused_name(name)
    if root not in sys.path and root != os.getcwd():
        # After the current directory: the file's neighbours are importable,
        # as when Python runs it, without shadowing the user's own modules.
        sys.path.insert(1 if sys.path and sys.path[0] in ("", os.getcwd()) else 0, root)
    parent_name, _, leaf = name.rpartition(".")
    parent = _import(parent_name, shown) if parent_name else None

    def load() -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise TargetError(f"cannot import {shown}: not a Python source file.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        if parent is not None:
            setattr(parent, leaf, module)
        return module

    return _import(name, shown, load)


def module_name_for(path: str) -> tuple[str, str]:
    """``(dotted name, import root)`` for a file, as pytest names test files:
    its package path when its folder is a package (``mypkg/blocks.py`` ->
    ``mypkg.blocks``, root above ``mypkg``), else its bare name, rooted in its folder."""
    folder, filename = os.path.split(path)
    parts = [os.path.splitext(filename)[0]]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        parts.insert(0, package)
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return _unused_name("_shapeguard_target"), folder
    return ".".join(parts), folder


def _import(name: str, shown: str, load: Callable[[], types.ModuleType] | None = None) -> types.ModuleType:
    """Import, turning every failure into one sentence (Ctrl-C passes)."""
    try:
        return load() if load is not None else importlib.import_module(name)
    except TargetError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")) and load is None:
            raise TargetError(
                f"cannot import {shown}: no module named {exc.name!r}."
            ) from None
        raise TargetError(f"cannot import {shown}: {one_line(exc)}") from None
    except SyntaxError as exc:
        where = f"{_shown_path(exc.filename)}:{exc.lineno}" if exc.filename else shown
        raise TargetError(f"cannot import {shown}: {type(exc).__name__} at {where}: {exc.msg}") from None
    except (Exception, SystemExit) as exc:
        raise TargetError(f"cannot import {shown}: {one_line(exc)}") from None


def resolve_attribute(module: types.ModuleType, attribute: str, module_part: str) -> Callable:
    """Follow ``Class.method`` from the module. A method defined on a class is
    taken from an instance made with no arguments, so it is checked bound;
    a Layer's ``call`` stands for the Layer class itself (a fresh instance per probe)."""
    target = f"{module_part}:{attribute}"
    owner: Any = module
    where = module_part
    parts = attribute.split(".")
    for i, part in enumerate(parts):
        if i == len(parts) - 1 and part == "call" and inspect.isclass(owner) and is_layer_class(owner):
            return owner
        if inspect.isclass(owner) and _binds_to_instance(inspect.getattr_static(owner, part, None)):
            owner = getattr(_instantiate(owner, target), part)
        else:
            found = getattr(owner, part, _MISSING)
            if found is _MISSING:
                raise TargetError(f"cannot find {part!r} in {where}.{_suggest(part, owner)}")
            owner = found
        where = f"{where}:{part}" if where == module_part else f"{where}.{part}"
    if inspect.isclass(owner):
        if is_layer_class(owner) or defines_call(owner):
            return owner
        raise TargetError(
            f"{target} is a class, not a function; it is neither a keras Layer nor callable (no __call__): "
            f"name one of its methods, as in {attribute}.method."
        )
    if not callable(owner):
        raise TargetError(f"{target} is {_article(type(owner).__name__)}, not a function.")
    return owner


def _binds_to_instance(member: Any) -> bool:
    """A plain method (guarded or not): it needs an instance to be called."""
    return is_guard_wrapper(member) or inspect.isfunction(member)


def _instantiate(cls: type, target: str) -> Any:
    try:
        inspect.signature(cls).bind()
    except TypeError as exc:
        raise TargetError(
            f"{target}: cannot create {cls.__name__}() to call its method ({exc}); "
            f"give {cls.__name__}'s parameters defaults, or check a module-level function."
        ) from None
    except ValueError:
        pass  # no signature to read: just try
    try:
        return cls()
    except (Exception, SystemExit) as exc:
        raise TargetError(f"{target}: cannot create {cls.__name__}(): {one_line(exc)}") from None


def _suggest(name: str, owner: Any) -> str:
    names = [n for n in dir(owner) if not n.startswith("_")]
    close = difflib.get_close_matches(name, names, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _same_file(a: str | None, b: str) -> bool:
    return a is not None and os.path.realpath(a) == b


def _unused_name(base: str) -> str:
    n = 1
    while f"{base}_{n}" in sys.modules:
        n += 1
    return f"{base}_{n}"


def _article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
