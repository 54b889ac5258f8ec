"""GitHub workflow commands' escaping (`shapeguard.report.github`), on plain
strings: no Keras needed."""

from shapeguard.report.github import _escape_data, _escape_property


def test_github_escaping():
    assert _escape_data("100%\r\ndone: a,b") == "100%25%0D%0Adone: a,b"
    assert _escape_property("dir:a,b%\n") == "dir%3Aa%2Cb%25%0A"
