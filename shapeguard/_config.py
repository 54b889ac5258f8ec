"""The project's configuration: ``[tool.shapeguard]`` in ``pyproject.toml``.

Found as ruff and pytest find theirs: the nearest ``pyproject.toml`` from the
current folder up that has a ``[tool.shapeguard]`` table. Keys (README,
"Configuration"):

* ``cache`` (bool, default true): keep reports between runs (`shapeguard._cache`);
  ``false`` is ``--no-cache`` for every run of the project.

An unknown key or a value of the wrong type is a usage error naming the file
and the key, before anything is checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ShapeguardError

KEYS = {"cache": bool}  # key -> type of its value


class ConfigError(ShapeguardError):
    """A ``[tool.shapeguard]`` table shapeguard cannot read."""


@dataclass(frozen=True)
class ProjectConfig:
    path: str | None = None  # the pyproject.toml read, None when there is none
    table: tuple = ()  # (key, value) pairs, sorted

    def get(self, key: str, default=None):
        return dict(self.table).get(key, default)


def project_config(start: str | None = None) -> ProjectConfig:
    """The nearest ``[tool.shapeguard]`` from ``start`` (the current folder) up."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        path = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(path):
            table = _read(path)
            if table is not None:
                return ProjectConfig(path, tuple(sorted(table.items())))
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
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"{shown}: [tool.shapeguard] has no key {key!r} (known: {known}).")
        if not isinstance(value, KEYS[key]):
            raise ConfigError(f"{shown}: [tool.shapeguard] {key} must be true or false, not {value!r}.")
    return table
