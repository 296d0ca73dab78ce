"""Hostile files: what the indexer and the commands that read photos must survive."""

from __future__ import annotations

import json
from pathlib import Path

from battery import Case, expect_error, expect_ok, fake_home, huisou, make_photos


def ordinary_folder_with_a_broken_photo(tmp: Path) -> None:
    """The baseline: a damaged photo is counted as failed, the rest is indexed, exit 0."""
    fake_home()
    photos = tmp / "photos"
    make_photos(photos, 3)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    run = expect_ok(huisou("index", photos, "--json"))
    finished = json.loads(run.stdout.splitlines()[-1])
    assert (finished["indexed"], finished["failed"]) == (3, 1), finished


def search_by_a_missing_image(tmp: Path) -> None:
    fake_home()
    expect_error(huisou("search", "--image", tmp / "nope.jpg"), code=1, naming="nope.jpg")


CASES = [
    Case("files: ordinary folder with a broken photo", ordinary_folder_with_a_broken_photo),
    Case("files: search by a missing image", search_by_a_missing_image),
]
