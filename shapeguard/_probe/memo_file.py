"""The stand-ins' memo kept between processes, in the cache folder.

`standins` remembers what Keras answered for a layer call (output shape and
dtype, the layer's config, the calls it made) and the constructor arguments
Keras accepted. Kept on disk, a new process (the next check, another xdist
worker, a pre-commit hook) starts with the answers earlier ones got: a new
block's first pass asks Keras only about the layers no block taught it.

One file per environment (`shapeguard._depends.environment`: Python, Keras,
its backend and their versions, Keras's configuration, shapeguard's own
source), so an answer is only ever read back where Keras would give it
again. The file is gzipped JSON whose values are tagged plain data (a tuple, a list,
a dict, a class named from a fixed table: Python's plain types, `KerasTensor`
and the layer classes of `standins.KNOWN`); an entry holding anything else
(a function passed as an argument) is not kept, and a file that cannot be
read is ignored and replaced. Answers for a layer class whose methods are not
all Keras's own (patched by the user's code) are neither kept nor read.

`load` merges the file into the tables when it changed since this process
read it; `save` merges what this process learned into what is on disk and
writes it atomically. A check ends with `save_soon`, which saves at once
unless this process saved so recently that saving again would take more than
a sixth of its time (a folder of blocks is one check per block: rewriting a
full file after each made a 60-block check four times slower); what is left
is saved at the next check's end or when the process exits. `save` writes
through a temporary file and ``os.replace``. Two processes
saving at once may lose each other's newest answers, never corrupt the file;
an answer lost is asked of Keras again. Both do nothing when the cache is
off (`shapeguard._cachedir.enabled`), and never raise.
"""

from __future__ import annotations

import atexit
import base64
import functools
import gzip
import hashlib
import json
import os
import tempfile
import time

from .. import _cachedir, _depends
from . import standins

FOLDER = _cachedir.MEMO
SCHEMA = 1
MAX_KEPT = 4096  # answers kept on disk in each table: the newest (a few MiB before compression)
_seen: dict = {"path": None, "stat": None, "generation": None}  # the file as this process last read it
SAVE_EVERY = 5.0  # times the last save's duration, at least, between two saves of one process
_saving: dict = {"last": None, "took": 0.0, "at_exit": False}  # this process's saves (`save_soon`)
_last_read: dict = {"path": None, "stat": None, "tables": {}}  # the file's raw tables, as last read or written


class _Unportable(Exception):
    """A value the file does not hold."""


def load() -> None:
    """Merge the file's answers into the stand-ins' tables (never replacing
    one this process has), when the file changed since it was read."""
    if not (_cachedir.enabled() and standins.available()):
        return
    try:
        path = _path()
        mark = _mark(path)
    except (OSError, ValueError):
        return
    if _seen["path"] == path and _seen["stat"] == mark and _seen["generation"] == standins.generation[0]:
        return
    _seen.update(path=path, stat=mark, generation=standins.generation[0])
    raw = _read(path, mark)
    kept: dict = {}
    for name, entries in raw.items():
        table = standins.tables()[name]
        for key, value in _decoded(entries, kept):
            if len(table) >= standins._MEMO_SIZE:
                break
            table.setdefault(key, value)


def _mark(path: str) -> tuple:
    """What tells one version of the file from another (``OSError`` when
    there is none)."""
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def save_soon() -> None:
    """`save` now, or, when the last save of this process was less than
    `SAVE_EVERY` times its own duration ago, at the end of a later check or
    at the process's exit (whichever comes first)."""
    now = time.monotonic()
    last = _saving["last"]
    if last is None or now - last >= SAVE_EVERY * _saving["took"]:
        save()
        _saving["last"] = end = time.monotonic()
        _saving["took"] = end - now
    elif not _saving["at_exit"]:
        _saving["at_exit"] = True
        atexit.register(save)


def save() -> None:
    """Add what this process learned since it last saved to the file."""
    fresh = list(standins.fresh)
    standins.fresh.clear()
    if not fresh or not (_cachedir.enabled() and standins.available()):
        return
    try:
        path = _path()
    except (OSError, ValueError):
        return
    try:
        before = _mark(path)
    except OSError:
        before = None
    merged = _read(path, before)  # what another process saved since is kept too
    names = {id(table): name for name, table in standins.tables().items()}
    kept: dict = {}
    for table, key in fresh:
        value = table.get(key)
        if value is None or not _kept_class(key, kept):
            continue
        try:
            entry = [_encode(key), _encode(value)]
        except _Unportable:
            continue
        entries = merged.setdefault(names[id(table)], {})
        text = _text(entry[0])
        entries.pop(text, None)  # the newest last, so that the oldest go first when there are too many
        entries[text] = entry
    for name, entries in merged.items():
        while len(entries) > MAX_KEPT:
            del entries[next(iter(entries))]
    data = {"schema": SCHEMA, **{name: list(entries.values()) for name, entries in merged.items()}}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            text = json.dumps(data, separators=(",", ":"))  # one call: json.dump's chunks are pure Python
            with os.fdopen(handle, "wb") as raw, gzip.open(raw, "wt", compresslevel=1) as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        after = _mark(path)
    except OSError:
        return
    _last_read.update(path=path, stat=after, tables=merged)
    if _seen["path"] == path and _seen["generation"] == standins.generation[0]:
        # Nothing new to read when the file was as this process last read it: what it holds now
        # is that and this process's own answers. Otherwise others' answers came in: read again.
        _seen["stat"] = after if _seen["stat"] == before else None


