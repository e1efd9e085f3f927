"""Shared fixtures: every test runs with its own data directory and without a profile override."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """Generated data goes to a temporary folder; SARXAI_PROFILE from the caller's shell cannot leak in."""
    monkeypatch.setenv("SARXAI_DATA", str(tmp_path / "sarxai-data"))
    monkeypatch.delenv("SARXAI_PROFILE", raising=False)
    monkeypatch.delenv("SARXAI_OPENSARURBAN", raising=False)
    monkeypatch.delenv("SARXAI_MSTAR", raising=False)
