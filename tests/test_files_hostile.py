"""Hostile files (issue #11, "Indexing and files"): FIFOs, devices, huge files, odd names, links.

Commands that could hang run as subprocesses with a timeout (``battery.huisou``): before the
fixes they blocked forever in ``open()``.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from battery import expect_error, expect_ok, fake_home, huisou, make_photos  # noqa: E402
from huisou.core import index_jobs  # noqa: E402
from huisou.core.errors import NotAnImage  # noqa: E402
from huisou.core.regular_files import NotARegularFile, open_regular  # noqa: E402


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    return fake_home(tmp_path / "home")


# -- FIFOs and devices ---------------------------------------------------------------------


def test_open_regular_never_opens_a_fifo_or_a_device(tmp_path: Path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="FIFO"):
        open_regular(fifo)
    with pytest.raises(NotARegularFile, match="character device"):
        open_regular("/dev/zero")
    with pytest.raises(NotARegularFile, match="folder"):
        open_regular(tmp_path)
    (tmp_path / "ok.jpg").write_bytes(b"data")
    with open_regular(tmp_path / "ok.jpg") as fh:
        assert fh.read() == b"data"


def test_open_regular_checks_the_descriptor_it_opened(tmp_path: Path, monkeypatch):
    """A photo swapped for a FIFO between the stat and the open is still refused, not read."""
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: regular)
    with pytest.raises(NotARegularFile, match="FIFO"):
        open_regular(fifo)


def test_read_photo_refuses_a_huge_file_before_reading_it(tmp_path: Path):
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as fh:
        fh.truncate(10 << 30)  # sparse

    class Unreadable(io.FileIO):
        def read(self, size=-1):
            raise AssertionError("read a file already known to be too large")

    with Unreadable(huge) as fh, pytest.raises(NotAnImage, match="too large to be a photo"):
        index_jobs.read_photo(fh, 1000)  # the scan saw it small: its size now decides


def test_info_on_a_fifo_answers_instead_of_hanging(home, tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    run = expect_ok(huisou("info", fifo, "--json", timeout=30))
    assert "FIFO" in json.loads(run.stdout)["content"]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "sparse-10g"])
def test_search_image_refuses_what_is_not_a_photo_sized_file(home, tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "query.jpg"
        os.mkfifo(path)
        expected = "FIFO"
    elif kind == "dev-zero":
        path, expected = Path("/dev/zero"), "character device"
    else:
        path = tmp_path / "huge.jpg"
        with open(path, "wb") as fh:
            fh.truncate(10 << 30)  # sparse: 10 GB that take no disk
        expected = "too large"
    run = expect_error(huisou("search", "--image", path, timeout=30), code=1, naming=path)
    assert expected in run.stderr


def test_index_records_a_fifo_and_a_photo_replaced_by_one_mid_run(home, tmp_path):
    """The FIFO present at scan time and the photo that became one after the scan are both
    recorded as skipped with their kind; the run finishes instead of hanging."""
    photos = tmp_path / "photos"
    make_photos(photos, 12)
    os.mkfifo(photos / "pipe.jpg")
    victim = photos / "photo011.jpg"
    (home / "plugins" / "swap.py").write_text(
        "import os\nfrom huisou import hookimpl\n\n"
        "@hookimpl\ndef items_indexed(run, paths):\n"
        f"    victim = {str(victim)!r}\n"
        "    if not os.path.exists(victim + '.done'):\n"
        "        os.unlink(victim)\n        os.mkfifo(victim)\n"
        "        open(victim + '.done', 'w').close()\n"
    )
    run = expect_ok(huisou("index", photos, "--threads", "1", "--json", timeout=60))
    finished = json.loads(run.stdout.splitlines()[-1])
    assert (finished["indexed"], finished["skipped"]) == (11, 2), finished
    for path in (photos / "pipe.jpg", victim):
        record = json.loads(expect_ok(huisou("info", path, "--json")).stdout)
        assert record["status"] == "skipped" and "FIFO" in record["reason"], record


# -- file names that are not UTF-8, or hold newlines -------------------------------------------

LATIN1 = os.fsdecode(b"caf\xe9.jpg")  # what os.scandir gives for a Latin-1 name


def _odd_library(tmp_path: Path) -> Path:
    photos = tmp_path / os.fsdecode(b"f\xf6tos")  # the root too is not UTF-8
    make_photos(photos, 4)
    os.rename(photos / "photo000.jpg", photos / LATIN1)
    os.rename(photos / "photo001.jpg", photos / "new\nline.jpg")
    (photos / os.fsdecode(b"bro\xefken.jpg")).write_bytes(b"\xff\xd8\xff not a jpeg")
    return photos


def test_non_utf8_names_are_indexed_stored_and_shown_losslessly(home, tmp_path):
    photos = _odd_library(tmp_path)
    run = expect_ok(huisou("index", photos, "--json"))
    finished = json.loads(run.stdout.splitlines()[-1])
    assert (finished["indexed"], finished["failed"]) == (4, 1), finished
    again = json.loads(expect_ok(huisou("index", photos, "--json")).stdout.splitlines()[-1])
    assert (again["unchanged"], again["indexed"]) == (4, 0), again  # stored as it is on disk
    latin1 = photos / LATIN1

    record = json.loads(expect_ok(huisou("info", latin1, "--json")).stdout)
    assert record["status"] == "indexed" and os.fsencode(record["path"]) == os.fsencode(latin1)
    assert "\\xe9.jpg" in expect_ok(huisou("info", latin1)).stdout  # escaped on a terminal

    hits = json.loads(expect_ok(huisou("search", "--image", latin1, "--json")).stdout)
    assert os.fsencode(hits[0]["path"]) == os.fsencode(latin1)  # the JSON escape round-trips
    listed = expect_ok(huisou("search", "photo", "--paths")).stdout.splitlines()
    assert len(listed) == 4  # a newline inside a name does not split it
    assert any(line.endswith("/new\\nline.jpg") for line in listed), listed
    assert any(line.endswith("f\\xf6tos/caf\\xe9.jpg") for line in listed), listed


def test_print0_gives_the_exact_bytes_of_every_name(home, tmp_path):
    photos = _odd_library(tmp_path)
    expect_ok(huisou("index", photos))
    run = expect_ok(huisou("search", "photo", "--print0"))
    names = {os.fsencode(p) for p in run.stdout.split("\0") if p}
    assert names == {os.fsencode(p) for p in photos.iterdir() if "bro" not in p.name}


def test_a_renamed_non_utf8_photo_is_a_move(home, tmp_path):
    photos = _odd_library(tmp_path)
    expect_ok(huisou("index", photos))
    os.rename(photos / LATIN1, photos / os.fsdecode(b"\xe9t\xe9.jpg"))
    finished = json.loads(expect_ok(huisou("index", photos, "--json")).stdout.splitlines()[-1])
    assert (finished["moved"], finished["indexed"], finished["removed"]) == (1, 0, 0), finished


# -- symlinks and the same photo by two paths ------------------------------------------------


def _info(path: Path) -> dict:
    return json.loads(expect_ok(huisou("info", path, "--json")).stdout)


def test_links_out_of_the_root_are_not_read_unless_allowed(home, tmp_path):
    photos, outside = tmp_path / "photos", tmp_path / "outside"
    make_photos(photos, 2)
    make_photos(outside, 3)
    os.symlink("/etc/passwd", photos / "passwd.jpg")
    os.symlink(outside, photos / "linked")
    run = expect_ok(huisou("index", photos, "--json"))
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert (events[-1]["indexed"], events[-1]["skipped"]) == (2, 1), events[-1]
    assert any("leads outside the source root" in e.get("message", "") for e in events)
    passwd = _info(photos / "passwd.jpg")
    assert passwd["content_hash"] is None, passwd  # never read, never hashed
    assert "outside the source root" in passwd["reason"], passwd
    assert "outside the source root" in _info(photos / "linked" / "photo000.jpg")["reason"]

    other = tmp_path / "photos2"
    make_photos(other, 1)
    os.symlink(outside, other / "linked")
    allowed = huisou("index", other, "--option", "follow_outside_links=true", "--json")
    assert json.loads(expect_ok(allowed).stdout.splitlines()[-1])["indexed"] == 4


def test_one_photo_reached_by_several_paths_is_indexed_once(home, tmp_path):
    photos = tmp_path / "photos"
    make_photos(photos / "real", 3)
    os.link(photos / "real" / "photo000.jpg", photos / "hard.jpg")
    os.symlink(photos / "real" / "photo001.jpg", photos / "a-link.jpg")  # walked first
    os.symlink("real", photos / "again")  # a second way into the folder
    finished = json.loads(expect_ok(huisou("index", photos, "--json")).stdout.splitlines()[-1])
    assert (finished["indexed"], finished["failed"], finished["skipped"]) == (3, 0, 0), finished
    assert _info(photos / "real" / "photo001.jpg")["status"] == "indexed"  # the real path won
    link = _info(photos / "a-link.jpg")  # info follows the link to the one record
    assert (link["status"], link["path"]) == ("indexed", str(photos / "real" / "photo001.jpg"))
    listed = expect_ok(huisou("search", "photo", "--paths")).stdout.splitlines()
    assert len(listed) == 3, listed


# -- memory: one read budget per run -------------------------------------------------------------


def test_read_budget_bounds_what_all_threads_hold_together():
    import threading
    import time

    budget = index_jobs.ReadBudget(100)

    def job(size: int) -> None:
        held = budget.acquire(size)
        time.sleep(0.02)
        budget.release(held)

    threads = [threading.Thread(target=job, args=(size,)) for size in [40] * 10 + [500, 30]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)  # the 500 went through, alone
    assert budget.peak == 100 and budget.held == 0


def test_peak_memory_of_a_run_is_bounded_per_run_not_per_thread(tmp_path):
    """6 photos of 120 MiB: 8 decode threads hold at most the run's budget (256 MiB) of
    them, where each used to hold its own (peak +600 MB over one thread)."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    try:
        import read_memory
    finally:
        sys.path.pop(0)
    result = read_memory.measure(6, 120, tmp_path)
    assert result["extra_mb_8_threads"] < index_jobs.READ_BUDGET >> 20, result


def test_tui_thumbnail_of_a_photo_replaced_by_a_fifo_does_not_hang(tmp_path):
    import threading

    from huisou.tui.thumbnails import ThumbnailCache

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            ThumbnailCache(host=None).load(str(fifo), 20, 20)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # release the reader blocked in open() before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive() and isinstance(outcome[0], NotARegularFile), outcome
