"""The result cache: a target's reports kept until anything they depend on changes.

``shapeguard check`` splits its targets into *units*: each file of a folder,
a bare file or module, or one named block (``file.py:block``). A unit's key
is the SHA-256 of everything its reports can depend on, all read without
importing anything (`shapeguard._depends`): the unit as written, the file's
source and the sources of the user's code it imports (installed packages by
name and version), the options that shape the check (``--axis``,
``--input``, ``--input-shape``, ``--where``, ``--max-examples``,
``--exhaustive``, ``--seed``, ``--timeout``, ``--strict``), the versions of
Python, shapeguard (and the digest of its source), Keras, its backends and
the packages it runs on, and Keras's configuration (``keras.json``,
``KERAS_*``). The entry under the key holds the unit's reports (and the blocks
found but not checked) as plain records, and the files of the user's code
the unit's import loaded, whose digests are checked again before the entry
is used (a module imported by a name no ``import`` statement shows).

A run whose every unit is in the cache is answered without importing Keras, a
backend or Hypothesis (docs/explanation/speed.md); otherwise the units found are reused
and the rest are checked. Only reports that any run with the same key would
make are kept: not one that was interrupted, stopped early, hung, died,
forked, ran out of memory, was not repeatable or met an internal error.

Entries are files named by their key, written atomically (a temporary file,
then ``os.replace``), so concurrent runs (xdist workers, parallel pre-commit
hooks) at worst write the same entry twice; a file that cannot be read, or
holds anything but shapeguard's own records, is a miss and is replaced. The
folder is bounded (`MAX_ENTRIES`, `MAX_BYTES`): the least recently used
entries go first.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import _cachedir, _depends

SCHEMA = 1  # raised whenever what an entry holds changes
MAX_ENTRIES = 4_096
MAX_BYTES = 256 * 2**20
FOLDER = _cachedir.RESULTS

# Causes and error types of a report that a run with the same key need not make again.
_NOT_REPEATABLE_ERRORS = frozenset({"Timeout", "Died", "Forked", "InternalError"})
_NOT_REPEATABLE_CAUSES = frozenset({"out of memory", "not repeatable"})


@dataclass
class Unit:
    """One cacheable part of a run: ``text`` (what ``collect`` is given),
    ``given`` (the target as the user wrote it), ``path`` (the file it reads)
    and its ``key`` (None: not cacheable)."""

    text: str
    given: str
    path: str | None
    key: str | None = None
    entry: "Entry | None" = None  # set by the command line when the cache has one


@dataclass
class Entry:
    """What a unit's check made, in order: ``items`` are ``("report",
    Report)`` or ``("not_checked", NotChecked)``; ``loaded`` maps each user
    file its import loaded to its digest."""

    items: list
    loaded: dict = field(default_factory=dict)


def units(texts: list[str], options: dict, files_under, split_target, is_file_path, module_name_for) -> list[Unit]:
    """The units of ``texts``, each with its key (or None when it cannot
    have one: a module name that resolves to no file, or a closure too big to
    read). The target helpers come from `shapeguard._collect` (passed in so
    that this module stays below it)."""
    environment = _environment()
    found: list[Unit] = []
    for given in texts:
        if os.path.isdir(given) and ":" not in given.rstrip(os.sep + (os.altsep or "")):
            pieces = [(path, path) for path in files_under(given)]
        else:
            try:
                module_part, _ = split_target(given)
            except Exception:
                module_part = None
            path = None
            if module_part is not None:
                path = module_part if is_file_path(module_part) else _module_file(module_part)
            pieces = [(given, path)]
        for text, path in pieces:
            unit = Unit(text, given, os.path.abspath(path) if path and os.path.isfile(path) else None)
            if unit.path is not None:
                unit.key = _key(unit, options, environment, module_name_for)
            found.append(unit)
    return found


def keyed(text: str, path: str, options: dict, module_name_for) -> Unit:
    """The unit of another door (the pytest plugin): ``text`` says what it
    holds (a file's listing of blocks, one block's check), ``path`` the file."""
    unit = Unit(text, text, os.path.abspath(path))
    if _cachedir.enabled():
        unit.key = _key(unit, options, _environment(), module_name_for)
    return unit


@functools.lru_cache(maxsize=1)
def _environment() -> dict:
    return _depends.environment()


def _module_file(module: str) -> str | None:
    """The file of a dotted module name, found without importing it."""
    if not all(part.isidentifier() for part in module.split(".")):
        return None
    origins = _depends._resolve(module, [os.getcwd(), *sys.path], "")
    return origins[-1] if origins and origins[-1] is not None else None


def _key(unit: Unit, options: dict, environment: dict, module_name_for) -> str | None:
    _, root = module_name_for(unit.path)
    search_path = list(dict.fromkeys([os.getcwd(), root, *[p or os.getcwd() for p in sys.path]]))
    closure = _depends.source_closure(unit.path, search_path, names=tuple(options.get("dotted_names", ())))
    if closure is None:
        return None
    material = {"schema": SCHEMA, "text": unit.text, "cwd": os.getcwd(), "path": unit.path,
                "options": {k: v for k, v in options.items() if k != "dotted_names"},
                "closure": closure.as_key(), "environment": environment}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=repr).encode()).hexdigest()


def _path(key: str) -> str:
    return _cachedir.directory(FOLDER, key[:2], key + ".pickle")


def load(unit: Unit) -> Entry | None:
    """The unit's entry, or None (no key, no entry, or one whose loaded
    files changed or that cannot be read)."""
    if unit.key is None or not _cachedir.enabled():
        return None
    path = _path(unit.key)
    try:
        with open(path, "rb") as file:
            data = _RecordsOnly(io.BytesIO(file.read())).load()
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            return None
        entry = Entry(data["items"], data["loaded"])
    except Exception:  # a partial, foreign or corrupt file: a miss, replaced by the next store
        return None
    if any(_depends.file_digest(file) != digest for file, digest in entry.loaded.items()):
        return None
    try:
        os.utime(path)  # recently used: kept longest when the folder is pruned
    except OSError:
        pass
    return entry


def storable(items: list) -> bool:
    """Whether every report of ``items`` is one a run with the same key would
    make again (see the module doc)."""
    for kind, record in items:
        if kind != "report":
            continue
        if record.interrupted or record.stopped:
            return False
        if any(e.type in _NOT_REPEATABLE_ERRORS or e.cause in _NOT_REPEATABLE_CAUSES for e in record.errors):
            return False
        if any(f.cause in _NOT_REPEATABLE_CAUSES for f in record.failures):
            return False
    return True


def store(unit: Unit, items: list, loaded: dict) -> None:
    """Keep the unit's items (``loaded``: user files its import loaded, to
    digests), atomically; nothing when the unit has no key, the items are not
    `storable` or cannot be written as plain records, or the folder cannot
    be written (a cache is never a reason for a check to fail)."""
    if unit.key is None or not _cachedir.enabled() or not storable(items):
        return
    kept = [(kind, _without_outcomes(record)) for kind, record in items]
    try:
        data = pickle.dumps({"schema": SCHEMA, "items": kept, "loaded": dict(loaded)}, protocol=4)
        _RecordsOnly(io.BytesIO(data)).load()  # only what `load` will accept
    except Exception:  # a value of the user's own type in an example: not kept
        return
    path = _path(unit.key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        prune()
    except OSError:
        return


def as_cached(item: tuple) -> tuple:
    """An entry's item as the run reports it: a report says it came from the cache."""
    import dataclasses

    kind, record = item
    return (kind, dataclasses.replace(record, cached=True)) if kind == "report" else item


