"""Fixtures for page tests: an isolated store per test, with its job runner shut down after."""

import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FMAUDIT_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"
    from dashboard import services

    services._runner_at(str(tmp_path / "home")).shutdown()  # the cached runner of this test's store
    services._runner_at.clear()
