"""shapeguard's pytest plugin, registered through the ``pytest11`` entry point.

``pytest --shapeguard PATHS`` collects every block builder defined in the
``.py`` files under PATHS, decorated or not (the blocks ``shapeguard check
FOLDER`` finds), as its own test item, ``models/blocks.py::block[shapeguard]``,
which fails with shapeguard's report; ``--shapeguard-guarded-only`` keeps to
the ``@guard`` ones. A block that cannot be checked without options fails its
item with the one sentence saying what it needs.

A failure reads as ``--tb`` asks, in these items and in a user's test failed
by `ShapeCheckFailed` (``shapeguard.assert_ok``): ``line``, the first failure
mode's headline at its ``file:line``; ``short``, each mode's headline, place,
minimal example and reproducing call; ``long``/``auto``, the full report. The
short summary (``-ra``) names the modes. Python warnings raised while a block
is probed (Keras's, once per probe) are the check's and are ignored.

pytest loads this module in every session of every project that has shapeguard
installed, so it imports nothing heavy: TensorFlow, Keras, Hypothesis and
shapeguard's engine load only when a collected item runs its check.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings

import pytest

from ._options import positive_int

ITEM_SUFFIX = "[shapeguard]"
MARKER = "shapeguard"
PROJECT = pytest.StashKey[object]()  # the session's `shapeguard._config.ProjectConfig`


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shapeguard", "shapeguard: tensor-shape checks of Keras blocks")
    group.addoption(
        "--shapeguard",
        action="store_true",
        default=False,
        help="collect every Keras block builder (function, Layer subclass, factory, model builder; "
        "@guard-decorated or not) in the given paths as a test item (path.py::block[shapeguard]) "
        "that fails with shapeguard's report.",
    )
    group.addoption(
        "--shapeguard-guarded-only",
        action="store_true",
        default=False,
        help="with --shapeguard, collect only @guard-decorated blocks (and import only files that "
        "mention shapeguard or @guard).",
    )
    group.addoption(
        "--shapeguard-max-examples",
        type=positive_int,
        default=None,
        metavar="N",
        help="probe budget per block (overrides @guard(max_examples=...); default 100).",
    )
    group.addoption(
        "--shapeguard-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the search (overrides @guard(seed=...); default 0, so runs repeat).",
    )
    group.addoption(
        "--shapeguard-no-database",
        action="store_true",
        default=False,
        help="do not keep minimal failing examples in Hypothesis's example database "
        "(.hypothesis/) nor probe saved ones first.",
    )
    group.addoption(
        "--shapeguard-no-cache",
        action="store_true",
        default=False,
        help="probe every block again and keep nothing in shapeguard's result cache "
        "(an unchanged file is otherwise answered from it without being imported).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: a shape check of a Keras block, collected by --shapeguard."
    )
    if config.getoption("shapeguard"):
        from shapeguard import _cachedir
        from shapeguard._config import project_config
        from shapeguard.errors import ShapeguardError

        try:
            project = config.stash[PROJECT] = project_config(str(config.rootpath))
        except ShapeguardError as exc:
            raise pytest.UsageError(str(exc)) from None
        if project.get("cache") is False or config.getoption("shapeguard_no_cache"):
            _cachedir.turn_off()


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("shapeguard"):
        return None
    options = _check_options(config)
    project = config.stash[PROJECT].settings()
    declared = lambda key, default: (f"as declared, else {project[key]} ([tool.shapeguard])" if key in project
                                     else f"as declared (default {default})")
    budget = options["max_examples"] or declared("max_examples", 100)
    seed = options["seed"] if options["seed"] is not None else declared("seed", 0)
    database = "off" if options["database"] is False else "as declared, else as Hypothesis's settings say (.hypothesis/ by default)"
    return f"shapeguard: max examples {budget}, seed {seed}, example database {database}"


def pytest_collect_file(file_path, parent: pytest.Collector):
    """With ``--shapeguard``, a ``.py`` file whose text mentions ``keras``,
    ``shapeguard`` or ``@guard`` (only the last two with
    ``--shapeguard-guarded-only``) becomes a `ShapeguardModule`; other files
    are never imported (the same rule as ``shapeguard check FILE``). pytest's
    own walk decides which files we see, so ``--ignore``, ``norecursedirs``
    and virtual environments hold."""
    if not parent.config.getoption("shapeguard"):
        return None
    if file_path.suffix != ".py" or file_path.name == "conftest.py":
        return None
    from shapeguard._collect import may_define_blocks

    if not may_define_blocks(str(file_path), parent.config.getoption("shapeguard_guarded_only")):
        return None
    if parent.config.stash[PROJECT].excludes(str(file_path)):  # [tool.shapeguard] exclude
        return None
    return ShapeguardModule.from_parent(parent, path=file_path)


class ShapeguardModule(pytest.Module):
    """A Python file seen for its blocks (`shapeguard._collect.find_blocks`).
    Being a `pytest.Module`, it imports the file as pytest does (import mode,
    rootdir, ``sys.modules``), so a file that pytest also collects as a test
    module is imported once."""

    def collect(self):
        from shapeguard import _cache
        from shapeguard._collect import find_blocks
        from shapeguard._spec import first_line

        listing = _unit(self.config, self.path, "listing")
        entry = _cache.load(listing)
        if entry is not None:  # the file is unchanged: its blocks, without importing it
            for _, (qualname, line) in entry.items:
                yield ShapeguardItem.from_parent(self, name=qualname + ITEM_SUFFIX, qualname=qualname,
                                                 guarded=None, line=line)
            return
        guarded_only = self.config.getoption("shapeguard_guarded_only")
        before = set(sys.modules)
        found = find_blocks(self.obj, guarded_only)
        _cache.store(listing, [("listing", (q, first_line(g))) for q, g in found],
                     _cache.loaded_files(set(sys.modules) - before))
        for qualname, guarded in found:
            yield ShapeguardItem.from_parent(
                self, name=qualname + ITEM_SUFFIX, qualname=qualname, guarded=guarded
            )


class ShapeguardItem(pytest.Item):
    """One block's shape check; fails with the text report, or with the one
    sentence saying why it cannot be checked (a parameter nothing can give
    values to, a class that needs arguments, a function that returns no tensor)."""

    def __init__(self, *, qualname: str, guarded, line: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.qualname = qualname
        self.guarded = guarded  # None when collected from the cache (the file was not imported)
        self.line = line  # 1-based line of its def or class
        self.add_marker(MARKER)
        self._unit = None
        self._cached = None

    @property
    def target(self) -> str:
        """The report's name for the block: the node id without the suffix."""
        return f"{self.parent.nodeid}::{self.qualname}"

    def setup(self) -> None:
        from shapeguard import _cache

        self._unit = _unit(self.config, self.path, f"block {self.qualname}")
        entry = _cache.load(self._unit)
        if entry is not None:
            self._cached = _cache.as_cached(entry.items[0])
            return
        _start_keras_quietly(self.config)

    def runtest(self) -> None:
        from shapeguard import _cache
        from shapeguard.errors import ShapeCheckFailed, ShapeguardError

        if self._cached is not None:  # nothing it depends on changed: the report it had
            kind, record = self._cached
            if kind == "error":
                raise ShapeguardError(record)
            if not record.ok:
                raise ShapeCheckFailed(record)
            return
        before = set(sys.modules)
        try:
            self._check()
        except ShapeCheckFailed as exc:
            _cache.store(self._unit, [("report", exc.report)], _cache.loaded_files(set(sys.modules) - before))
            raise
        except ShapeguardError as exc:
            _cache.store(self._unit, [("error", str(exc))], _cache.loaded_files(set(sys.modules) - before))
            raise

    def _check(self) -> None:
        # Keras's warnings while the block is probed (a Layer with "unbuilt
        # state", once per probe) are the check's, not the user's: not in
        # pytest's warnings summary, and never errors under -W error.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._probe()

    def _probe(self) -> None:
        from shapeguard import engine
        from shapeguard._collect import resolve_attribute
        from shapeguard._settings import CheckSettings
        from shapeguard.errors import ShapeCheckFailed, ShapeguardError

        # As `shapeguard check file.py:Class.method` does: a method is bound to
        # Class() (a class that needs arguments raises a ShapeguardError).
        block = resolve_attribute(self.parent.obj, self.qualname, self.parent.nodeid)
        options = _check_options(self.config)
        try:
            planned = engine.plan(block, settings=CheckSettings(**{k: v for k, v in options.items() if v is not None}))
            planned = dataclasses.replace(planned, settings=planned.settings.under(self.config.stash[PROJECT].settings()))
            if not planned.settings.given("database"):  # neither the flag nor the decorator said: the plugin's
                planned = dataclasses.replace(planned, settings=planned.settings.replace(database=True))  # default
            report = engine.run(planned, engine.Watch(target=self.target))
        except ShapeguardError as exc:  # cannot be checked as it is: the sentence, naming the item
            if exc.subject == getattr(block, "__qualname__", self.qualname):
                exc = type(exc)(exc.reason, option=exc.option)
            raise exc.with_context(subject=self.target) from None
        if report.interrupted:  # Ctrl-C during the search: stop the session as pytest would
            raise KeyboardInterrupt
        if not report.ok:
            raise ShapeCheckFailed(report)
        from shapeguard import _cache

        _cache.store(self._unit, [("report", report)], {})

    def repr_failure(self, excinfo, style=None):
        """The report (or the one-line error) alone, as ``--tb`` asks
        (`_report_repr`): the Keras and shapeguard frames under it would only
        hide the minimal call."""
        from shapeguard.errors import ShapeCheckFailed, ShapeguardError

        style = style or self.config.getoption("tbstyle", "auto")
        path, line, _ = self.reportinfo()
        definition = (_shown(str(path)), line + 1)
        if isinstance(excinfo.value, ShapeCheckFailed):
            return _report_repr(excinfo.value.report, style, definition)
        if isinstance(excinfo.value, ShapeguardError):  # one line that names the block
            sentence = str(excinfo.value)
            return _repr(style, sentence, sentence, definition)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        # The heading of the failure. Not the item's name: pytest's verbose line
        # would turn the name's "Blocks.wide" into "Blocks::wide", no node id.
        line = self.line - 1 if self.guarded is None else _first_line(self.guarded)
        return self.path, max(line, 0), f"{self.qualname} {ITEM_SUFFIX}"


