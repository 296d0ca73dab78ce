"""Hostile files: what the indexer and the commands that read photos must survive."""

from __future__ import annotations

import json
import os
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


def info_on_a_fifo(tmp: Path) -> None:
    fake_home()
    fifo = tmp / "photo.jpg"
    os.mkfifo(fifo)
    run = expect_ok(huisou("info", fifo, "--json"))
    assert "FIFO" in json.loads(run.stdout)["content"], run.describe()


def search_by_a_fifo_image(tmp: Path) -> None:
    fake_home()
    fifo = tmp / "query.jpg"
    os.mkfifo(fifo)
    expect_error(huisou("search", "--image", fifo), code=1, naming=fifo)


def search_by_dev_zero(tmp: Path) -> None:
    fake_home()
    expect_error(huisou("search", "--image", "/dev/zero"), code=1, naming="/dev/zero")


def search_by_a_10_gb_image(tmp: Path) -> None:
    fake_home()
    huge = tmp / "huge.jpg"
    with open(huge, "wb") as fh:
        fh.truncate(10 << 30)  # sparse
    run = expect_error(huisou("search", "--image", huge), code=1, naming=huge)
    assert "too large" in run.stderr, run.describe()


def index_a_folder_with_a_fifo(tmp: Path) -> None:
    """The FIFO is recorded as skipped with its kind; nothing hangs."""
    fake_home()
    photos = tmp / "photos"
    make_photos(photos, 2)
    os.mkfifo(photos / "pipe.jpg")
    run = expect_ok(huisou("index", photos, "--json"))
    finished = json.loads(run.stdout.splitlines()[-1])
    assert (finished["indexed"], finished["skipped"]) == (2, 1), finished
    record = json.loads(expect_ok(huisou("info", photos / "pipe.jpg", "--json")).stdout)
    assert record["status"] == "skipped" and "FIFO" in record["reason"], record


def photo_replaced_by_a_fifo_mid_run(tmp: Path) -> None:
    """A photo queued by the scan becomes a FIFO before it is read: the run must finish."""
    home = fake_home()
    photos = tmp / "photos"
    make_photos(photos, 12)
    victim = photos / "photo011.jpg"
    (home / "plugins" / "swap.py").write_text(
        "import os\nfrom huisou import hookimpl\n\n"
        "@hookimpl\ndef items_indexed(run, paths):\n"
        f"    victim = {str(victim)!r}\n"
        "    if not os.path.exists(victim + '.done'):\n"
        "        os.unlink(victim)\n        os.mkfifo(victim)\n"
        "        open(victim + '.done', 'w').close()\n"
    )
    run = expect_ok(huisou("index", photos, "--threads", "1", "--json"))
    finished = json.loads(run.stdout.splitlines()[-1])
    assert (finished["indexed"], finished["skipped"]) == (11, 1), finished


def non_utf8_file_names(tmp: Path) -> None:
    """Latin-1 names (and a Latin-1 root) are indexed, kept across runs and shown escaped."""
    fake_home()
    photos = tmp / os.fsdecode(b"f\xf6tos")
    make_photos(photos, 6)
    latin1 = photos / os.fsdecode(b"caf\xe9.jpg")
    os.rename(photos / "photo000.jpg", latin1)
    (photos / os.fsdecode(b"bro\xefken.jpg")).write_bytes(b"\xff\xd8\xff not a jpeg")
    for _ in range(2):
        expect_ok(huisou("index", photos))
    record = json.loads(expect_ok(huisou("info", latin1, "--json")).stdout)
    assert record["status"] == "indexed", record
    assert os.fsencode(record["path"]) == os.fsencode(latin1), record
    assert "caf\\xe9.jpg" in expect_ok(huisou("info", latin1)).stdout
    shown = expect_ok(huisou("search", "--image", latin1, "-n", "1")).stdout
    assert "f\\xf6tos/caf\\xe9.jpg" in shown, shown


