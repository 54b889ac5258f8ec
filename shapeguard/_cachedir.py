"""Where shapeguard keeps what it learned between runs, and whether it may.

One folder per user (``platformdirs.user_cache_dir("shapeguard")``, e.g.
``~/.cache/shapeguard`` on Linux), or ``SHAPEGUARD_CACHE_DIR``. It holds the
result cache (`shapeguard._cache`) and the stand-ins' memo of Keras's answers
(`shapeguard._probe.standins`), each in a folder of its own. Everything in it
can be deleted at any time (``shapeguard cache clear``): it is only ever a
copy of what a probe would find again.

The cache is off when ``SHAPEGUARD_NO_CACHE`` is set to anything but ``""``
or ``"0"``: ``--no-cache`` and ``[tool.shapeguard] cache = false`` set it for
the run (and the child process that checks), so that every part of
shapeguard asks this one place.
"""

from __future__ import annotations

import os

ENV_DIR = "SHAPEGUARD_CACHE_DIR"
ENV_OFF = "SHAPEGUARD_NO_CACHE"
RESULTS, MEMO = "results", "memo"  # the folders shapeguard writes in it, and the only ones it deletes


def directory(*parts: str) -> str:
    """The cache folder (or a path inside it); not created here."""
    root = os.environ.get(ENV_DIR)
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("shapeguard", appauthor=False)
    return os.path.join(os.path.abspath(root), *parts)


def enabled() -> bool:
    """Whether results and memo may be read from and written to the cache."""
    return os.environ.get(ENV_OFF, "") in ("", "0")


def turn_off() -> None:
    """Off for this process and the processes it starts (``--no-cache``)."""
    os.environ[ENV_OFF] = "1"
