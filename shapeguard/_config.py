"""The project's configuration: ``[tool.shapeguard]`` in ``pyproject.toml``.

Found as ruff and pytest find theirs: the nearest ``pyproject.toml`` from the
current folder up that has a ``[tool.shapeguard]`` table. Read by the command
line and the pytest plugin; a flag given overrides its key. Keys (`KEYS`):

* ``cache`` (bool, default true): keep reports between runs (`shapeguard._cache`);
  ``false`` is ``--no-cache`` for every run of the project.
* ``max_examples``, ``seed``, ``timeout``, ``strict``: the project's defaults
  for the `CheckSettings` fields of those names (under a decorator's own
  settings and the flags: `CheckSettings.under`).
* ``exclude`` (list of glob patterns): files and folders a folder check skips
  (`ProjectConfig.excludes`).
* ``format`` (``text``, ``json``, ``github`` or ``sarif``): the command line's
  ``--format`` when it is not given.

An unknown key (with the closest known name) or a value of the wrong type is
one sentence naming the file and the key, a usage error, before anything is
checked.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from dataclasses import dataclass
from typing import Any, Callable

from ._options import FORMATS, MAX_TIMEOUT
from .errors import ShapeguardError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# key -> (what its value must be, in the sentence of a wrong one; the test of a right one)
KEYS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "cache": ("true or false", lambda v: isinstance(v, bool)),
    "exclude": ("a list of glob patterns (strings)",
                lambda v: isinstance(v, list) and all(isinstance(p, str) and p.strip("/") for p in v)),
    "format": ("one of " + ", ".join(f'"{name}"' for name in FORMATS), lambda v: v in FORMATS),
    "max_examples": ("a positive integer", lambda v: _is_int(v) and v >= 1),
    "seed": ("an integer", _is_int),
    "strict": ("true or false", lambda v: isinstance(v, bool)),
    "timeout": (f"a positive number of seconds up to {MAX_TIMEOUT:,} (a week)",
                lambda v: (_is_int(v) or isinstance(v, float)) and 0 < v <= MAX_TIMEOUT),
}
SETTINGS = ("max_examples", "seed", "timeout", "strict")  # the keys that are CheckSettings fields


class ConfigError(ShapeguardError):
    """A ``[tool.shapeguard]`` table shapeguard cannot read."""


@dataclass(frozen=True)
class ProjectConfig:
    path: str | None = None  # the pyproject.toml read, None when there is none
    table: tuple = ()  # (key, value) pairs, sorted; lists as tuples (hashable, a cache key)

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.table).get(key, default)

    def settings(self) -> dict[str, Any]:
        """The `CheckSettings` fields the table gives (``{"max_examples": 20}``)."""
        return {key: value for key, value in self.table if key in SETTINGS}

    def excludes(self, path: str) -> bool:
        """Whether ``exclude`` rules out ``path`` (a file or folder): a pattern
        without ``/`` (``legacy``, ``*_old.py``) matches the name of the path
        or of any folder it is in, one with ``/`` (``examples/legacy``,
        ``src/*/vendored``) the path from the ``pyproject.toml``'s folder, or
        any folder on it. Matching is `fnmatch`'s (``*`` also crosses ``/``)."""
        patterns = self.get("exclude") or ()
        if not patterns:
            return False
        full = os.path.abspath(path)
        root = os.path.dirname(self.path) if self.path else None
        relative = os.path.relpath(full, root) if root else None
        if relative is None or relative == os.curdir or relative.startswith(os.pardir):
            parts = [os.path.basename(full)]  # outside the project: its name only
        else:
            parts = relative.split(os.sep)
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        for pattern in patterns:
            pattern = pattern.strip("/")
            if "/" in pattern:
                if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes) and relative is not None:
                    return True
            elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
        return False


def project_config(start: str | None = None) -> ProjectConfig:
    """The nearest ``[tool.shapeguard]`` from ``start`` (the current folder)
    up; raises `ConfigError` for one that cannot be read."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        path = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(path):
            table = _read(path)
            if table is not None:
                items = ((k, tuple(v) if isinstance(v, list) else v) for k, v in table.items())
                return ProjectConfig(path, tuple(sorted(items)))
        parent = os.path.dirname(folder)
        if parent == folder:
            return ProjectConfig()
        folder = parent


def _read(path: str) -> dict | None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {shown}: {exc}.") from None
    table = document.get("tool", {}).get("shapeguard") if isinstance(document.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{shown}: tool.shapeguard must be a table ([tool.shapeguard]).")
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the keys are {', '.join(KEYS)}."
            raise ConfigError(f"{shown}: [tool.shapeguard] has no key {key!r}; {hint}")
        expected, right = KEYS[key]
        if not right(value):
            raise ConfigError(f"{shown}: [tool.shapeguard] {key} must be {expected}, not {_toml(value)}.")
    return table


def _toml(value: Any) -> str:
    """A value as it is written in the file: ``"no"``, ``true``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)
