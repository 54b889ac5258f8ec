"""The command line's door to `check_fit`: ``shapeguard check build.py:build_model
--fit x=60000,28,28 --fit y=60000 [--loss NAME] [--predict]``.

Kept apart from ``cli.py``: a fit check names one model builder and runs in
this process (it imports the builder and builds one model; there is no
space to search, so no supervising child).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._fitdata import shape_sentence_end
from .errors import ShapeguardError

HELP = {
    "fit": "check the model TARGET builds against its data instead of searching a space: x=SHAPE or "
           "y=SHAPE (the sample count first, e.g. x=60000,28,28), or a .npy file (its header only); "
           "x.NAME=... for the input named NAME; repeatable",
    "loss": "the loss to check the labels with (default: the model's compiled loss)",
    "predict": "check model.predict(x) instead of model.fit(x, y)",
}


def add_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("--fit", action="append", default=[], metavar="x=SHAPE", help=HELP["fit"])
    check.add_argument("--loss", metavar="NAME", help=HELP["loss"])
    check.add_argument("--predict", action="store_true", help=HELP["predict"])


def parse_fit(items: list[str]) -> dict:
    """``["x=60000,28,28", "y=labels.npy", "x.meta=100,8"]`` -> ``{"x": (60000, 28, 28), "y": "labels.npy"}``
    (``x.meta`` makes ``x`` a dict by input name); a shape's pieces that are
    not integers are kept, for `check_fit` to refuse in one sentence."""
    data: dict = {}
    for item in items:
        role, equals, value = item.partition("=")
        base, _, key = role.strip().partition(".")
        if not equals or base not in ("x", "y") or not value.strip() or (key == "" and "." in role):
            raise ShapeguardError(f"--fit {item!r} is not of the form x=SHAPE, y=SHAPE or x.NAME=SHAPE "
                                  "(a shape such as 60000,28,28, or a .npy file).")
        pieces = tuple(_piece(p) for p in value.split(","))
        if not value.strip().endswith(".npy") and len(pieces) > 1 and not any(isinstance(p, int) for p in pieces):
            raise ShapeguardError(f"--fit {item.strip()}: a shape is positive integers, the sample count first, "
                                  "such as 60000,28,28" + shape_sentence_end(pieces))
        # one piece that is not a number is a file's name, as typed (x=abc: no such file)
        given = value.strip() if value.strip().endswith(".npy") or not isinstance(pieces[0], int) and \
            len(pieces) == 1 else pieces
        if key:
            entries = data.setdefault(base, {})
            if not isinstance(entries, dict):
                raise ShapeguardError(f"--fit {item}: {base} is given whole and by name; give one of the two.")
            entries[key] = given
        elif base in data:
            raise ShapeguardError(f"--fit {base} is given twice; give it once.")
        else:
            data[base] = given
    if "x" not in data:
        raise ShapeguardError("--fit needs the data: give --fit x=SHAPE (and --fit y=SHAPE for fit).")
    return data


def _piece(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def check(args: argparse.Namespace, axes: dict) -> Any:
    """The `Report` of one model builder (the one target) against its data;
    ``axes`` (``--axis``, one value each) are the builder's arguments."""
    from ._collect import collect
    from .fitcheck import check_fit

    data = parse_fit(args.fit)
    if len(args.targets) != 1:
        raise ShapeguardError("--fit checks one model builder: name one target, e.g. build.py:build_model.")
    builder_args = {}
    for name, values in axes.items():
        if len(values) != 1:
            raise ShapeguardError(f"--axis {name}: --fit checks one model: give one value.")
        builder_args[name] = values[0]
    found = collect(args.targets[0])
    if len(found) != 1 or found[0].function is None:
        raise ShapeguardError(f"{args.targets[0]}: --fit checks one model builder: name the function that "
                              "builds it, e.g. build.py:build_model.")
    report = check_fit(found[0].function, data["x"], data.get("y"), loss=args.loss,
                       mode="predict" if args.predict else "fit", **builder_args)
    report.target = args.targets[0]
    return report