def newline_in_a_file_name(tmp: Path) -> None:
    """--paths prints one line per photo (escaped); --print0 gives the exact bytes."""
    fake_home()
    photos = tmp / "photos"
    make_photos(photos, 3)
    os.rename(photos / "photo000.jpg", photos / "evil\nname.jpg")
    expect_ok(huisou("index", photos))
    lines = expect_ok(huisou("search", "photo", "--paths")).stdout.splitlines()
    assert len(lines) == 3 and any(line.endswith("evil\\nname.jpg") for line in lines), lines
    names = expect_ok(huisou("search", "photo", "--print0")).stdout.split("\0")
    assert str(photos / "evil\nname.jpg") in names, names


def symlink_to_etc_passwd(tmp: Path) -> None:
    """A link out of the root is recorded, never read or hashed; a linked folder is a warning."""
    fake_home()
    photos = tmp / "photos"
    make_photos(photos, 2)
    os.symlink("/etc/passwd", photos / "passwd.jpg")
    os.symlink("/etc", photos / "etc")
    run = expect_ok(huisou("index", photos, "--json"))
    finished = json.loads(run.stdout.splitlines()[-1])
    assert (finished["indexed"], finished["skipped"], finished["failed"]) == (2, 1, 0), finished
    record = json.loads(expect_ok(huisou("info", photos / "passwd.jpg", "--json")).stdout)
    assert record["content_hash"] is None and "outside" in record["reason"], record


def one_photo_by_two_paths(tmp: Path) -> None:
    fake_home()
    photos = tmp / "photos"
    make_photos(photos / "real", 2)
    os.link(photos / "real" / "photo000.jpg", photos / "hard.jpg")
    os.symlink(photos / "real" / "photo001.jpg", photos / "a-link.jpg")
    os.symlink("real", photos / "again")
    run = expect_ok(huisou("index", photos, "--json"))
    assert json.loads(run.stdout.splitlines()[-1])["indexed"] == 2, run.describe()


def eight_threads_over_huge_photos(tmp: Path) -> None:
    """6 photos of 120 MiB, 8 decode threads: photo bytes are bounded per run (256 MiB)."""
    import resource
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import read_memory

    read_memory.make_photos(tmp / "photos", 6, 120)
    read_memory.make_home(Path(os.environ["HUISOU_HOME"]))
    expect_ok(huisou("index", tmp / "photos", "--threads", "8", timeout=120))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 480, f"huisou index peaked at {peak_mb:.0f} MB"


def index_a_fifo_or_a_device_as_a_folder(tmp: Path) -> None:
    fake_home()
    fifo = tmp / "photos"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        expect_error(huisou("index", path), code=2, naming=path)


def info_on_dev_zero(tmp: Path) -> None:
    fake_home()
    run = expect_ok(huisou("info", "/dev/zero", "--json"))
    assert "character device" in json.loads(run.stdout)["content"], run.describe()


CASES = [
    Case("files: ordinary folder with a broken photo", ordinary_folder_with_a_broken_photo),
    Case("files: search by a missing image", search_by_a_missing_image),
    Case("files: info on a FIFO", info_on_a_fifo, timeout=30),
    Case("files: search --image FIFO", search_by_a_fifo_image, timeout=30),
    Case("files: search --image /dev/zero", search_by_dev_zero, timeout=30, memory_mb=1024),
    Case("files: search --image 10 GB file", search_by_a_10_gb_image, timeout=30, memory_mb=1024),
    Case("files: index a folder with a FIFO", index_a_folder_with_a_fifo),
    Case("files: photo replaced by a FIFO mid-run", photo_replaced_by_a_fifo_mid_run),
    Case("files: non-UTF-8 file names", non_utf8_file_names),
    Case("files: newline in a file name", newline_in_a_file_name),
    Case("files: symlink to /etc/passwd", symlink_to_etc_passwd),
    Case("files: one photo by two paths", one_photo_by_two_paths),
    Case("files: index a FIFO or /dev/zero", index_a_fifo_or_a_device_as_a_folder, timeout=30),
    Case("files: info on /dev/zero", info_on_dev_zero, timeout=30, memory_mb=1024),
    Case("files: 8 threads over huge photos", eight_threads_over_huge_photos, timeout=180),
]
