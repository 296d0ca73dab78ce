"""``huisou.testing`` as a plugin author meets it: fixtures without a conftest, and contract
suites that really fail on plugins that break their contract.

The pytester runs are in-process pytest sessions in a temp dir, with entry-point plugins loaded
as in any project, so the ``pytest11`` registration of ``huisou.testing.pytest_plugin`` is what
provides the fixtures there.
"""

from __future__ import annotations

import io
import os

import numpy  # noqa: F401 - loaded before pytester snapshots sys.modules (numpy cannot reload)
import PIL.Image  # noqa: F401
import pytest

pytest_plugins = ["pytester"]


def test_fixtures_work_without_a_conftest(pytester):
    pytester.makepyfile(test_author="""
        import os
        from pathlib import Path

        from huisou import hookimpl

        HOSTS = []

        class Plugin:
            @hookimpl
            def register_metadata_extractors(self, register):
                pass

        def test_fixtures(huisou_host, register_plugin, fake_backend, memory_store,
                          photo_folder, huisou_home):
            name = register_plugin(Plugin(), name="author-plugin")
            assert huisou_host.pm.get_plugin(name) is not None
            HOSTS.append(huisou_host)
            assert "folder" in huisou_host.media_sources()
            assert fake_backend.dimensions == memory_store.location.dimensions == 16
            assert len(list(Path(photo_folder).rglob("*.jpg"))) == 6
            assert os.environ["HUISOU_HOME"] == str(huisou_home)

        def test_registered_plugin_is_gone_after_the_test():
            assert HOSTS[0].pm.get_plugin("author-plugin") is None

        def test_refused_plugin_fails_the_test(register_plugin):
            register_plugin(object(), name="dup")
            register_plugin(object(), name="dup")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:textual-snapshot")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*plugin 'dup' could not be registered*"])


def test_contract_suites_fail_on_broken_plugins(pytester):
    pytester.makepyfile(test_broken="""
        import pytest

        from huisou.core.interfaces import MediaItem, StoreLocation
        from huisou.testing import MediaSourceContract, VectorStoreContract
        from huisou.testing.fakes import MemoryVectorStore
        from huisou_kit_test_sources import PeekingSource


        class WorstFirstStore(MemoryVectorStore):
            store_id = "worst-first"

            def search(self, vector, k, candidates=None):
                return list(reversed(super().search(vector, 10**6, candidates)))[:k]


        class TestWorstFirst(VectorStoreContract):
            @pytest.fixture
            def store(self, tmp_path):
                return WorstFirstStore(StoreLocation(str(tmp_path / "l.db"), "n", self.dimensions))


        class TestPeeking(MediaSourceContract):
            @pytest.fixture
            def source(self, photo_folder):
                return PeekingSource(str(photo_folder))
    """)
    pytester.makepyfile(huisou_kit_test_sources="""
        import os
        from huisou.core.interfaces import MediaItem, MediaSource

        class PeekingSource(MediaSource):
            '''Opens every photo during scan (sniffing), and ignores cancel.'''
            type_id = "peeking"

            def scan(self, cancel=None):
                for dirpath, _dirs, files in os.walk(self.root):
                    for name in sorted(files):
                        path = os.path.join(dirpath, name)
                        with open(path, "rb") as fh:
                            fh.read(4)
                        st = os.stat(path)
                        yield MediaItem(path, st.st_size, st.st_mtime_ns)
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:textual-snapshot", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 5, result.stdout.str()
    result.stdout.fnmatch_lines_random([
        "FAILED *TestWorstFirst::test_search_returns_exact_match_first_with_cosine_score*",
        "FAILED *TestWorstFirst::test_search_is_best_first_with_cosine_scores*",
        "FAILED *TestPeeking::test_scan_never_opens_candidate_files*",
        "FAILED *TestPeeking::test_scan_stops_quietly_when_cancelled*",
        "FAILED *TestPeeking::test_scan_stops_when_cancelled_midway*",
    ])
    assert "TestWorstFirst::test_delete_removes_and_ignores_unknown_ids" not in result.stdout.str()


def test_photo_folder_exif_is_real(photo_folder):
    """Checked with exifread, independently of huisou's own extractor."""
    import exifread

    red = photo_folder.spec_for(photo_folder / "red.jpg")
    with open(photo_folder / "red.jpg", "rb") as fh:
        tags = exifread.process_file(fh, details=False)
    assert str(tags["EXIF DateTimeOriginal"]) == red.taken_at
    assert (str(tags["Image Make"]), str(tags["Image Model"])) == (red.make, red.model)
    lat = [float(x.num) / float(x.den) for x in tags["GPS GPSLatitude"].values]
    assert lat[0] + lat[1] / 60 + lat[2] / 3600 == pytest.approx(red.gps[0], abs=1e-4)
    assert str(tags["GPS GPSLongitudeRef"]) == "E"
    with open(photo_folder / "no-exif-black.jpg", "rb") as fh:
        assert "EXIF DateTimeOriginal" not in exifread.process_file(fh, details=False)
    with open(photo_folder / "blue.jpg", "rb") as fh:
        blue = exifread.process_file(fh, details=False)
    assert str(blue["GPS GPSLatitudeRef"]) == "S" and str(blue["GPS GPSLongitudeRef"]) == "E"


def test_photo_folder_pixels_and_orientation(photo_folder):
    from PIL import Image

    for spec, path in zip(photo_folder.photos, photo_folder.paths(), strict=True):
        with Image.open(path) as image:
            assert image.size == spec.size
            centre = image.convert("RGB").getpixel((2, 2))
            assert all(abs(a - b) < 12 for a, b in zip(centre, spec.colour, strict=True)), spec
            orientation = image.getexif().get(0x0112)
            assert orientation == spec.orientation, spec


def test_exif_bytes_keep_placeholders_for_extractor_tests():
    from huisou.testing.photos import exif_bytes
    from PIL import Image

    exif = Image.Exif()
    exif.load(exif_bytes(make="", gps=(0.0, 0.0)))
    assert exif[0x010F] == ""
    assert exif.get_ifd(0x8825)[2] == (0.0, 0.0, 0.0)


def test_huisou_home_isolates_config(huisou_home):
    from huisou.core.config import config_path, load_config

    assert config_path() == huisou_home / "config.toml"
    (huisou_home / "config.toml").write_text('batch_size = 7\n')
    assert load_config().batch_size == 7


def test_memory_store_fixture_is_private(memory_store, fake_backend):
    import numpy as np

    vectors = fake_backend.embed_texts(["red", "blue"])
    memory_store.upsert([1, 2], vectors)
    assert [i for i, _ in memory_store.search(vectors[1], 1)] == [2]
    assert isinstance(vectors, np.ndarray)


def test_record_opens_sees_builtin_and_os_open(tmp_path):
    from huisou.testing.contract_source import record_opens

    target = tmp_path / "x.bin"
    target.write_bytes(b"x")
    with record_opens() as opened, open(target, "rb"):
        pass
    assert str(target) in opened
    with record_opens() as opened:
        os.close(os.open(target, os.O_RDONLY))
        io.BytesIO(b"not a file")
    assert opened == {str(target)}
