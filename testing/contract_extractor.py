"""``MetadataExtractorContract``: the clauses of :class:`~huisou.core.interfaces.MetadataExtractor`.

Subclass it and provide an ``extractor`` fixture returning the instance your plugin registers.
Set ``reads_exif = True`` if the extractor is expected to read the EXIF fields the generated
photos carry (DateTimeOriginal, Make/Model, GPS); the placeholder and garbage checks apply to
every extractor.

Every key returned must be a built-in key or a field declared with ``register_fields``, with a
value of its declared type: register your plugin on ``huisou_host`` (``register_plugin``) in the
``extractor`` fixture so the suite sees the declarations, and give it photos on which your
extractor has something to say through the ``samples`` fixture (paths; default: the generated
``photo_folder``).
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from huisou.core.fields import Field
from huisou.core.interfaces import DecodedImage, MediaItem, MetadataExtractor
from huisou.testing.field_checks import field_problems
from huisou.testing.photos import DEFAULT_PHOTOS, PhotoSpec, make_jpeg

_STRING_KEYS = ("taken_at", "taken_at_source", "camera_make", "camera_model", "format")
_INT_KEYS = ("orientation", "width", "height")


def _item(path: str, data: bytes) -> MediaItem:
    return MediaItem(path=path, size=len(data), mtime_ns=1_700_000_000_000_000_000)


def garbage_inputs() -> dict[str, bytes]:
    """Inputs an extractor must survive: empty, random, truncated, lying headers."""
    header = bytes.fromhex("ffd8ffe1")  # JPEG SOI + APP1 (EXIF) marker
    return {
        "empty.jpg": b"",
        "random.jpg": os.urandom(4096),
        "text.jpg": b"this is not a photo\n" * 50,
        "jpeg-header-only.jpg": header,
        "bad-app1-length.jpg": header + b"\xff\xff" + b"Exif\x00\x00MM\x00*" + b"\x00" * 20,
        "bad-ifd-offset.jpg": header + b"\x00\x40Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\x00" * 50,
        "png-header.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,
        "heic-header.heic": b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40,
    }


class MetadataExtractorContract:
    """Contract tests for a metadata extractor; the subclass provides ``extractor``."""

    #: Whether the extractor must find the generated photos' EXIF fields.
    reads_exif = False

    @pytest.fixture
    def extractor(self) -> MetadataExtractor:
        raise NotImplementedError("provide an 'extractor' fixture returning a MetadataExtractor")

    def _extract(self, extractor: MetadataExtractor, path: str, data: bytes) -> dict[str, Any]:
        result = extractor.extract(_item(path, data), io.BytesIO(data))
        assert result is None or isinstance(result, dict), f"returned {type(result).__name__}"
        result = dict(result or {})
        self._check_values(result, path)
        return result

    def _check_values(self, result: dict[str, Any], where: str) -> None:
        for key in _STRING_KEYS:
            if key in result:
                value = result[key]
                assert isinstance(value, str) and value.strip(), f"{where}: {key}={value!r}"
        for key in _INT_KEYS:
            if key in result:
                assert isinstance(result[key], int) and result[key] > 0, f"{where}: {key}"
        if "orientation" in result:
            assert 1 <= result["orientation"] <= 8, f"{where}: orientation {result['orientation']}"
        if "taken_at" in result:
            datetime.fromisoformat(result["taken_at"])  # raises if not ISO 8601
        assert ("gps_lat" in result) == ("gps_lon" in result), f"{where}: half a GPS position"
        if "gps_lat" in result:
            lat, lon = result["gps_lat"], result["gps_lon"]
            assert isinstance(lat, float) and isinstance(lon, float), f"{where}: GPS not floats"
            assert -90 <= lat <= 90 and -180 <= lon <= 180, f"{where}: GPS {lat}, {lon}"
            assert (lat, lon) != (0.0, 0.0), f"{where}: placeholder GPS 0,0"

    @pytest.fixture
    def declared_fields(self, huisou_host: Any) -> dict[str, Field]:
        """The fields declared on ``huisou_host`` (built-ins and registered plugins)."""
        return huisou_host.fields()

    @pytest.fixture
    def samples(self, photo_folder: Any) -> list[Any]:
        """Paths of photos to extract from; override with photos your extractor reads."""
        return photo_folder.paths()

    def test_returns_only_declared_fields_of_their_type(
        self, extractor: MetadataExtractor, declared_fields: dict[str, Field], samples: list[Any]
    ) -> None:
        inputs = [(str(p), Path(p).read_bytes()) for p in samples]
        inputs += [(f"/garbage/{name}", data) for name, data in garbage_inputs().items()]
        problems = []
        for path, data in inputs:
            values = self._extract(extractor, path, data)
            problems += field_problems(values, declared_fields, f"{type(extractor).name} on {path}")
        assert not problems, "\n".join(problems)

    def test_image_values_are_declared_fields_of_their_type(
        self, extractor: MetadataExtractor, declared_fields: dict[str, Field], samples: list[Any]
    ) -> None:
        if extractor.image_size <= 0:
            pytest.skip("image_size = 0: this extractor reads bytes only")
        from PIL import Image, ImageOps

        problems = []
        for path in samples:
            with Image.open(path) as image:
                oriented = ImageOps.exif_transpose(image).convert("RGB")
            oriented.thumbnail((extractor.image_size * 2, extractor.image_size * 2))
            decoded = DecodedImage(oriented, *oriented.size, "JPEG")
            item = _item(str(path), Path(path).read_bytes())
            values = extractor.extract_image(item, decoded, None)
            assert values is None or isinstance(values, dict), f"returned {type(values).__name__}"
            problems += field_problems(dict(values or {}), declared_fields,
                                       f"{type(extractor).name} on the pixels of {path}")
        assert not problems, "\n".join(problems)

    def test_is_a_metadata_extractor(self, extractor: MetadataExtractor) -> None:
        assert isinstance(extractor, MetadataExtractor)
        assert isinstance(type(extractor).name, str) and type(extractor).name

    @pytest.mark.parametrize("name", sorted(garbage_inputs()))
    def test_never_raises_on_garbage(self, extractor: MetadataExtractor, name: str) -> None:
        self._extract(extractor, f"/garbage/{name}", garbage_inputs()[name])

    def test_truncated_photo_does_not_raise(self, extractor: MetadataExtractor, tmp_path: Any) -> None:
        data = make_jpeg(tmp_path / "full.jpg", DEFAULT_PHOTOS[0]).read_bytes()
        for cut in (len(data) // 2, 64, 30, 12):
            self._extract(extractor, f"/truncated/{cut}.jpg", data[:cut])

    def test_values_are_well_formed_on_real_photos(
        self, extractor: MetadataExtractor, photo_folder: Any
    ) -> None:
        for path in photo_folder.paths():
            self._extract(extractor, str(path), path.read_bytes())

    def test_drops_placeholders(self, extractor: MetadataExtractor, tmp_path: Any) -> None:
        spec = PhotoSpec("placeholder.jpg", (90, 90, 90), "grey", make="", model="  ",
                         gps=(0.0, 0.0), taken_at="0000:00:00 00:00:00")
        path = make_jpeg(tmp_path / spec.relpath, spec)
        result = self._extract(extractor, str(path), path.read_bytes())
        assert "gps_lat" not in result and "gps_lon" not in result, result
        assert "camera_make" not in result and "camera_model" not in result, result
        assert "taken_at" not in result or not result["taken_at"].startswith("0000"), result

    def test_is_thread_safe(self, extractor: MetadataExtractor, photo_folder: Any) -> None:
        blobs = [(str(p), p.read_bytes()) for p in photo_folder.paths()] * 4
        serial = [self._extract(extractor, path, data) for path, data in blobs]
        with ThreadPoolExecutor(4) as pool:
            parallel = list(pool.map(lambda pd: self._extract(extractor, *pd), blobs))
        assert parallel == serial

    def test_reads_exif_fields(self, extractor: MetadataExtractor, photo_folder: Any) -> None:
        if not self.reads_exif:
            pytest.skip("reads_exif = False: this extractor does not claim to read EXIF")
        for spec, path in zip(photo_folder.photos, photo_folder.paths(), strict=True):
            result = self._extract(extractor, str(path), path.read_bytes())
            if spec.taken_at:
                assert result.get("taken_at", "").startswith(spec.taken_at_iso), (spec, result)
            if spec.make:
                assert result.get("camera_make") == spec.make, (spec, result)
                assert result.get("camera_model") == spec.model, (spec, result)
            else:
                assert "camera_make" not in result, (spec, result)
            if spec.gps:
                assert result.get("gps_lat") == pytest.approx(spec.gps[0], abs=1e-4), (spec, result)
                assert result.get("gps_lon") == pytest.approx(spec.gps[1], abs=1e-4), (spec, result)
            else:
                assert "gps_lat" not in result, (spec, result)
