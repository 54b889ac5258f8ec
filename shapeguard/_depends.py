"""What a target's verdict depends on, read without importing it (or Keras).

The result cache (`shapeguard._cache`) may answer for a target only when
nothing its report could depend on has changed, and it must know that before
anything is imported, since the point is not to import Keras at all. So:

* `source_closure`: the target's file and every file of the user's own code
  it imports, found from the import statements of each file (Python's `ast`,
  everywhere in the file: a function's own imports too) and resolved as the
  import system would resolve them (`importlib.machinery.PathFinder`, which
  looks a module up without running it or its package), with the SHA-256 of
  each file's bytes; an import that resolves into an installed distribution
  gives that distribution's name and version instead (its files are not
  read), the standard library is covered by the Python version, and a name
  that resolves nowhere is kept as missing (a module that appears later
  changes the key);
* `environment`: the versions of Python, shapeguard, Keras, its backends and
  the packages a check runs on (`importlib.metadata`, from the installed
  metadata), and Keras's configuration as Keras itself reads it at import:
  ``KERAS_BACKEND`` and the other ``KERAS_*`` variables, and ``keras.json``
  (``$KERAS_HOME``, else ``~/.keras``, else ``/tmp/.keras``).

What the block reads at run time beyond its source (a data file, an
environment variable of its own) is not seen: ``--no-cache`` checks again.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import json
import os
import platform
import sys
import sysconfig
from dataclasses import dataclass, field

MAX_FILES = 2_000  # a closure larger than this is not cached (None)

# The distributions whose versions every verdict depends on: the engine and the
# search (shapeguard, hypothesis), Keras and what it computes shapes with, and
# each backend (one not installed is written as None).
CORE_DISTRIBUTIONS = ("shapeguard-keras", "keras", "numpy", "hypothesis", "wrapt", "ml-dtypes", "optree", "h5py",
                      "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch")

# keras.json as Keras writes it when there is none (keras/src/backend/config.py).
_KERAS_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow",
                   "image_data_format": "channels_last"}


@dataclass
class Closure:
    """The user's files a target's file imports, itself first: ``files``
    maps each absolute path to the SHA-256 of its bytes; ``distributions``
    the installed distributions imported, to their versions; ``missing`` the
    module names that resolve nowhere."""

    files: dict = field(default_factory=dict)
    distributions: dict = field(default_factory=dict)
    missing: set = field(default_factory=set)

    def as_key(self) -> dict:
        return {"files": sorted(self.files.items()), "distributions": sorted(self.distributions.items()),
                "missing": sorted(self.missing)}


def file_digest(path: str) -> str | None:
    """SHA-256 of the file's bytes; None when it cannot be read."""
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
                else hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return None


def source_closure(path: str | None, search_path: list[str], names: tuple = ()) -> Closure | None:
    """The `Closure` of the file at ``path`` (None: of nothing but ``names``)
    and of the modules ``names`` (dotted names, as ``import a.b`` names
    them), imports resolved on ``search_path`` (the folders ``sys.path`` will
    hold when it is imported, in order), or None when it cannot be known: a
    file that cannot be read or parsed, or more than `MAX_FILES` of the
    user's files."""
    closure = Closure()
    locations = _locations()
    pending: list[str] = []

    def follow(name: str, importer: str | None) -> None:
        if name.split(".")[0] == "shapeguard":
            return  # in `environment`: its version and its source's digest
        relative = name.startswith(".")
        where = [os.path.dirname(importer), *search_path] if relative and importer else search_path
        for origin in _resolve(name, where, importer or ""):
            if origin is None:
                closure.missing.add(name.lstrip("."))
            elif locations.is_installed(origin):
                dist = locations.distribution(name.lstrip(".").split(".")[0], origin)
                closure.distributions[dist[0]] = dist[1]
            elif not locations.is_standard(origin) and origin.endswith(".py"):
                pending.append(os.path.abspath(origin))

    for name in names:
        parts = name.split(".")
        for i in range(len(parts)):
            follow(".".join(parts[: i + 1]), None)
    if path is not None:
        pending.append(os.path.abspath(path))
    while pending:
        current = pending.pop()
        if current in closure.files:
            continue
        if len(closure.files) >= MAX_FILES:
            return None
        digest = file_digest(current)
        tree = _parse(current)
        if digest is None or tree is None:
            return None
        closure.files[current] = digest
        for name in _imported_names(tree, current):
            follow(name, current)
    return closure


