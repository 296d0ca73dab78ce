"""huisou-takeout: a Google Photos Takeout export as a media source, with its JSON sidecars.

Sidecar to fields: ``photoTakenTime.timestamp`` (a UTC epoch, so ``+00:00``) is ``taken_at``,
``geoData`` (0,0 means none; then ``geoDataExif``) is ``gps``, ``description`` a full-text field.
Sidecars are ``depends_on`` (an edit re-reads fields without re-embedding), never photos, and
read lazily, when the indexer needs a photo's fields. Names, as observed by ente-io/ente PR 4956,
simulot/immich-go ``googlePhotos/matchers.go`` and issue 841, TheLastGimbus/
GooglePhotosTakeoutHelper PR 449 and ``lib/extras.dart``, andyjohnson0/TakeoutExtractor issue 20:
``IMG_1.JPG.json``; since 2024 ``IMG_1.JPG.supplemental-metadata.json``, the part before ``.json``
clipped to 46 characters (``.supple``, ``.s``) as long names are; ``IMG_1(1).JPG`` has
``IMG_1.JPG(1).json`` (or ``(n)`` in place); edited copies (``-edited``, ``-bearbeitet``...) share
the original's; ``Trash``, ``Bin`` (UK), ``Archive`` and localised names are skipped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, ClassVar

from huisou import hookimpl
from huisou.core.errors import MediaError
from huisou.core.interfaces import MediaItem, MediaSource

PHOTOS = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".gif", ".tif", ".tiff", ".avif")
SKIPPED = {"trash", "bin", "archive", "papierkorb", "archiv", "corbeille", "archives", "papelera",
           "archivo", "cestino", "archivio", "lixeira", "arquivo", "prullenbak", "archief", "kosz",
           "archiwum", "корзина", "архив", "ゴミ箱", "アーカイブ", "回收站", "归档", "垃圾桶", "封存"}
EDITED = ("-edited", "-bearbeitet", "-modifié", "-modificato", "-ha editado", "-editado",
          "-bewerkt", "-edytowane", "-editat", "-編集済み", "-编辑")
SUPPLEMENTAL, CLIP, MAX_SIDECAR = "supplemental-metadata", 46, 1 << 20


def _split(stem: str) -> tuple[str, str]:
    """``IMG_1(2)`` as ``("IMG_1", "(2)")``: Takeout's duplicate counter, kept apart."""
    match = re.fullmatch(r"(.*)(\(\d+\))", stem)
    return (match.group(1), match.group(2)) if match else (stem, "")


def _key(stem: str) -> str:
    """``stem`` without a (clipped) ``.supplemental-metadata`` segment."""
    head, dot, tail = stem.rpartition(".")
    return head if dot and tail and SUPPLEMENTAL.startswith(tail) else stem


def sidecar_index(names: list[str]) -> dict[tuple[str, str], str]:
    """``(key, "(n)") -> sidecar file name`` for the ``.json`` files of one folder (of two
    sidecars with one key, the name that sorts first)."""
    jsons = sorted((n for n in names if n.lower().endswith(".json")), reverse=True)
    return {(_key(stem), n): name for name in jsons for stem, n in [_split(name[:-5])]}


def find_sidecar(photo: str, index: Mapping[tuple[str, str], str]) -> str | None:
    """The name of the sidecar Takeout wrote for the photo file name ``photo``, if any."""
    stem, ext = os.path.splitext(photo)
    base, number = _split(stem)
    original = next((base[: -len(e)] for e in EDITED if base.lower().endswith(e)), base)
    for name, n in ((original + ext, number), (stem + ext, "")):
        for key in (name, _key((name + "." + SUPPLEMENTAL)[:CLIP]), _key(name[:CLIP]),
                    os.path.splitext(name)[0]):
            if (key, n) in index:
                return index[(key, n)]
    return None


