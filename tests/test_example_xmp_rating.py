"""examples/huisou-xmp-rating, installed through its entry point (examples/install.sh), on real
camera JPEGs (tests/data: real EXIF, some with XMP packets of their own) into which the test
writes ratings, indexed through the host: each photo gets exactly the rating it carries."""

from __future__ import annotations

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