def _parse(path: str):
    try:
        with open(path, "rb") as file:
            return ast.parse(file.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None


def _imported_names(tree: ast.AST, path: str) -> list[str]:
    """Every module an import statement of ``tree`` may load, absolute, or
    relative to ``path``'s folder with leading dots: ``import a.b`` gives
    ``a`` and ``a.b``; ``from a import b`` gives ``a`` and ``a.b`` (b may be a
    submodule); ``from . import c`` gives ``.`` and ``.c``."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                names += [".".join(parts[: i + 1]) for i in range(len(parts))]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if node.level == 0 and node.module:
                parts = node.module.split(".")
                names += [".".join(parts[: i + 1]) for i in range(len(parts))]
            else:
                names.append(base)
            joiner = "" if base.endswith(".") else "."
            names += [base + joiner + alias.name for alias in node.names if alias.name != "*"]
    return names


def _resolve(name: str, search_path: list[str], importer: str) -> list[str | None]:
    """The files importing ``name`` runs (its packages' ``__init__.py``
    files and the module's own), or ``[None]`` when it resolves nowhere;
    ``[]`` for a module with no file of its own (a built-in or namespace
    package). Nothing is imported."""
    if name.startswith("."):
        level = len(name) - len(name.lstrip("."))
        folder = os.path.dirname(importer)
        for _ in range(level - 1):
            folder = os.path.dirname(folder)
        rest = name.lstrip(".")
        if not rest:
            init = os.path.join(folder, "__init__.py")
            return [init] if os.path.isfile(init) else []
        locations, parts = [folder], rest.split(".")
    else:
        if name in sys.builtin_module_names:
            return []
        locations, parts = list(search_path), name.split(".")
    origins: list[str | None] = []
    for i in range(len(parts)):
        fullname = ".".join(parts[: i + 1])  # PathFinder looks for its last part in ``locations``
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, locations)
            if spec is None and i == 0 and not name.startswith("."):
                spec = _other_finders(fullname)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            # ``from a import b`` where b is an attribute, not a module: only a.
            return origins or [None]
        if spec.origin and spec.has_location:
            origins.append(spec.origin)
        locations = list(spec.submodule_search_locations or [])
        if not locations and i < len(parts) - 1:
            return origins
    return origins


def _other_finders(name: str):
    """A top-level module that no folder of the search path holds, as the
    other finders of ``sys.meta_path`` find it (an editable install's finder);
    a top-level lookup runs no module's code."""
    for finder in sys.meta_path:
        if finder is importlib.machinery.PathFinder or not hasattr(finder, "find_spec"):
            continue
        try:
            spec = finder.find_spec(name, None)
        except Exception:  # a third-party finder's own failure: not found by it
            continue
        if spec is not None:
            return spec
    return None


@functools.lru_cache(maxsize=1)
def _locations() -> "_Locations":
    return _Locations()


class _Locations:
    """Which files belong to the standard library or to installed
    distributions, and which distribution (looked up once, lazily)."""

    def __init__(self) -> None:
        paths = sysconfig.get_paths()
        self._standard = tuple(os.path.join(os.path.realpath(paths[k]), "") for k in ("stdlib", "platstdlib")
                               if paths.get(k))
        installed = {os.path.realpath(paths[k]) for k in ("purelib", "platlib") if paths.get(k)}
        installed.update(os.path.realpath(p) for p in sys.path if os.path.basename(p) in ("site-packages",
                                                                                      "dist-packages"))
        self._installed = tuple(os.path.join(p, "") for p in installed)
        self._owners: dict | None = None

    def is_standard(self, origin: str) -> bool:
        real = os.path.realpath(origin)
        return real.startswith(self._standard) and not real.startswith(self._installed)

    def is_installed(self, origin: str) -> bool:
        return os.path.realpath(origin).startswith(self._installed)

    def distribution(self, top_level: str, origin: str) -> tuple[str, str]:
        """(name, version) of the installed distribution that provides the
        top-level module ``top_level``; for one no metadata names, the
        module's file digest stands for a version."""
        import importlib.metadata as metadata

        if self._owners is None:
            self._owners = metadata.packages_distributions()
        names = self._owners.get(top_level) or [top_level]
        for dist_name in sorted(names):
            try:
                return dist_name, metadata.version(dist_name)
            except metadata.PackageNotFoundError:
                continue
        return f"file:{origin}", file_digest(origin) or ""


def environment() -> dict:
    """The versions and the Keras configuration every verdict depends on
    (see the module doc), as plain data."""
    import importlib.metadata as metadata

    versions = {}
    for name in CORE_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version,
        "implementation": sys.implementation.cache_tag,
        "platform": platform.machine(),
        "versions": versions,
        "keras_config": keras_config(),
        "keras_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("KERAS_")},
        "shapeguard_source": _own_source_digest(),
    }


def _own_source_digest() -> str:
    """SHA-256 over shapeguard's own files: a checkout whose code changed
    under the same version number never reads a verdict the old code made."""
    root = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0" + (file_digest(path) or "").encode())
    return digest.hexdigest()


def keras_config() -> dict:
    """``keras.json`` as Keras reads it at import, with its defaults for
    what the file does not say (and when there is none: Keras writes one
    with the defaults at its first import), and the backend it will run on."""
    if "KERAS_HOME" in os.environ:
        folder = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        folder = os.path.join(base, ".keras")
    config = dict(_KERAS_DEFAULTS)
    try:
        with open(os.path.expanduser(os.path.join(folder, "keras.json"))) as file:
            read = json.load(file)
        if isinstance(read, dict):
            config.update(read)
    except (OSError, ValueError):
        pass
    config["backend"] = os.environ.get("KERAS_BACKEND", config.get("backend"))
    return config
