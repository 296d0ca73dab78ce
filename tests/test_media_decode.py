"""The Pillow decoder over the real test corpus (tests/data, see MANIFEST.md) and made-up bytes."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from huisou.core.errors import NotAnImage, UnreadableMedia, UnsupportedMedia
from huisou.core.sniff import sniff
from huisou.plugins.media_sources import decode as decode_mod
from huisou.plugins.media_sources.decode import decode

DATA = Path(__file__).parent / "data"
ODD = DATA / "odd_broken"
CAMERA = DATA / "exif_camera"

#: odd_broken files the MANIFEST calls unreadable, with a word the reason must contain.
UNREADABLE = {
    "truncated_jpeg.jpg": "truncated",
    "truncated_image.png": "truncated",
    "broken.png": "corrupt",
    "broken_data_stream.png": "corrupt",
    "decompression_bomb.gif": "decompression bomb: 4364696535 pixels",
    "zero_width.gif": "corrupt",
    "png_decompression_dos.png": "corrupt",
    "empty.heic": "empty",
    "corrupted.heic": "corrupt",
}


def _decode(path: Path, size_hint: int = 0):
    return decode(io.BytesIO(path.read_bytes()), str(path), size_hint)


@pytest.mark.parametrize("name", sorted(p.name for p in ODD.iterdir()))
def test_every_odd_file_decodes_or_fails_with_a_reason(name):
    path = ODD / name
    if name in UNREADABLE:
        with pytest.raises(UnreadableMedia) as info:
            _decode(path)
        assert UNREADABLE[name] in str(info.value)
        assert info.value.status == "unreadable"
    else:
        decoded = _decode(path, 64)
        assert decoded.image.mode == "RGB"
        assert decoded.width > 0 and decoded.height > 0


@pytest.mark.parametrize(
    ("name", "size", "orientation"),
    [
        ("canon_hdr_NO.jpg", (1536, 2048), 6),
        ("Portrait_0.jpg", (1200, 1800), 1),  # illegal 0 means no rotation
        ("Portrait_1.jpg", (1200, 1800), 1),
        ("Portrait_3.jpg", (1200, 1800), 3),
        ("Portrait_5.jpg", (1200, 1800), 5),
        ("Portrait_6.jpg", (1200, 1800), 6),
        ("Portrait_8.jpg", (1200, 1800), 8),
        ("Ricoh_Caplio_RR330.jpg", (100, 75), 1),  # no Orientation tag
        ("Fujifilm_FinePix_E500.jpg", (59, 100), 1),
    ],
)
def test_dimensions_are_reported_after_orientation(name, size, orientation):
    decoded = _decode(CAMERA / name, 224)
    assert (decoded.width, decoded.height) == size
    assert decoded.orientation == orientation
    # the pixels are turned too: same aspect as the reported size
    w, h = decoded.image.size
    assert (w > h) == (size[0] > size[1])


def test_draft_decode_keeps_at_least_the_size_hint_after_rotation():
    decoded = _decode(CAMERA / "canon_hdr_NO.jpg", 224)
    w, h = decoded.image.size
    assert min(w, h) >= 224
    assert w < 1536 and h < 2048  # reduced, not full size
    assert (w, h) == (384, 512)  # 1/4 scale, portrait after orientation 6
    full = _decode(CAMERA / "canon_hdr_NO.jpg", 0)
    assert full.image.size == (1536, 2048)


def test_big_non_jpeg_is_reduced_but_stays_twice_the_size_hint():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2000, 1500), (10, 120, 200)).save(buf, "PNG")
    decoded = decode(io.BytesIO(buf.getvalue()), "big.png", 224)
    assert (decoded.width, decoded.height) == (2000, 1500)  # the full size is reported
    assert decoded.image.size == (667, 500)  # 1/3 (rounded up): short side >= 2 x 224
    assert decoded.image.getpixel((300, 200)) == (10, 120, 200)
    assert decode(io.BytesIO(buf.getvalue()), "big.png", 0).image.size == (2000, 1500)


def _mean_abs_diff(a, b) -> float:
    import numpy as np

    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


def test_orientation_examples_all_come_out_upright():
    """hopper_orientation_2..8 hold the same picture stored 7 ways: after transpose all match."""
    images = [_decode(ODD / f"hopper_orientation_{n}.jpg").image for n in range(2, 9)]
    reference = images[0]
    for image in images[1:]:
        assert image.size == reference.size
        assert _mean_abs_diff(image, reference) < 12
    # and a deliberately wrong transpose is far off, so the check above means something
    from PIL import Image

    assert _mean_abs_diff(reference.transpose(Image.Transpose.ROTATE_90), reference) > 30


def test_portrait_labels_read_upright_for_every_orientation():
    images = {n: _decode(CAMERA / f"Portrait_{n}.jpg", 64).image for n in (0, 1, 3, 5, 6, 8)}
    for n, image in images.items():
        assert image.size == images[1].size, n
        assert _mean_abs_diff(image, images[1]) < 12, n


def test_avif_rotation_is_applied_once():
    decoded = _decode(ODD / "rot1mir0.avif")
    assert decoded.format == "AVIF"
    assert (decoded.width, decoded.height) == (640, 427)
    assert decoded.image.size == (640, 427)


def test_mode_conversions_give_sensible_rgb():
    i16 = _decode(ODD / "i_trns.png").image
    low, high = i16.convert("L").getextrema()
    assert low < 50 and high > 200  # neither all black nor all white
    palette = _decode(ODD / "p_trns_single.png").image
    assert palette.mode == "RGB"
    webp = _decode(ODD / "transparent.webp").image
    assert webp.mode == "RGB"
    corner = webp.getpixel((0, 0))
    assert corner == (255, 255, 255) or min(corner) > 200  # transparent corner on white
    cmyk = _decode(ODD / "pil_sample_cmyk.jpg").image
    from PIL import Image

    assert cmyk.mode == "RGB"
    expected = Image.open(ODD / "pil_sample_cmyk.jpg").convert("RGB")
    assert _mean_abs_diff(cmyk, expected) < 1


def test_gif_is_one_photo_its_first_frame():
    from PIL import Image

    decoded = _decode(ODD / "iss634.gif")
    with Image.open(ODD / "iss634.gif") as gif:
        assert gif.n_frames > 1
        first = gif.convert("RGB")
    assert decoded.format == "GIF"
    assert _mean_abs_diff(decoded.image, first) < 1


def test_heif_decodes_with_the_extra():
    pytest.importorskip("pillow_heif")
    decoded = _decode(ODD / "hopper.heif")
    assert decoded.format == "HEIF" and (decoded.width, decoded.height) == (128, 128)
    phone = _decode(CAMERA / "IMG_5195.HEIC")
    assert (phone.width, phone.height) == (2566, 3313)


def test_heif_without_the_extra_is_unsupported_with_the_hint(monkeypatch):
    monkeypatch.setattr(decode_mod, "_heif_state", {"ok": False})
    for path in (ODD / "hopper.heif", CAMERA / "IMG_5195.HEIC", CAMERA / "HMD_Nokia_8.3_5G_hdr.heif"):
        with pytest.raises(UnsupportedMedia) as info:
            _decode(path)
        assert "pip install 'huisou[heic]'" in str(info.value)
        assert "HEIC" in str(info.value)
        assert info.value.status == "unsupported"


def test_decompression_bomb_band_between_one_and_two_times_the_limit(monkeypatch):
    """Pillow only warns there; the decoder must still reject it (and keep the limit set)."""
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS  # never None
    buf = io.BytesIO()
    Image.new("RGB", (16, 10), (1, 2, 3)).save(buf, "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 160 pixels: between 1x and 2x
    with pytest.raises(UnreadableMedia, match="decompression bomb: 160 pixels"):
        decode(io.BytesIO(buf.getvalue()), "big.png", 0)


def test_content_decides_not_the_extension(tmp_path):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 0, 0)).save(buf, "PNG")
    png = buf.getvalue()
    assert decode(io.BytesIO(png), "/x/photo.jpg", 0).format == "PNG"
    assert decode(io.BytesIO(png), "/x/no_extension", 0).format == "PNG"
    text = b"hello, this is a shopping list\n" * 10
    with pytest.raises(NotAnImage):
        decode(io.BytesIO(text), "/x/list.dat", 0)
    with pytest.raises(UnreadableMedia, match="image name"):
        decode(io.BytesIO(text), "/x/photo.jpg", 0)
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    assert sniff(mp4) == "video"
    with pytest.raises(NotAnImage, match="video"):
        decode(io.BytesIO(mp4), "/x/clip.bin", 0)
    with pytest.raises(UnreadableMedia, match="video content"):
        decode(io.BytesIO(mp4), "/x/clip.jpg", 0)
    with pytest.raises(UnreadableMedia, match="empty"):
        decode(io.BytesIO(b""), "/x/empty.jpg", 0)


def test_sniff_recognises_each_format():
    assert sniff((ODD / "hopper.tif").read_bytes()[:64]) == "tiff"
    assert sniff((ODD / "transparent.webp").read_bytes()[:64]) == "webp"
    assert sniff((ODD / "iss634.gif").read_bytes()[:64]) == "gif"
    assert sniff((ODD / "rot1mir0.avif").read_bytes()[:64]) == "avif"
    assert sniff((ODD / "hopper.heif").read_bytes()[:64]) == "heif"
    assert sniff((CAMERA / "IMG_5195.HEIC").read_bytes()[:64]) == "heif"
    assert sniff((CAMERA / "Canon_40D.jpg").read_bytes()[:64]) == "jpeg"
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "BMP")
    assert sniff(buf.getvalue()[:64]) == "bmp"
    assert decode(io.BytesIO(buf.getvalue()), "a.bmp", 0).format == "BMP"


def test_decoder_is_thread_safe():
    paths = sorted(ODD.glob("hopper*.jpg")) + sorted(CAMERA.glob("Portrait_*.jpg"))
    blobs = [(p, p.read_bytes()) for p in paths] * 3

    def run(pair):
        path, data = pair
        d = decode(io.BytesIO(data), str(path), 64)
        return d.width, d.height, d.orientation, d.image.size, d.image.tobytes()

    serial = [run(pair) for pair in blobs]
    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(run, blobs))
    assert parallel == serial


def test_registered_as_trylast_load_image_hook():
    from huisou.core.interfaces import MediaItem
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    impls = host.pm.hook.load_image.get_hookimpls()
    mine = [i for i in impls if i.plugin_name == "huisou.plugins.media_sources.decode"]
    assert mine and mine[0].trylast
    path = CAMERA / "Kodak_CX7530.jpg"
    item = MediaItem(str(path), path.stat().st_size, path.stat().st_mtime_ns)
    decoded = host.load_image(item, io.BytesIO(path.read_bytes()), 32)
    assert (decoded.width, decoded.height) == (100, 78)


def test_a_truncated_jpeg_header_is_unreadable_not_unsupported():
    import io

    from huisou.core.errors import UnreadableMedia
    from huisou.plugins.media_sources.decode import decode

    with pytest.raises(UnreadableMedia, match="corrupt JPEG"):
        decode(io.BytesIO(b"\xff\xd8\xffxx"), "x.jpg", 224)


def test_rgb_with_a_transparent_colour_is_composited_on_white_like_other_modes():
    """A PNG's tRNS colour key marks transparent pixels in RGB too, not only in P and L."""
    from PIL import Image

    im = Image.new("RGB", (4, 4), (0, 128, 0))
    im.putpixel((0, 0), (255, 0, 0))
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=(255, 0, 0))
    decoded = decode(io.BytesIO(buf.getvalue()), "keyed.png").image
    assert decoded.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.getpixel((1, 1)) == (0, 128, 0)


def test_a_corrupt_avif_frame_is_unreadable_not_a_runtime_error():
    """Pillow's AVIF plugin raises RuntimeError on damaged frame data."""
    if not decode_mod.avif_available():
        pytest.skip("this Pillow has no AVIF support")
    data = bytearray((ODD / "rot1mir0.avif").read_bytes())
    cut = int(len(data) * 0.9)
    data[cut:] = bytes(len(data) - cut)  # the tail of the AV1 payload zeroed
    with pytest.raises(UnreadableMedia, match="corrupt AVIF"):
        decode(io.BytesIO(bytes(data)), "damaged.avif", 224)
