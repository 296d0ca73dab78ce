"""The headless CLI contract: JSON shapes, filters, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FAKE_PLUGIN = "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"
SLOW_PLUGIN = FAKE_PLUGIN + (
    "import time\nfrom huisou import hookimpl\n\n"
    "@hookimpl\ndef items_indexed(run, paths):\n    time.sleep(0.3)\n"
)


def _exif(make: str, model: str, when: str):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif.get_ifd(0x8769)[0x9003] = when  # DateTimeOriginal
    return exif


@pytest.fixture
def library_home(tmp_path: Path):
    """A HUISOU_HOME using the fake colour backend and the persistent numpy store."""
    from PIL import Image

    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "fakes.py").write_text(FAKE_PLUGIN)
    (home / "config.toml").write_text(
        f'backend = "fake"\nstore = "numpy"\nbatch_size = 2\nplugins_dir = "{home / "plugins"}"\n'
    )
    photos = tmp_path / "photos"
    (photos / "trip").mkdir(parents=True)
    Image.new("RGB", (64, 48), (230, 20, 20)).save(
        photos / "red.jpg", exif=_exif("Canon", "Canon EOS 40D", "2019:06:01 10:00:00")
    )
    Image.new("RGB", (64, 48), (20, 20, 230)).save(
        photos / "trip" / "blue.jpg", exif=_exif("NIKON", "COOLPIX P1", "2021:03:02 12:00:00")
    )
    Image.new("RGB", (64, 48), (200, 40, 30)).save(photos / "trip" / "reddish.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return home, photos


def huisou(home: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUISOU_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "huisou", *args], env=env, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_index_json_events_and_summary(library_home):
    home, photos = library_home
    result = huisou(home, "index", str(photos), "--json")
    assert result.returncode == 0, result.stderr  # an unreadable photo is counted, not fatal
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "scan_started"
    assert {"scan_finished", "batch_done", "item_failed"} <= {e["event"] for e in events}
    finished = events[-1]
    assert finished["event"] == "finished"
    assert {k: finished[k] for k in ("indexed", "unchanged", "moved", "removed", "failed")} == {
        "indexed": 3,
        "unchanged": 0,
        "moved": 0,
        "removed": 0,
        "failed": 1,
    }
    assert isinstance(finished["seconds"], float)
    failed = next(e for e in events if e["event"] == "item_failed")
    assert failed["path"].endswith("broken.jpg") and failed["reason"]

    again = huisou(home, "index", "--json", check=True)  # no PATH: the remembered sources
    assert json.loads(again.stdout.splitlines()[-1])["unchanged"] == 3


def test_search_json_paths_and_filters(library_home):
    home, photos = library_home
    huisou(home, "index", str(photos), check=True)
    # a four-photo library: the adaptive cutoff has no distribution to judge by (off here)
    off = ("--min-score", "off")
    hits = json.loads(huisou(home, "search", "red", "--json", *off, check=True).stdout)
    assert set(hits[0]) == {
        "path", "score", "confidence", "taken_at", "width", "height", "camera", "gps", "fields"
    }
    # only the built-in OCR plugin's status, when its extra is installed (the dev extra has it)
    assert all(set(hit["fields"]) <= {"ocr_status"} for hit in hits)
    assert all(hit["confidence"] is None for hit in hits)  # too few photos to judge
    assert Path(hits[0]["path"]).name in {"red.jpg", "reddish.png"}
    assert hits[0]["score"] >= hits[-1]["score"]
    red = next(h for h in hits if h["path"].endswith("red.jpg"))
    assert red["camera"] == {"make": "Canon", "model": "Canon EOS 40D"}
    assert red["taken_at"].startswith("2019-06-01")
    assert (red["width"], red["height"]) == (64, 48)

    paths = huisou(home, "search", "red", "--paths", "--top", "2", *off, check=True)
    paths = paths.stdout.split()
    assert len(paths) == 2 and all(Path(p).exists() for p in paths)

    def names(*args: str) -> set[str]:
        out = huisou(home, "search", "red", "--json", *off, *args, check=True).stdout
        return {Path(h["path"]).name for h in json.loads(out)}

    assert names("--folder", str(photos / "trip")) == {"blue.jpg", "reddish.png"}
    assert names("--camera", "nikon") == {"blue.jpg"}
    assert names("--after", "2020-01-01", "--before", "2022-01-01") == {"blue.jpg"}
    out = huisou(home, "search", "red", "--json", "--min-score", "0.99", check=True).stdout
    assert {Path(h["path"]).name for h in json.loads(out)} <= {"red.jpg", "reddish.png"}
    image_hits = json.loads(
        huisou(home, "search", "--image", str(photos / "red.jpg"), "--json", *off,
               check=True).stdout
    )
    assert image_hits[0]["path"].endswith("red.jpg")


def test_sources_list_json(library_home):
    home, photos = library_home
    huisou(home, "index", str(photos), "--exclude", "*.png", check=True)
    sources = json.loads(huisou(home, "sources", "list", "--json", check=True).stdout)
    assert len(sources) == 1
    source = sources[0]
    assert source["type"] == "folder" and source["root"] == str(photos.resolve())
    assert source["options"] == {"exclude": ["*.png"]}
    assert source["counts"] == {"indexed": 2, "unreadable": 1}


def test_exit_codes_and_one_line_errors(library_home, tmp_path):
    home, _ = library_home
    usage = huisou(home, "search")
    assert usage.returncode == 2
    missing = huisou(home, "index", str(tmp_path / "nope"))
    assert missing.returncode == 2  # a bad argument, like `index FILE`
    assert missing.stderr.strip().count("\n") == 0 and "nope" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_date = huisou(home, "search", "red", "--after", "yesterday")
    assert bad_date.returncode == 2 and "yesterday" in bad_date.stderr
    no_sources = huisou(home, "index")
    assert no_sources.returncode == 1 and "huisou index FOLDER" in no_sources.stderr


def test_interrupt_exits_130_and_the_next_run_resumes(library_home):
    from PIL import Image

    home, photos = library_home
    (home / "plugins" / "fakes.py").write_text(SLOW_PLUGIN)
    for i in range(12):
        Image.new("RGB", (32, 32), (i * 20, 0, 0)).save(photos / f"extra{i}.jpg")
    env = {**os.environ, "HUISOU_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "huisou", "index", str(photos), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["event"] == "batch_done":
            break
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume" in err
    time.sleep(0.1)
    (home / "plugins" / "fakes.py").write_text(FAKE_PLUGIN)
    final = json.loads(huisou(home, "index", "--json", check=True).stdout.splitlines()[-1])
    assert final["indexed"] + final["unchanged"] == 15


def test_source_options_from_the_command_line(library_home):
    home, photos = library_home
    (photos / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a photo")
    huisou(home, "index", str(photos), "--option", "all_files=true", check=True)
    sources = json.loads(huisou(home, "sources", "list", "--json", check=True).stdout)
    assert sources[0]["options"] == {"all_files": True}
    clip = json.loads(huisou(home, "info", str(photos / "clip.mp4"), "--json", check=True).stdout)
    assert clip["status"] == "skipped"  # read by content now, and found not to be a photo
    bad = huisou(home, "sources", "add", str(photos), "--option", "colour=red")
    assert bad.returncode == 2 and "unknown option 'colour'" in bad.stderr


def test_a_plain_rerun_keeps_the_source_options(library_home):
    home, photos = library_home
    huisou(home, "index", str(photos), "--exclude", "*.png", check=True)
    huisou(home, "index", str(photos), check=True)  # no flags: options stay
    sources = json.loads(huisou(home, "sources", "list", "--json", check=True).stdout)
    assert sources[0]["options"] == {"exclude": ["*.png"]}
    assert sources[0]["counts"].get("indexed") == 2


def test_option_values_are_read_as_their_declared_type(library_home):
    home, photos = library_home
    bad = huisou(home, "index", str(photos), "--option", "all_files=maybe")
    assert bad.returncode == 2 and "'all_files'" in bad.stderr and "maybe" in bad.stderr
    huisou(home, "index", str(photos), "--option", "all_files=no", check=True)
    sources = json.loads(huisou(home, "sources", "list", "--json", check=True).stdout)
    assert sources[0]["options"] == {"all_files": False}
