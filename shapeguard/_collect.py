"""Turn a command-line target into the blocks to check.

A target is ``package.module:function``, ``path/to/file.py:function``,
``...:Class.method`` (the class is created with no arguments and its bound
method checked), ``...:MyLayer`` (a Layer subclass or a class with
``__call__``, checked as a class: see `shapeguard._callee`; ``MyLayer.call``
means the same), or a bare module, file or folder, meaning every block
builder defined in it, decorated or not (`find_blocks`). Every way a named
target can be wrong becomes one `TargetError` sentence that names it; a block
found in a bare module or file that cannot be bound (a method whose class
needs arguments) is kept, with that sentence, to be listed as not checked.
Nothing here lets a traceback through, except Ctrl-C.
"""

from __future__ import annotations

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
from ._discover import CLASS, FUNCTION, METHOD, definitions
from ._expr import suggest
from ._show import one_line
from ._spec import find_guarded, first_line, is_guard_wrapper, unwrap
from ._usercode import relative_path as _shown_path
from .errors import ShapeguardError

_MISSING = object()


class TargetError(ShapeguardError):
    """A target that cannot be imported, found or called."""


@dataclass(frozen=True)
class Target:
    name: str  # as the user wrote it; ":qualname" added for a bare module's blocks
    function: Callable | None  # None when it cannot be bound (see problem)
    found: bool = False  # found in a bare module, file or folder, not named by the user
    problem: ShapeguardError | None = None  # a found block that cannot be bound, and why
    defined_at: tuple | None = None  # (file, line) of its definition, when known


def collect(text: str, excluded: Callable[[str], bool] | None = None) -> list[Target]:
    """The blocks ``text`` names: the one named, or every block of a bare
    module or file (`find_blocks`; none for a file `may_define_blocks` rules
    out). A directory means every Python file under it that ``pytest
    --shapeguard`` would collect (`python_files_under`); one of them that
    cannot be imported is a found target that could not be checked;
    ``excluded(path)`` says which files and folders it skips."""
    if os.path.isdir(text) and ":" not in text.rstrip(os.sep + (os.altsep or "")):
        return [t for path in python_files_under(text, excluded) for t in collect_file(path)]
    module_part, attribute = split_target(text)
    if is_file_path(module_part) and os.path.isfile(module_part) and not _is_python_file(module_part):
        raise TargetError(f"cannot import {module_part}: not a Python file (name a .py file, a folder or a module).")
    if attribute is None and is_file_path(module_part) and not may_define_blocks(module_part):
        return []
    module = load_module(module_part)
    if attribute is not None:
        return [Target(text, resolve_attribute(module, attribute, module_part))]
    return [_found(module, module_part, text, qualname, obj) for qualname, obj in find_blocks(module)]


def collect_file(path: str) -> list[Target]:
    """A folder's file: its blocks, or, when it cannot be imported (a syntax
    error, an import that fails), one entry that could not be checked, saying
    why: the folder's other files are still checked."""
    try:
        return collect(path)
    except TargetError as exc:
        return [Target(path, None, True, exc, (os.path.abspath(path), 1))]


def _found(module: types.ModuleType, module_part: str, text: str, qualname: str, obj: Any) -> Target:
    """A block of a bare module or file, bound as a named one would be; one
    that cannot be (its class needs arguments) keeps the sentence saying why."""
    name = f"{text}:{qualname}"
    try:
        return Target(name, resolve_attribute(module, qualname, module_part), True, None, defined_at(obj))
    except TargetError as exc:
        return Target(name, None, True, exc, defined_at(obj))


def defined_at(obj: Any) -> tuple | None:
    """``(file, line)`` of a function's or class's definition, else None."""
    try:
        file = inspect.getsourcefile(unwrap(obj))
    except TypeError:
        return None
    return (file, first_line(obj) or 1) if file else None


def find_blocks(module: types.ModuleType, guarded_only: bool = False) -> list[tuple[str, Any]]:
    """``(qualified name, object)`` for every block defined in ``module``, in
    file order: its ``@guard`` functions, methods and classes (`find_guarded`)
    and, unless ``guarded_only``, every other block builder its source shows
    (`_discover`): a top-level function, or a method of a top-level class
    that is not a Layer (``Class.method``, bound to ``Class()`` when checked),
    that builds Keras, every `keras.layers.Layer` subclass (``keras.Model``
    too), and a class whose ``__call__`` builds Keras. A Layer's own methods
    are not blocks (the class is), nor are other special methods. Each is
    listed once; the decorator's spec is used where there is one."""
    found: dict[str, Any] = dict(find_guarded(module))
    if not guarded_only:
        for qualname, obj in _discovered(module):
            found.setdefault(qualname, obj)
    for qualname in [q for q in found if q.endswith(".call")]:  # @guard on a Layer's call(): the Layer is listed
        owner = found.get(qualname[: -len(".call")])
        if inspect.isclass(owner) and is_layer_class(owner):
            del found[qualname]
    return sorted(found.items(), key=lambda item: first_line(item[1]))


