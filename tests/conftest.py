"""Shared fixtures of the project's own tests (plugin-author fixtures live in huisou.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _isolated_huisou_home(tmp_path_factory):
    """No test writes to the real data directory (model digests, libraries): HUISOU_HOME is a
    temp dir for the whole session; tests that need their own still set it themselves."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUISOU_HOME", str(tmp_path_factory.mktemp("session-huisou-home")))
        patch.delenv("HUISOU_CONFIG", raising=False)
        yield


@pytest.fixture
def fake_host():
    """A host with the built-ins and the fake backend/store, no entry points."""
    import huisou.testing.fakes as fakes
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    return host


@pytest.fixture
def fake_config(tmp_path: Path):
    from huisou.core.config import Config

    return Config(db=str(tmp_path / "library.db"), backend="fake", store="memory", batch_size=4)


@pytest.fixture
def fake_library(fake_host, fake_config):
    from huisou.core.library import Library

    library = Library(fake_config, fake_host)
    yield library
    library.close()


@pytest.fixture
def run_cli(huisou_home, capsys):
    """``huisou ARGS`` in this process, on the test's ``HUISOU_HOME``: (exit code, stdout,
    stderr). A test file that needs a config or plugins first overrides this fixture, asks for
    it by the same name and writes them before returning it."""
    from huisou.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return run