def _geo(value: Any) -> tuple[float, float] | None:
    lat, lon = (value.get(k) for k in ("latitude", "longitude")) if isinstance(value, dict) else (
        0, 0)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
           for v in (lat, lon)) and -90 <= lat <= 90 and -180 <= lon <= 180 and (lat or lon):
        return float(lat), float(lon)
    return None


def _taken_at(value: Any) -> str | None:
    try:
        moment = datetime.fromtimestamp(int(value["timestamp"]), timezone.utc)
    except (TypeError, KeyError, ValueError, OverflowError, OSError):
        return None
    return moment.isoformat() if 1800 < moment.year < 2200 and moment.timestamp() else None


@dataclass(eq=False)
class SidecarFields(Mapping[str, Any]):
    """A photo's sidecar fields, read on first use (never during the scan). A bad sidecar
    gives none and one warning naming it; the photo is indexed anyway."""

    path: str

    @cached_property
    def _fields(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as fh:
                data = json.loads(fh.read(MAX_SIDECAR + 1)[:MAX_SIDECAR])
        except (OSError, ValueError, RecursionError) as exc:
            logging.getLogger(__name__).warning("%s: not a readable Takeout sidecar (%s); the "
                                                "photo is indexed without it", self.path, exc)
            return {}
        data, fields = data if isinstance(data, dict) else {}, {}
        if taken_at := _taken_at(data.get("photoTakenTime")):
            fields.update(taken_at=taken_at, taken_at_source="Takeout photoTakenTime")
        if gps := _geo(data.get("geoData")) or _geo(data.get("geoDataExif")):
            fields.update(gps_lat=gps[0], gps_lon=gps[1])
        if isinstance(data.get("description"), str) and data["description"].strip():
            fields["description"] = data["description"].strip()
        return fields

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


class TakeoutSource(MediaSource):
    """The photos of an unpacked Takeout folder (``Takeout/Google Photos`` or one below it)."""

    type_id: ClassVar[str] = "takeout"

    def __init__(self, root: str, **options: Any) -> None:
        super().__init__(os.path.abspath(os.path.expanduser(root)), **options)

    def scan(self, cancel: threading.Event | None = None) -> Iterator[MediaItem]:
        if not os.path.isdir(self.root) or not os.access(self.root, os.R_OK | os.X_OK):
            raise MediaError(f"cannot read {self.root}: missing, unmounted or not permitted")

        def unreadable(exc: OSError) -> None:
            self.warnings.append(f"cannot read {exc.filename}: {exc.strerror or exc}")
            self.unreadable += [os.fspath(exc.filename)] if exc.filename else []

        for folder, dirs, files in os.walk(self.root, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if d.casefold() not in SKIPPED)
            index = sidecar_index(files)
            for name in sorted(n for n in files if n.lower().endswith(PHOTOS)):
                if cancel is not None and cancel.is_set():
                    return
                path, sidecar = os.path.join(folder, name), find_sidecar(name, index)
                try:
                    st = os.stat(path)
                except OSError as exc:
                    unreadable(exc)
                    continue
                side = (os.path.join(folder, sidecar),) if sidecar else ()
                yield MediaItem(path, st.st_size, st.st_mtime_ns, depends_on=side,
                                fields=SidecarFields(side[0]) if side else None)

    def explain_exclusion(self, path: str) -> str | None:
        if not self.contains(path):
            return f"not under {self.root}"
        folders = os.path.relpath(path, self.root).split(os.sep)[:-1]
        if skipped := [f for f in folders if f.casefold() in SKIPPED]:
            return f"in Takeout's {skipped[0]!r} folder (trash or archive)"
        if path.lower().endswith(".json"):
            return "a Takeout sidecar (a photo's metadata), not a photo"
        return None if path.lower().endswith(PHOTOS) else "not a photo extension"


@hookimpl
def register_fields(register: Any) -> None:
    register("description", "text", "The caption typed in Google Photos (Takeout sidecar)",
             fulltext=True)


@hookimpl
def register_media_sources(register: Any) -> None:
    register(TakeoutSource)
