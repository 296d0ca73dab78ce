"""examples/huisou-takeout, installed through its entry point (examples/install.sh), driven by
the real CLI: ``huisou index ROOT --source takeout`` stores the sidecars' dates, places and
captions (over a real camera JPEG's EXIF date), skips the trash, reads an edited sidecar again
without embedding anything, and names a broken sidecar in one line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from huisou.testing import PhotoSpec, make_jpeg

DATA = Path(__file__).parent / "data"
FAKES = "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"


@pytest.fixture
def run_cli(run_cli, huisou_home):
    """``huisou ARGS`` in this process with the fake backend: (exit code, stdout, stderr)."""
    (huisou_home / "plugins").mkdir()
    (huisou_home / "plugins" / "fakes.py").write_text(FAKES)
    (huisou_home / "config.toml").write_text(
        'backend = "fake"\nstore = "numpy"\nplugins_dir = "plugins"\ndb = "lib.db"\n')
    return run_cli


def shown(run_cli, path: Path) -> dict[str, object]:
    """What ``huisou info PATH --json`` says a photo knows: date, its source, GPS, fields."""
    code, out, err = run_cli("info", str(path), "--json")
    assert code == 0, err
    data = json.loads(out)
    gps = data["gps"] and (data["gps"]["lat"], data["gps"]["lon"])
    return {"taken_at": data["metadata"]["taken_at"], "gps": gps,
            "taken_at_source": data["metadata"]["taken_at_source"], **data["fields"]}


def finished(out: str) -> dict[str, object]:
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return next(e for e in reversed(events) if e["event"] == "finished")


def test_huisou_index_reads_takeout_sidecars_and_rereads_an_edited_one(run_cli, tmp_path,
                                                                      caplog):
    root = tmp_path / "Takeout" / "Google Photos"
    year = root / "Photos from 2008"
    year.mkdir(parents=True)
    shutil.copy(DATA / "exif_camera" / "Canon_40D.jpg", year / "IMG_0001.JPG")  # real EXIF
    side = year / "IMG_0001.JPG.supplemental-metadata.json"
    side.write_text(json.dumps({
        "title": "IMG_0001.JPG", "description": "长城上的日出",
        "photoTakenTime": {"timestamp": "1212300000", "formatted": "Jun 1, 2008, 6:00:00 AM UTC"},
        "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
        "geoDataExif": {"latitude": 40.4319, "longitude": 116.5704, "altitude": 0.0}}))
    make_jpeg(year / "IMG_0002(1).JPG", PhotoSpec("x", (30, 30, 200), "blue"))
    (year / "IMG_0002.JPG(1).json").write_text(json.dumps({"description": "a blue wall"}))
    make_jpeg(root / "Trash" / "IMG_0003.JPG", PhotoSpec("y", (200, 30, 30), "red"))
    (root / "Trash" / "IMG_0003.JPG.json").write_text(json.dumps({"description": "deleted"}))

    code, out, err = run_cli("index", str(root), "--source", "takeout", "--json")
    assert code == 0, err
    assert finished(out)["indexed"] == 2  # two photos; no sidecar, no trash
    first = shown(run_cli, year / "IMG_0001.JPG")
    # the sidecar (source priority 100) beats the camera's EXIF date (2008:05:30 15:56:01)
    assert first["taken_at"] == "2008-06-01T06:00:00+00:00"
    assert first["taken_at_source"] == "Takeout photoTakenTime"
    assert first["gps"] == (40.4319, 116.5704) and first["description"] == "长城上的日出"
    assert shown(run_cli, year / "IMG_0002(1).JPG")["description"] == "a blue wall"
    code, out, _ = run_cli("info", str(root / "Trash" / "IMG_0003.JPG"), "--json")
    assert json.loads(out)["status"] != "indexed"
    # the caption is full text: the text signal finds it, and --where filters on it
    code, out, err = run_cli("search", "长城", "--json")
    assert code == 0 and Path(json.loads(out)[0]["path"]).name == "IMG_0001.JPG", err
    code, out, err = run_cli("search", "photo", "--where", "description ~ 长城", "--json")
    assert [Path(hit["path"]).name for hit in json.loads(out)] == ["IMG_0001.JPG"], err

    side.write_text(json.dumps({"description": "日落", "photoTakenTime": {"timestamp": "0"}}))
    os.utime(side, ns=(1, 1))
    code, out, err = run_cli("index", str(root), "--source", "takeout", "--json")
    assert code == 0, err
    assert finished(out)["indexed"] == 0  # fields read again, nothing embedded again
    first = shown(run_cli, year / "IMG_0001.JPG")
    assert first["description"] == "日落" and first["gps"] is None
    assert first["taken_at_source"] == "DateTimeOriginal"  # timestamp 0 is no date: EXIF's again

    side.write_text("{broken")
    os.utime(side, ns=(2, 2))
    with caplog.at_level("WARNING"):  # outside pytest, Python prints it on stderr
        code, out, err = run_cli("index", str(root), "--source", "takeout")
    assert code == 0, err
    lines = [r.getMessage() for r in caplog.records if str(side) in r.getMessage()]
    assert len(lines) == 1 and "not a readable Takeout sidecar" in lines[0], lines


def test_a_removed_or_broken_sidecar_takes_its_fields_away(run_cli, tmp_path):
    year = tmp_path / "Takeout" / "Photos from 2020"
    make_jpeg(year / "a.jpg", PhotoSpec("a", (200, 30, 30), "red"))
    make_jpeg(year / "b.jpg", PhotoSpec("b", (30, 200, 30), "green"))
    for name in ("a", "b"):
        (year / f"{name}.jpg.json").write_text(json.dumps({"description": f"caption {name}"}))
    assert run_cli("index", str(year), "--source", "takeout")[0] == 0
    assert shown(run_cli, year / "a.jpg")["description"] == "caption a"
    (year / "a.jpg.json").unlink()
    (year / "b.jpg.json").write_text("{broken")
    assert run_cli("index", str(year), "--source", "takeout")[0] == 0
    for name in ("a.jpg", "b.jpg"):
        assert "description" not in shown(run_cli, year / name), name


def test_info_names_the_exclude_the_host_applied(run_cli, tmp_path):
    """The takeout source does not know ``exclude``; the host applies it, and ``huisou info``
    says so instead of "not indexed yet"."""
    year = tmp_path / "Takeout" / "Photos from 2020"
    make_jpeg(year / "keep.jpg", PhotoSpec("keep", (200, 30, 30), "red"))
    make_jpeg(year / "skip-me.jpg", PhotoSpec("skip", (30, 30, 200), "blue"))
    code, _out, err = run_cli("index", str(tmp_path / "Takeout"), "--source", "takeout",
                              "--exclude", "skip*")
    assert code == 0, err
    code, out, err = run_cli("info", str(year / "skip-me.jpg"), "--json")
    data = json.loads(out)
    assert data["status"] == "excluded" and data["reason"] == "exclude glob 'skip*'"
    assert shown(run_cli, year / "keep.jpg")["taken_at"]