def _unit(config: pytest.Config, path, what: str):
    """The result cache's unit (`shapeguard._cache`) of a file's listing of
    blocks or of one block's check, keyed by the file and what it imports and
    by the session's shapeguard options."""
    from shapeguard import _cache
    from shapeguard._collect import module_name_for

    options = {"door": "pytest", **_check_options(config), "project": config.stash[PROJECT].table,
               "guarded_only": config.getoption("shapeguard_guarded_only"), "rootdir": str(config.rootpath)}
    return _cache.keyed(f"{path}::{what}", str(path), options, module_name_for)


def _check_options(config: pytest.Config) -> dict:
    """`CheckSettings` fields from pytest's command line.
    None: not given (the decorator's, else the project's ``[tool.shapeguard]``,
    else the default). Without
    ``--shapeguard-no-database`` and with no ``database`` declared, the plugin
    uses Hypothesis's current default database (``database=True``), so a
    profile with ``database=None`` turns it off too."""
    return {
        "max_examples": config.getoption("shapeguard_max_examples"),
        "seed": config.getoption("shapeguard_seed"),
        "database": False if config.getoption("shapeguard_no_database") else None,
    }


def _first_line(guarded) -> int:
    """0-based line of the function's ``def`` (or the guarded class's), for pytest's report location."""
    from shapeguard._spec import first_line

    return max(first_line(guarded) - 1, 0)


