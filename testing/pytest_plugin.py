"""pytest plugin shipped with huisou (entry point ``pytest11``): fixtures for plugin authors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def huisou_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated ``HUISOU_HOME``: config, database and models under a temp directory."""
    home = tmp_path / "huisou-home"
    home.mkdir()
    monkeypatch.setenv("HUISOU_HOME", str(home))
    from huisou.core.plugins import reset_host

    reset_host()
    yield home
    reset_host()
