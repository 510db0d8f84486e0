"""Fixtures for page tests: an isolated store per test, with its job runner shut down after."""

import re

import pytest


def markdown_rows(text: str) -> list[dict]:
    """A table written by ``dashboard.components.fmt.markdown_table`` read back as its rows: each header and cell
    split on the unescaped ``|`` and unescaped (``plain`` put a backslash before every markdown character)."""

    def cells(line: str) -> list[str]:
        return [re.sub(r"\\(.)", r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", line)[1:-1]]

    header, rule, *lines = text.splitlines()
    assert set(rule.replace("|", "").split()) == {"---"}, rule  # the second line is the table's rule
    return [dict(zip(cells(header), cells(line), strict=True)) for line in lines]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FMAUDIT_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"
    from dashboard import services

    services._runner_at(str(tmp_path / "home")).shutdown()  # the cached runner of this test's store
    services._runner_at.clear()
