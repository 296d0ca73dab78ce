"""EXIF extraction against the MANIFEST's measured facts, and its never-raise contract."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from huisou.core.interfaces import MediaItem
from huisou.plugins.media_sources import exif as exif_mod
from huisou.plugins.media_sources.exif import (
    ExifExtractor,
    clean_text,
    dms_to_degrees,
    parse_exif_date,
)
from huisou.testing import MetadataExtractorContract

DATA = Path(__file__).parent / "data"
ODD = DATA / "odd_broken"
CAMERA = DATA / "exif_camera"
MTIME_NS = 1_600_000_000_000_000_000


def extract(path: Path) -> dict:
    item = MediaItem(str(path), path.stat().st_size, MTIME_NS)
    return dict(ExifExtractor().extract(item, io.BytesIO(path.read_bytes())))


class TestExifExtractorContract(MetadataExtractorContract):
    reads_exif = True

    @pytest.fixture
    def extractor(self):
        return ExifExtractor()


def test_gps_south_latitude_is_negative():
    meta = extract(CAMERA / "Kodak_CX7530.jpg")
    assert meta["gps_lat"] == pytest.approx(-0.37130, abs=1e-4)
    assert meta["gps_lon"] == pytest.approx(36.05642, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "lat", "lon"),
    [
        ("67-0_length_string.jpg", 51.02500, 7.59194),
        ("87_OSError.jpg", 43.78559, 11.23462),
        ("IMG_5195.HEIC", 39.05134, -94.28877),
        ("HMD_Nokia_8.3_5G_hdr.heif", 40.66299, -3.76374),
    ],
)
def test_gps_values_from_the_manifest(name, lat, lon):
    meta = extract(CAMERA / name)
    assert meta["gps_lat"] == pytest.approx(lat, abs=1e-4)
    assert meta["gps_lon"] == pytest.approx(lon, abs=1e-4)


@pytest.mark.parametrize(
    "path",
    [CAMERA / "Canon_40D.jpg", CAMERA / "canon_hdr_NO.jpg", CAMERA / "32-lens_data.jpeg",
     ODD / "empty_gps_ifd.jpg", ODD / "exif_gps.jpg", ODD / "exif_gps_typeerror.jpg"],
    ids=lambda p: p.name,
)
def test_gps_absent_stays_absent(path):
    meta = extract(path)
    assert "gps_lat" not in meta and "gps_lon" not in meta


@pytest.mark.parametrize(
    ("name", "make", "model"),
    [
        ("Fujifilm_FinePix_E500.jpg", "FUJIFILM", "FinePix E500"),
        ("Pentax_K10D.jpg", "PENTAX Corporation", "PENTAX K10D"),
        ("WWL_Polaroid_ION230.jpg", "WWL", "ION230"),  # cut at the NUL
        ("Ricoh_Caplio_RR330.jpg", "Caplio", "RR330"),
        ("Konica_Minolta_DiMAGE_Z3.jpg", "KONICA MINOLTA", "DiMAGE Z3"),
        ("Samsung_Digimax_i50_MP3.jpg", "Samsung Techwin", "<Digimax i50 MP3, Samsung #1 MP3>"),
        ("Canon_40D.jpg", "Canon", "Canon EOS 40D"),
        ("33-type_error.jpg", "Canon", "Canon PowerShot G9"),
    ],
)
def test_camera_strings_are_stripped(name, make, model):
    meta = extract(CAMERA / name)
    assert (meta["camera_make"], meta["camera_model"]) == (make, model)


@pytest.mark.parametrize(
    "name", ["Canon_40D_photoshop_import.jpg", "Reconyx_HC500_Hyperfire.jpg", "30-type_error.jpg",
             "long_description.jpg", "HMD_Nokia_8.3_5G_hdr.heif"],
)
def test_missing_camera_fields_are_absent(name):
    meta = extract(CAMERA / name)
    assert "camera_make" not in meta and "camera_model" not in meta


def test_taken_at_and_its_source():
    meta = extract(CAMERA / "Canon_40D.jpg")
    assert (meta["taken_at"], meta["taken_at_source"]) == ("2008-05-30T15:56:01", "DateTimeOriginal")
    # the Exif sub-IFD cannot be followed: IFD0 DateTime is the fallback
    meta = extract(CAMERA / "30-type_error.jpg")
    assert (meta["taken_at"], meta["taken_at_source"]) == ("2013-07-07T17:20:59", "DateTime")
    # implausible camera clocks are kept as they are
    assert extract(CAMERA / "WWL_Polaroid_ION230.jpg")["taken_at"] == "2026-11-24T14:41:16"
    assert extract(ODD / "exif_gps.jpg")["taken_at"] == "2099-09-29T10:10:10"
    # no EXIF date at all: no date from EXIF (core falls back to the file's time only when no
    # other plugin gave one: tests/test_fields_indexing.py)
    meta = extract(CAMERA / "Portrait_1.jpg")
    assert "taken_at" not in meta and "taken_at_source" not in meta


@pytest.mark.parametrize(
    ("name", "orientation"),
    [("Portrait_0.jpg", 1), ("Portrait_1.jpg", 1), ("Portrait_3.jpg", 3), ("Portrait_6.jpg", 6),
     ("canon_hdr_NO.jpg", 6), ("Ricoh_Caplio_RR330.jpg", 1)],
)
def test_orientation_zero_or_missing_is_one(name, orientation):
    assert extract(CAMERA / name)["orientation"] == orientation


@pytest.mark.parametrize("name", sorted(p.name for p in ODD.iterdir()))
def test_extract_never_raises_on_odd_and_broken_files(name):
    meta = extract(ODD / name)
    assert meta["orientation"] in range(1, 9)
    assert ("taken_at" in meta) == ("taken_at_source" in meta)
    assert ("gps_lat" in meta) == ("gps_lon" in meta)


def test_parser_failures_cost_only_their_fields(monkeypatch):
    import exifread

    def boom(*_args, **_kwargs):
        raise UnicodeDecodeError("utf-8", b"", 0, 1, "broken")

    monkeypatch.setattr(exifread, "process_file", boom)
    meta = extract(CAMERA / "Kodak_CX7530.jpg")  # Pillow fallback still reads everything
    assert meta["gps_lat"] == pytest.approx(-0.3713, abs=1e-4)
    assert meta["camera_model"] == "KODAK CX7530 ZOOM DIGITAL CAMERA"
    assert meta["taken_at_source"] == "DateTimeOriginal"

    class Broken:
        def __init__(self, _fp):
            raise EOFError("no")

    monkeypatch.setattr(exif_mod, "_PillowTags", Broken)
    meta = extract(CAMERA / "Kodak_CX7530.jpg")
    assert meta == {"orientation": 1}


def test_pillow_reads_what_exifread_cannot():
    # exifread finds no EXIF in AVIF; Pillow reports the irot/imir transform as orientation 5
    assert extract(ODD / "rot1mir0.avif")["orientation"] == 5


def test_png_exif_chunk_via_pillow_without_decoding(monkeypatch, tmp_path):
    import exifread
    from PIL import Image, ImageFile

    exif = Image.Exif()
    exif[0x010F] = "Google"
    exif[0x0110] = "Pixel 8\x00junk"
    path = tmp_path / "screenshot.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path, exif=exif)
    monkeypatch.setattr(exifread, "process_file", lambda *_a, **_k: {})
    loads = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(1) or real_load(self))
    meta = extract(path)
    assert (meta["camera_make"], meta["camera_model"]) == ("Google", "Pixel 8")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(plain)
    assert "camera_make" not in extract(plain)
    assert loads == []  # no pixels decoded for metadata (getexif() would decode a plain PNG)


def test_helpers():
    assert parse_exif_date("2008:05:30 15:56:01") == "2008-05-30T15:56:01"
    assert parse_exif_date("0000:00:00 00:00:00") is None
    assert parse_exif_date("    :  :     :  :  ") is None
    assert parse_exif_date(b"2020:02:30 10:00:00") is None  # no such day
    assert clean_text("ION230\x00F") == "ION230"
    assert clean_text("   ") is None
    assert clean_text("PENTAX K10D        ") == "PENTAX K10D"
    assert dms_to_degrees([0, 22.278, 0], "S") == pytest.approx(-0.3713)
    assert dms_to_degrees([10, 0, 0], None) is None  # no reference: not guessed
    assert dms_to_degrees([10, 0, 0], "X") is None


def test_taken_at_carries_the_utc_offset_the_camera_wrote():
    # an iPhone HEIC with OffsetTimeOriginal -05:00
    meta = extract(CAMERA / "IMG_5195.HEIC")
    assert meta["taken_at"].endswith("-05:00") and meta["taken_at_source"] == "DateTimeOriginal"
    # cameras without the tag keep the wall-clock time only
    assert extract(CAMERA / "Canon_40D.jpg")["taken_at"] == "2008-05-30T15:56:01"


@pytest.mark.parametrize(
    ("offset", "expected"),
    [("+08:00", "2023-03-05T14:30:00+08:00"), ("-03:30", "2023-03-05T14:30:00-03:30"),
     (b"+05:45\x00", "2023-03-05T14:30:00+05:45"), ("   ", "2023-03-05T14:30:00"),
     ("+99:00", "2023-03-05T14:30:00"), ("+08:75", "2023-03-05T14:30:00"),
     ("08:00", "2023-03-05T14:30:00"), (None, "2023-03-05T14:30:00"), (7, "2023-03-05T14:30:00")],
)
def test_offsets_are_checked(offset, expected):
    assert exif_mod.with_offset("2023-03-05T14:30:00", offset) == expected
