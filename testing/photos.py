"""Small JPEGs with real EXIF, generated at test time so no binary fixture is committed.

Plugin authors get the same folder through the ``photo_folder`` fixture; each photo's
:class:`PhotoSpec` says what a correct source, decoder or metadata extractor must find in it.
The colours match :mod:`huisou.testing.fakes`' colour words, so the fake backend finds "red"
photos without any model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: EXIF tag numbers used here (Pillow has them as ``ExifTags.Base``/``GPS`` too).
TAG_MAKE, TAG_MODEL, TAG_ORIENTATION, TAG_DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
IFD_EXIF, IFD_GPS = 0x8769, 0x8825
TAG_DATETIME_ORIGINAL = 0x9003


@dataclass(frozen=True)
class PhotoSpec:
    """What one generated photo holds. ``None`` means the EXIF field is absent.

    ``taken_at`` uses the EXIF form ``YYYY:MM:DD HH:MM:SS``; :attr:`taken_at_iso` is what an
    extractor is expected to return.
    """

    relpath: str
    colour: tuple[int, int, int]
    colour_name: str
    size: tuple[int, int] = (64, 48)
    taken_at: str | None = None
    make: str | None = None
    model: str | None = None
    gps: tuple[float, float] | None = None
    orientation: int | None = None
    #: An XMP packet (the XML) written into an APP1 segment, e.g. ``xmp_packet(Rating=4)``.
    xmp: bytes | None = None

    @property
    def taken_at_iso(self) -> str | None:
        if self.taken_at is None:
            return None
        date, _, time = self.taken_at.partition(" ")
        return date.replace(":", "-") + "T" + time


#: The default ``photo_folder``: nested folders, EXIF variants, and one photo without EXIF.
DEFAULT_PHOTOS: tuple[PhotoSpec, ...] = (
    PhotoSpec("red.jpg", (220, 20, 20), "red", taken_at="2023:07:14 18:30:00",
              make="Canon", model="Canon EOS 5D", gps=(52.52, 13.405)),
    PhotoSpec("green.jpg", (20, 160, 20), "green", taken_at="2022:01:02 09:15:30",
              make="Google", model="Pixel 7"),
    PhotoSpec("blue.jpg", (20, 20, 220), "blue", gps=(-33.8688, 151.2093)),
    PhotoSpec("2024/yellow.jpg", (230, 230, 20), "yellow", taken_at="2024:02:29 23:59:59",
              make="Apple", model="iPhone 15", gps=(31.2304, 121.4737)),
    PhotoSpec("2024/trip/white.jpg", (245, 245, 245), "white", taken_at="2024:08:01 06:00:00",
              make="FUJIFILM", model="X100V", orientation=6, size=(48, 64)),
    PhotoSpec("no-exif-black.jpg", (10, 10, 10), "black"),
)


def _rational_dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = round((minutes_full - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def exif_bytes(
    *,
    taken_at: str | None = None,
    make: str | None = None,
    model: str | None = None,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
) -> bytes:
    """EXIF block built with Pillow's ``Image.Exif`` (DateTimeOriginal, Make/Model, GPS).

    Empty strings and GPS ``(0, 0)`` are written as given, so tests can check that extractors
    drop such placeholders.
    """
    from PIL import Image

    exif = Image.Exif()
    if make is not None:
        exif[TAG_MAKE] = make
    if model is not None:
        exif[TAG_MODEL] = model
    if orientation is not None:
        exif[TAG_ORIENTATION] = orientation
    if taken_at is not None:
        exif[TAG_DATETIME] = taken_at
        exif.get_ifd(IFD_EXIF)[TAG_DATETIME_ORIGINAL] = taken_at
    if gps is not None:
        lat, lon = gps
        gps_ifd = exif.get_ifd(IFD_GPS)
        gps_ifd[1] = "N" if lat >= 0 else "S"
        gps_ifd[2] = _rational_dms(lat)
        gps_ifd[3] = "E" if lon >= 0 else "W"
        gps_ifd[4] = _rational_dms(lon)
    return exif.tobytes()


def make_jpeg(path: str | os.PathLike[str], spec: PhotoSpec | None = None, **fields: object) -> Path:
    """Write one JPEG for ``spec`` (or for ``PhotoSpec`` keyword fields) and return its path.

    The image is a solid colour with a small darker square, so it is not trivially compressible
    and decoders see real pixels.
    """
    from PIL import Image, ImageDraw

    if spec is None:
        fields.setdefault("relpath", Path(path).name)
        fields.setdefault("colour", (128, 128, 128))
        fields.setdefault("colour_name", "grey")
        spec = PhotoSpec(**fields)  # type: ignore[arg-type]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", spec.size, spec.colour)
    draw = ImageDraw.Draw(image)
    w, h = spec.size
    draw.rectangle((w // 3, h // 3, w // 3 + 4, h // 3 + 4), fill=tuple(c // 2 for c in spec.colour))
    exif = exif_bytes(
        taken_at=spec.taken_at,
        make=spec.make,
        model=spec.model,
        gps=spec.gps,
        orientation=spec.orientation,
    )
    has_exif = any(v is not None for v in (spec.taken_at, spec.make, spec.model, spec.gps,
                                            spec.orientation))
    image.save(target, "JPEG", quality=90, **({"exif": exif} if has_exif else {}))
    if spec.xmp is not None:
        target.write_bytes(insert_xmp(target.read_bytes(), spec.xmp))
    return target


XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"


def insert_xmp(jpeg: bytes, packet: bytes) -> bytes:
    """``jpeg`` with ``packet`` in an XMP APP1 segment right after SOI (any other XMP segment
    is kept, so a test can also build files with two). Works on any JPEG, camera files too."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG (no SOI marker)")
    payload = XMP_SIGNATURE + packet
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"XMP packet of {len(packet)} bytes does not fit one APP1 segment")
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segment + jpeg[2:]