def _discovered(module: types.ModuleType):
    """The undecorated blocks of ``module``: its source's candidates
    (`_discover.definitions`) that are what the source says in the module."""
    source = _source_of(module)
    if source is None:
        return
    names = vars(module)
    layers: dict[str, bool] = {}

    def own(obj: Any, qualname: str) -> bool:
        return getattr(obj, "__module__", None) == module.__name__ and getattr(obj, "__qualname__", None) == qualname

    for d in definitions(source):
        if d.kind == FUNCTION:
            obj = names.get(d.qualname)
            if d.builds and inspect.isfunction(obj) and own(obj, d.qualname):
                yield d.qualname, obj
        elif d.kind == CLASS:
            cls = names.get(d.qualname)
            if not inspect.isclass(cls) or not own(cls, d.qualname):
                continue
            layers[d.qualname] = is_layer_class(cls)
            if layers[d.qualname]:
                yield d.qualname, cls
        elif d.kind == METHOD:
            owner, _, attr = d.qualname.partition(".")
            cls = names.get(owner)
            if not d.builds or owner not in layers or layers[owner]:
                continue  # a Layer's methods make the Layer, which is the block
            member = vars(cls).get(attr)
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if not inspect.isfunction(member):
                continue
            if attr == "__call__":
                yield owner, cls  # a callable class, checked as a layer is
            elif not (attr.startswith("__") and attr.endswith("__")):
                yield d.qualname, member


def _source_of(module: types.ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    if not path or not path.endswith((".py", ".pyw")):
        return None
    import tokenize

    try:
        with tokenize.open(path) as source:  # honours an encoding line
            return source.read()
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


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
_MENTIONS_BLOCKS = re.compile(rb"keras|shapeguard|@[ \t]*guard\b")

# The folders pytest does not recurse into by default (its `norecursedirs`),
# and __pycache__; a virtual environment is skipped too, as pytest does.
NORECURSEDIRS = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}", "__pycache__")


def may_define_blocks(path: str, guarded_only: bool = False) -> bool:
    """Whether a file can define blocks at all: its source says ``keras``
    (``import keras``, ``tf.keras``), ``shapeguard`` (an import) or ``@guard``;
    with ``guarded_only``, ``shapeguard`` or ``@guard``. Any other file is
    skipped unimported: pre-commit passes every staged Python file, and
    importing scripts and setup.py runs them ("safeguard" in a comment is no
    reason)."""
    pattern = _MENTIONS_GUARD if guarded_only else _MENTIONS_BLOCKS
    try:
        with open(path, "rb") as source:
            return pattern.search(source.read()) is not None
    except OSError:
        return True  # let the import report what is wrong with it


def python_files_under(directory: str, excluded: Callable[[str], bool] | None = None) -> list[str]:
    """The ``.py`` files under ``directory`` that ``pytest --shapeguard
    directory`` would collect, in sorted order: not ``conftest.py``, not in
    folders matching `NORECURSEDIRS` or holding a virtual environment, and
    only files that `may_define_blocks`, nor what ``excluded(path)`` rules
    out (the project's ``exclude``). Shown relative to ``directory`` as given."""
    found = []
    root = directory.rstrip("/" + os.sep) or directory
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders
            if not any(fnmatch.fnmatch(d, pattern) for pattern in NORECURSEDIRS)
            and not _is_virtualenv(os.path.join(folder, d))
            and not (excluded is not None and excluded(os.path.join(folder, d)))
        )
        for name in sorted(files):
            path = os.path.join(folder, name)
            if excluded is not None and excluded(path):
                continue
            if name.endswith(".py") and name != "conftest.py" and may_define_blocks(path):
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
        missing = missing_backend(exc)
        if missing is not None:
            raise TargetError(f"cannot import {shown}: {missing}") from None
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")) and load is None:
            raise TargetError(
                f"cannot import {shown}: no module named {exc.name!r}."
            ) from None
        raise TargetError(f"cannot import {shown}: {one_line(exc)}") from None
    except SyntaxError as exc:
        where = f"{_shown_path(exc.filename)}:{exc.lineno}" if exc.filename else shown
        raise TargetError(f"cannot import {shown}: {type(exc).__name__} at {where}: {exc.msg}") from None
    except (Exception, SystemExit) as exc:
        unknown = unknown_backend(exc)
        raise TargetError(f"cannot import {shown}: {unknown or one_line(exc)}") from None


def unknown_backend(exc: BaseException) -> str | None:
    """The sentence for a backend name Keras does not have (its own
    ``ValueError: Unable to import backend : NAME``), else None."""
    message = str(exc)
    if not (isinstance(exc, ValueError) and message.startswith("Unable to import backend")):
        return None
    name = message.partition(":")[2].strip()
    where = _where_configured()
    known = ", ".join(_BACKEND_PACKAGES)
    return f"Keras has no backend {name!r} ({where}); set it to one of {known}."


def _where_configured() -> str:
    """Where Keras read its backend from, as a sentence names it."""
    return "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "keras.json"


# The package each Keras backend imports (Keras's numpy backend computes with jax too).
_BACKEND_PACKAGES = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",),
                     "numpy": ("jax", "jaxlib"), "openvino": ("openvino",)}


def missing_backend(exc: ModuleNotFoundError) -> str | None:
    """The sentence for an import that failed because the backend Keras is
    configured for is not installed (docs/explanation/backends.md), else None."""
    from ._depends import keras_config

    top = (exc.name or "").split(".")[0]
    backend = keras_config().get("backend")
    if top not in _BACKEND_PACKAGES.get(backend, ()):
        return None
    where = _where_configured()
    extra = "jax" if backend == "numpy" else backend
    others = ", ".join(f"[{e}]" for e in ("tensorflow", "jax", "torch") if e != extra)
    return (f"Keras is configured for the {backend} backend ({where}), but {top} is not installed; install a "
            f"backend with pip install \"shapeguard-keras[{extra}]\" (or {others}), or "
            "set KERAS_BACKEND to one that is installed.")


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
    return suggest(name, [n for n in dir(owner) if not n.startswith("_")])


def _same_file(a: str | None, b: str) -> bool:
    return a is not None and os.path.realpath(a) == b


def _unused_name(base: str) -> str:
    n = 1
    while f"{base}_{n}" in sys.modules:
        n += 1
    return f"{base}_{n}"


def _article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