def _path() -> str:
    return _cachedir.directory(FOLDER, _environment_digest() + ".json.gz")


@functools.lru_cache(maxsize=1)
def _environment_digest() -> str:
    return hashlib.sha256(json.dumps(_depends.environment(), sort_keys=True, default=repr).encode()).hexdigest()[:32]


def _read(path: str, mark: tuple | None) -> dict:
    """The file's tables as ``{name: {key as JSON text: [encoded key,
    encoded value]}}``, oldest first; empty when the file is missing,
    foreign or corrupt. The version this process last read or wrote
    (``mark``) is not read again."""
    if mark is None:
        return {}
    if _last_read["path"] == path and _last_read["stat"] == mark:
        return {name: dict(entries) for name, entries in _last_read["tables"].items()}
    try:
        with gzip.open(path, "rt") as file:
            data = json.loads(file.read())
    except (OSError, ValueError, EOFError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return {}
    tables = {}
    for name in ("memo", "initialised", "configs"):
        entries = data.get(name)
        if isinstance(entries, list):
            tables[name] = {_text(e[0]): e for e in entries if isinstance(e, list) and len(e) == 2}
    _last_read.update(path=path, stat=mark, tables=tables)
    return {name: dict(entries) for name, entries in tables.items()}


def _text(encoded) -> str:
    return json.dumps(encoded, separators=(",", ":"))


def _decoded(entries: dict, kept: dict):
    """The decoded ``(key, value)`` pairs of a table `_read` returned, but
    those that do not decode or whose class is not `_kept_class`."""
    for key, value in entries.values():
        try:
            key, value = _decode(key), _decode(value)
        except (_Unportable, ValueError, TypeError, KeyError, IndexError):
            continue
        if _kept_class(key, kept):
            yield key, value


def _kept_class(key, kept: dict) -> bool:
    """Whether an entry's layer class (the first item of its key, or of its
    key's first item) is one whose answers may be kept; ``kept`` holds the
    classes already judged in this load or save."""
    cls = key[0]
    if isinstance(cls, tuple):
        cls = cls[0]
    if not isinstance(cls, type):
        return False
    if cls not in kept:
        kept[cls] = _pristine(cls)
    return kept[cls]


def _pristine(cls: type) -> bool:
    """Every function of the class and of its Keras bases is Keras's own."""
    for base in cls.__mro__:
        if not base.__module__.startswith("keras."):
            continue
        for value in vars(base).values():
            function = getattr(value, "__func__", value)
            module = getattr(function, "__module__", None)
            if callable(function) and isinstance(module, str) and not module.startswith(("keras.", "shapeguard.")):
                return False
    return True


@functools.lru_cache(maxsize=1)
def _classes() -> dict:
    """The classes a file may name: Python's plain types, `KerasTensor` and
    the layer classes stand-ins are made for."""
    import keras
    from keras.src.backend.common.keras_tensor import KerasTensor

    named = {cls.__name__: cls for cls in (bool, int, float, str, bytes, type(None), tuple, list, dict)}
    named["KerasTensor"] = KerasTensor
    for name in standins.KNOWN:
        cls = getattr(keras.layers, name, None)
        if isinstance(cls, type):
            named["layer:" + name] = cls
    return named


def _name_of(cls: type) -> str:
    for name, known in _classes().items():
        if known is cls:
            return name
    raise _Unportable(cls)


_PLAIN = (bool, int, float, str, type(None))


def _encode(value):
    """``value`` as JSON data: plain scalars as they are, containers and
    classes tagged (``{"t": [...]}``, ``{"l": [...]}``, ``{"d": [[k, v]]}``,
    ``{"b": base64}``, ``{"c": name}``); raises _Unportable otherwise."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is tuple:
        return {"t": [_encode(v) for v in value]}
    if kind is list:
        return {"l": [_encode(v) for v in value]}
    if kind is dict:
        return {"d": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if kind is bytes:
        return {"b": base64.b64encode(value).decode()}
    if isinstance(value, type):
        return {"c": _name_of(value)}
    raise _Unportable(kind)


def _decode(data):
    """The value `_encode` made ``data`` from."""
    if type(data) in _PLAIN:
        return data
    if type(data) is not dict or len(data) != 1:
        raise _Unportable(data)
    (tag, inner), = data.items()
    if tag == "t":
        return tuple(_decode(v) for v in inner)
    if tag == "l":
        return [_decode(v) for v in inner]
    if tag == "d":
        return {_decode(k): _decode(v) for k, v in inner}
    if tag == "b":
        return base64.b64decode(inner)
    if tag == "c":
        return _classes()[inner]
    raise _Unportable(data)