def xmp_packet(*, element: bool = False, **properties: object) -> bytes:
    """A minimal XMP packet with ``xmp:`` properties (``Rating=4``), as attributes of
    ``rdf:Description`` or, with ``element=True``, as child elements: both forms are legal."""
    if element:
        body = "".join(f"<xmp:{k}>{v}</xmp:{k}>" for k, v in properties.items())
        description = f'<rdf:Description rdf:about="">{body}</rdf:Description>'
    else:
        attrs = "".join(f' xmp:{k}="{v}"' for k, v in properties.items())
        description = f'<rdf:Description rdf:about=""{attrs}/>'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/">{description}</rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>'
    ).encode()


@dataclass
class PhotoFolder:
    """A generated folder of photos; usable wherever a path is (``os.fspath``)."""

    root: Path
    photos: list[PhotoSpec] = field(default_factory=list)

    def __fspath__(self) -> str:
        return str(self.root)

    def __str__(self) -> str:
        return str(self.root)

    def __truediv__(self, other: str) -> Path:
        return self.root / other

    def paths(self) -> list[Path]:
        """Absolute paths of the photos, in :data:`DEFAULT_PHOTOS` order."""
        return [self.root / spec.relpath for spec in self.photos]

    def spec_for(self, path: str | os.PathLike[str]) -> PhotoSpec:
        rel = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        return next(spec for spec in self.photos if spec.relpath == rel)

    def __iter__(self) -> Iterator[Path]:
        return iter(self.paths())


def make_photo_folder(
    root: str | os.PathLike[str], photos: tuple[PhotoSpec, ...] = DEFAULT_PHOTOS
) -> PhotoFolder:
    """Generate ``photos`` under ``root`` (created if needed)."""
    folder = PhotoFolder(Path(root), list(photos))
    folder.root.mkdir(parents=True, exist_ok=True)
    for spec in photos:
        make_jpeg(folder.root / spec.relpath, spec)
    return folder
