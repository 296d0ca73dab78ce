"""examples/huisou-xmp-rating, installed through its entry point (examples/install.sh), on real
camera JPEGs (tests/data: real EXIF, some with XMP packets of their own) into which the test
writes ratings, indexed through the host: each photo gets exactly the rating it carries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import huisou.testing.fakes as fakes
import pytest
from huisou.core import field_store
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.library import Library
from huisou.core.plugins import PluginHost
from huisou.testing import insert_xmp, xmp_packet

DATA = Path(__file__).parent / "data"
#: Real camera files and the rating the test writes into each (None: no packet written).
WRITTEN = {
    "Canon_40D.jpg": (5, False),
    "Canon_40D_photoshop_import.jpg": (4, True),  # already has Photoshop's XMP after EXIF
    "Fujifilm_FinePix_E500.jpg": (3, False),
    "Nikon_COOLPIX_P1.jpg": (2, True),
    "Pentax_K10D.jpg": (0, False),  # its own packet has no rating; ours comes first
    "Kodak_CX7530.jpg": None,
}
#: Untouched files whose own XMP says xmp:Rating 0 (element form), or has no rating.
UNTOUCHED = {"canon_hdr_NO.jpg": 0, "32-lens_data.jpeg": None}


@pytest.fixture
def library(tmp_path):
    host = PluginHost(load_entry_points=True)
    if "xmp-rating" not in {e.name for e in host.metadata_extractors()}:
        pytest.fail("huisou-xmp-rating is not installed: run examples/install.sh")
    host.register(fakes, name="fakes")
    lib = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory"), host)
    yield lib
    lib.close()


def test_real_camera_jpegs_get_the_rating_they_carry(library, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, written in WRITTEN.items():
        data = (DATA / "exif_camera" / name).read_bytes()
        if written is not None:
            data = insert_xmp(data, xmp_packet(element=written[1], Rating=written[0]))
        (photos / name).write_bytes(data)
    for name in UNTOUCHED:
        shutil.copy(DATA / "exif_camera" / name, photos / name)
    source_id = library.catalog.add_source("folder", str(photos), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    summary = list(Indexer(library, [(record, library.source_for(record))]).run())[-1]
    assert summary.indexed == len(WRITTEN) + len(UNTOUCHED), summary
    conn = library.catalog.conn
    rows = {Path(p).name: (i, make) for p, i, make in
            conn.execute("SELECT path, id, camera_make FROM items")}
    values = field_store.values_of(conn, [i for i, _ in rows.values()], library.host.fields())
    got = {name: values.get(i, {}).get("rating") for name, (i, _) in rows.items()}
    expected = {name: (w[0] if w else None) for name, w in WRITTEN.items()} | UNTOUCHED
    assert got == expected
    # the packet written in front of the EXIF segment does not hide the camera's EXIF
    assert rows["Canon_40D.jpg"][1] == "Canon" and rows["Pentax_K10D.jpg"][1] == "PENTAX Corporation"
    assert not [p for p in library.host.problems if p.plugin == "xmp-rating"]


def red_circle(path: Path, size: int, offset: int) -> Path:
    """A red circle on white, drawn at its own size and place (no two files alike)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 96), (250, 250, 250))
    ImageDraw.Draw(image).ellipse((offset, offset, offset + size, offset + size),
                                  fill=(220, 20, 20))
    image.save(path, "JPEG", quality=92)
    return path


@pytest.fixture
def run_cli(run_cli, huisou_home):
    """``huisou ARGS`` in this process, the installed plugins loaded, the fake backend."""
    (huisou_home / "plugins").mkdir()
    (huisou_home / "plugins" / "fakes.py").write_text(
        "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n")
    (huisou_home / "config.toml").write_text(
        'backend = "fake"\nstore = "numpy"\nplugins_dir = "plugins"\n')
    return run_cli


def test_search_red_circle_where_rating_returns_exactly_the_rated_photos(run_cli, tmp_path):
    """Issue 13's acceptance: ``huisou search "red circle" --where "rating >= 3" --json``."""
    photos = tmp_path / "photos"
    photos.mkdir()
    stars = {"circle-5.jpg": 5, "circle-4.jpg": 4, "circle-3.jpg": 3, "circle-2.jpg": 2,
             "circle-0.jpg": 0, "circle-unrated.jpg": None, "circle-rejected.jpg": -1}
    for i, (name, rating) in enumerate(sorted(stars.items())):
        path = red_circle(photos / name, 40 + 4 * i, 5 + 3 * i)
        if rating is not None:  # attribute and element forms alternate
            path.write_bytes(insert_xmp(path.read_bytes(), xmp_packet(element=i % 2 == 1,
                                                                      Rating=rating)))
    for name, rating in (("Canon_40D.jpg", 3), ("Fujifilm_FinePix_E500.jpg", 1)):
        data = (DATA / "exif_camera" / name).read_bytes()
        (photos / name).write_bytes(insert_xmp(data, xmp_packet(Rating=rating)))
    code, _out, err = run_cli("index", str(photos))
    assert code == 0, err

    code, out, err = run_cli("search", "red circle", "--where", "rating >= 3", "--json")
    assert code == 0, err
    hits = [(Path(hit["path"]).name, hit["fields"]["rating"]) for hit in json.loads(out)]
    assert dict(hits) == {"circle-5.jpg": 5, "circle-4.jpg": 4, "circle-3.jpg": 3,
                          "Canon_40D.jpg": 3}
    code, out, err = run_cli("search", "red circle", "--where", "rating = 0", "--json")
    assert code == 0, err
    assert {Path(hit["path"]).name for hit in json.loads(out)} == {"circle-0.jpg"}
    code, out, err = run_cli("fields", "--json")
    assert code == 0, err
    rating = next(row for row in json.loads(out) if row["name"] == "rating")
    assert (rating["type"], rating["owner"], rating["photos"]) == ("int", "xmp-rating", 7)
