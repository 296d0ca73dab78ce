"""``huisou doctor --json``: the facts support questions need, including how photos are hashed."""

from __future__ import annotations

import json

from click.testing import CliRunner
from huisou.cli.main import cli
from huisou.core import content_hash


def _doctor() -> dict:
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_reports_sqlite_store_and_content_hashing(huisou_home):
    facts = _doctor()
    assert facts["db"].startswith(str(huisou_home))
    assert {"driver", "version", "can_load_extensions"} <= set(facts["sqlite"])
    assert facts["content_hash"]["algorithm"] == content_hash.PREFERRED
    assert ("hint" in facts["content_hash"]) == (content_hash.PREFERRED != content_hash.XXH3)


def test_without_xxhash_it_says_how_to_get_it(huisou_home, monkeypatch):
    monkeypatch.setattr(content_hash, "PREFERRED", content_hash.SHA256)
    facts = _doctor()
    assert facts["content_hash"]["algorithm"] == "sha256"
    assert "pip install xxhash" in facts["content_hash"]["hint"]
