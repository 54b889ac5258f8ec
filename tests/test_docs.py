"""The docs site: ``mkdocs build --strict`` passes (no broken link or anchor,
no docstring mkdocstrings cannot read), every SARIF rule has its anchor on
docs/reference/rules.md, every environment variable shapeguard reads is in
the configuration reference, and the README's links land on pages. One
in-process build, about 2 s; mkdocstrings reads the source with griffe, so
nothing imports Keras. Skipped when the docs extra is not installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
    pytest.importorskip("mkdocstrings", reason="the docs extra is not installed (pip install -e '.[docs]')")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    folder = tmp_path_factory.mktemp("site")
    # --strict: a warning (broken link, missing anchor, unreadable docstring) aborts the build
    build(load_config(config_file=str(REPO / "mkdocs.yml"), strict=True, site_dir=str(folder)))
    return folder


def test_every_rule_id_has_its_anchor_on_the_rules_page(site):
    from shapeguard.report._words import ALL_RULES
    from shapeguard.report.sarif import RULES_PAGE, rule_uri

    html = (site / "reference" / "rules" / "index.html").read_text()
    for words in ALL_RULES:
        page, anchor = rule_uri(words.rule).split("#")  # the SARIF rule's helpUri lands on its heading
        assert page == RULES_PAGE
        assert re.search(rf'<h2 id="{re.escape(anchor)}"[^>]*>{re.escape(words.rule)}', html), words.rule


def test_the_api_reference_is_rendered_from_docstrings(site):
    import shapeguard

    html = (site / "reference" / "api" / "index.html").read_text()
    for name in set(shapeguard.__all__) - {"__version__"}:
        assert f'id="shapeguard.{name}"' in html, name


def test_every_environment_variable_read_is_documented():
    page = (REPO / "docs" / "reference" / "configuration.md").read_text()
    source = "\n".join(p.read_text() for p in (REPO / "shapeguard").rglob("*.py"))
    named = set(re.findall(r'"((?:SHAPEGUARD|KERAS|TF)_[A-Z_]+)"', source))
    assert {"SHAPEGUARD_TRACEBACK", "SHAPEGUARD_CACHE_DIR", "SHAPEGUARD_NO_CACHE", "KERAS_BACKEND"} <= named
    assert not [name for name in sorted(named) if f"`{name}`" not in page]


def test_the_readmes_links_into_docs_land_on_pages():
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links
    assert not [link for link in links if not (REPO / link).is_file()]
    assert len(readme.splitlines()) <= 250