_keras_started = False


def _start_keras_quietly(config: pytest.Config) -> None:
    """Import Keras and run one tiny op before the first check, dropping what
    TensorFlow writes to stderr while it starts (CPU notes, CUDA probing), so
    that the first item's captured output holds only what the block printed."""
    global _keras_started
    if _keras_started:
        return
    _keras_started = True
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None or not capture.is_globally_capturing():
        return  # nothing is captured (-s): TensorFlow's lines go where the user sees them anyway
    before = capture.read_global_capture()
    with warnings.catch_warnings():  # TensorFlow's and Keras's at import: the check's, as in ShapeguardItem._check
        warnings.simplefilter("ignore")
        import keras

    keras.ops.zeros(())  # the first op initialises the devices, which logs too
    capture.read_global_capture()  # discard TensorFlow's start-up lines
    sys.stdout.write(before.out)
    sys.stderr.write(before.err)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A user's test failed by `ShapeCheckFailed` (``shapeguard.assert_ok``,
    ``report.raise_for_failures()``) reads as the plugin's own items do:
    pytest's traceback of the test, whose message is the report ``--tb``
    asks for, and a short summary that names the failure modes."""
    outcome = yield
    if call.when != "call" or call.excinfo is None or isinstance(item, ShapeguardItem):
        return
    from shapeguard.errors import ShapeCheckFailed

    failed = call.excinfo.value
    report = outcome.get_result()
    if not isinstance(failed, ShapeCheckFailed) or not report.failed:
        return
    from shapeguard.report.text import render_short, what_failed

    style = item.config.getoption("tbstyle", "auto")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None:  # another plugin's representation: left as it is
        return
    if style == "line":
        report.longrepr = _report_repr(failed.report, style, (crash.path, crash.lineno))
        return
    if style == "short":  # the test's own lines, as pytest shows them, over the short report
        short = ShapeCheckFailed(failed.report)
        short.args = (render_short(failed.report),)
        report.longrepr = item.repr_failure(pytest.ExceptionInfo.from_exc_info(
            (ShapeCheckFailed, short, call.excinfo.tb)))  # (from_exception is pytest >= 7.4)
        crash = report.longrepr.reprcrash
    crash.message = f"{failed.report.target}: {what_failed(failed.report)}"


def _report_repr(report, style: str, definition: tuple):
    """A failed report as pytest shows a failure for ``--tb=style``: ``line``,
    one line, ``path:line: headline`` of the first failure mode
    (`shapeguard.report.text.first_finding`); ``short``, the report's first line and each
    mode's headline, place, minimal example and reproducing call
    (`render_short`); any other style, the full report. The short summary
    (``-ra``) names the modes (`what_failed`). ``definition``: (path, 1-based
    line) to point at when the report knows no line."""
    from shapeguard.report.text import first_finding, render_short, what_failed

    if style == "line":
        headline, location = first_finding(report)
        where = (_shown(location.file), location.line) if location is not None else definition
        return _repr(style, "", headline, where)
    text = render_short(report) if style == "short" else str(report)
    return _repr(style, text, what_failed(report), definition)


def _repr(style: str, text: str, message: str, where: tuple):
    """pytest's own representation of a failure (what it makes of an
    exception, and what pytest-xdist carries from its workers): ``text`` in the
    place of the traceback (nothing with ``--tb=line``), and ``message`` at
    ``where`` (path, 1-based line), which ``--tb=line`` prints as
    ``path:line: message`` and the short summary after the node id."""
    from _pytest._code.code import ReprExceptionInfo, ReprFileLocation, ReprTraceback, ReprTracebackNative

    traceback = ReprTraceback([], None, "line") if style == "line" else ReprTracebackNative([text + "\n"])
    return ReprExceptionInfo(reprtraceback=traceback, reprcrash=ReprFileLocation(where[0], where[1], message))


def _shown(path: str) -> str:
    from shapeguard._usercode import relative_path

    return relative_path(path)