def loaded_files(modules) -> dict:
    """``{file: digest}`` of the user's own modules among ``modules`` (names
    in ``sys.modules``): not the standard library's, an installed
    distribution's or shapeguard's."""
    locations = _depends._locations()
    own = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")
    files = {}
    for name in modules:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not file or not file.endswith(".py") or os.path.abspath(file).startswith(own):
            continue
        if not (locations.is_installed(file) or locations.is_standard(file)):
            files[os.path.abspath(file)] = _depends.file_digest(file)
    return files


def _without_outcomes(record):
    """A report without its per-probe outcomes (no renderer reads them)."""
    import dataclasses

    if hasattr(record, "outcomes") and record.outcomes:
        record = dataclasses.replace(record, outcomes=[])
    return record


def prune(max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
    """Delete the least recently used entries beyond the bounds."""
    folder = _cachedir.directory(FOLDER)
    entries = []
    for sub in _listdir(folder):
        for name in _listdir(os.path.join(folder, sub)):
            path = os.path.join(folder, sub, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            if name.startswith(".tmp-") and stat.st_mtime < time.time() - 3600:
                _unlink(path)  # left by a run that was killed while writing
            elif name.endswith(".pickle"):
                entries.append((stat.st_mtime, stat.st_size, path))
    entries.sort(reverse=True)
    total = 0
    for i, (_, size, path) in enumerate(entries):
        total += size
        if i >= max_entries or total > max_bytes:
            _unlink(path)


def clear() -> tuple[int, list[str], str]:
    """Delete the result entries and the memo (`_cachedir.RESULTS`,
    `_cachedir.MEMO`), and the cache folder itself when nothing else is in
    it: a folder ``SHAPEGUARD_CACHE_DIR`` names may hold the user's own
    files, which are never touched. Returns how many files were removed,
    those that could not be (with why), and the folder."""
    folder = _cachedir.directory()
    removed, failed = 0, []
    for name in (_cachedir.RESULTS, _cachedir.MEMO):
        for root, _, files in os.walk(os.path.join(folder, name), topdown=False):
            for file in files:
                path = os.path.join(root, file)
                try:
                    os.unlink(path)
                    removed += 1
                except OSError as exc:
                    failed.append(f"{path}: {exc.strerror or exc}")
            try:
                os.rmdir(root)
            except OSError:
                pass  # not empty: a file above could not be removed
    try:
        os.rmdir(folder)  # only when empty
    except OSError:
        pass
    return removed, failed, folder


def _listdir(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _RecordsOnly(pickle.Unpickler):
    """Reads back only what `store` writes: shapeguard's records and
    Python's plain containers; anything else in a file is refused (a cache
    entry never runs code)."""

    _ALLOWED_MODULES = ("shapeguard.report", "shapeguard._outcome", "shapeguard._probe.provenance")
    _ALLOWED_BUILTINS = frozenset({"set", "frozenset", "tuple", "list", "dict", "slice", "complex", "range",
                                   "bytearray"})

    def find_class(self, module: str, name: str):
        if module == "builtins" and name in self._ALLOWED_BUILTINS:
            return super().find_class(module, name)
        if module.startswith(self._ALLOWED_MODULES) and not name.startswith("_"):
            return super().find_class(module, name)
        if module == "collections" and name == "OrderedDict":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a shapeguard record")
