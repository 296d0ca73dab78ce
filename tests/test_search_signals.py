"""Search signals fused with CLIP on real photos: the demo photos and the toy shapes model.

The library: docs/demo-photos (18 coloured shapes), a copy of the green triangle named
``IMG_2041.jpg`` (which CLIP, reading pixels, ranks low for "IMG_2041"), a blue square in a
``Beach Trip`` folder, and a full-text ``caption`` field written through ``field_store`` that a
test plugin's signal searches, as the OCR plugin's will.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from huisou import hookimpl
from huisou.core.interfaces import SearchSignal, SignalMatch, SignalQuery

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "docs" / "demo-photos"
TOY = REPO / "tests" / "models" / "toy_shapes"
MARCH_2023 = 1678870800  # 2023-03-15, the photos' file time (they have no EXIF date)
CAPTIONS = {
    "blue-square.jpg": "增值税专用发票 invoice No. 2023-0042",
    "yellow-triangle.jpg": "Wi-Fi password: sunflower2024",
}


class CaptionSignal(SearchSignal):
    """A plugin's signal on its own full-text field, as the OCR plugin does on ``ocr_text``."""

    name = "caption"
    weight = 1.0

    def match(self, query: SignalQuery) -> list[SignalMatch]:
        from huisou.core import field_store

        found = field_store.text_matches(query.catalog.conn, query.text, ["caption"], 100)
        allowed = query.candidates
        return [SignalMatch(i, 1.0, value) for i, _field, value in found
                if allowed is None or i in allowed][: query.limit]


class CaptionPlugin:
    @hookimpl
    def register_fields(self, register):
        register("caption", "text", "A caption", fulltext=True)

    @hookimpl
    def register_search_signals(self, register):
        register(CaptionSignal())


def _photos(root: Path) -> Path:
    photos = root / "photos"
    (photos / "Beach Trip").mkdir(parents=True)
    for path in DEMO.glob("*.jpg"):
        shutil.copy(path, photos / path.name)
    shutil.copy(DEMO / "green-triangle.jpg", photos / "IMG_2041.jpg")
    shutil.copy(DEMO / "blue-square.jpg", photos / "Beach Trip" / "DSC_0001.jpg")
    for path in photos.rglob("*.jpg"):
        os.utime(path, (MARCH_2023, MARCH_2023))
    return photos


def _write_captions(catalog) -> None:
    from huisou.core import field_store
    from huisou.core.fields import declare

    field = declare("caption", "text", "A caption", fulltext=True, owner="captions")
    with catalog.transaction() as conn:
        field_store.record_declarations(conn, [field])
        for name, text in CAPTIONS.items():
            item = next(r for p, r in catalog.stat_index().items() if Path(p).name == name)
            field_store.replace_values(conn, item[0], {"caption": ("captions", [(text, None)])})


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    import huisou.plugins.text_signal as text_signal
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost

    root = tmp_path_factory.mktemp("signals")
    photos = _photos(root)
    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    assert host.pm.is_registered(text_signal)  # a built-in plugin
    host.register(CaptionPlugin(), name="captions")
    config = Config(db=str(root / "lib.db"), backend="onnx-clip", model=str(TOY),
                    store="numpy", precision="fp32", threads=2, models_dir=str(root / "models"))
    library = Library(config, host)
    library.catalog.add_source("folder", str(photos))
    events = list(Indexer(library).run())
    assert events[-1].indexed == 20, events[-1]
    _write_captions(library.catalog)
    yield library
    library.close()


@pytest.fixture
def searcher(library):
    from huisou.core.search import Searcher

    library.config.search_weights = {}
    library.host.problems.clear()
    yield Searcher(library)
    library.config.search_weights = {}


def _names(hits) -> list[str]:
    return [Path(hit.path).name for hit in hits]


def test_a_query_naming_a_file_puts_it_first(searcher, library):
    from huisou.core.search import AUTO

    for query in ("IMG_2041", "img 2041", "IMG2041"):
        library.config.search_weights = {"text": 0, "caption": 0}  # CLIP alone
        clip_only = searcher.search(query, top=20, min_score=None)
        assert _names(clip_only).index("IMG_2041.jpg") >= 5  # CLIP cannot read file names
        assert searcher.search(query, min_score=AUTO) == []  # nor call it relevant
        library.config.search_weights = {}
        hits = searcher.search(query, top=5, min_score=AUTO)
        assert _names(hits) == ["IMG_2041.jpg"], query  # kept by the cutoff, alone
        cosine = next(h.score for h in clip_only if h.path == hits[0].path)
        assert hits[0].score == pytest.approx(cosine, abs=1e-6)  # score stays the cosine
        assert hits[0].confidence == "high" and hits[0].fused is not None
    assert library.host.problems == []


def test_a_folder_name_finds_its_photos_and_clip_orders_the_rest(searcher):
    hits = searcher.search("beach trip", top=5, min_score=None)
    assert _names(hits)[0] == "DSC_0001.jpg"
    text = next(p for p in hits[0].explain if p.signal == "text")
    assert text.matched == "folder: Beach Trip" and text.rank == 1
    rest = [hit.score for hit in hits[1:]]
    assert rest == sorted(rest, reverse=True)  # photos no signal found: CLIP's order


def test_clip_results_are_unchanged_when_no_signal_matches(searcher, library):
    """Parity: a query no signal matches gives exactly the CLIP-only hits and scores."""
    for query in ("red circle", "qwzx", "a green disc"):
        library.config.search_weights = {"text": 0, "caption": 0}
        alone = [(h.path, h.score, h.confidence) for h in searcher.search(query, min_score=None)]
        library.config.search_weights = {}
        hits = searcher.search(query, min_score=None)
        if query == "red circle":  # the file is named so: it was CLIP's first already
            assert _names(hits)[0] == "red-circle.jpg" and round(hits[0].score, 3) == 0.961
            assert hits[0].path == alone[0][0] and hits[0].score == alone[0][1]
            continue
        assert [(h.path, h.score, h.confidence) for h in hits] == alone
        assert all(h.fused is None for h in hits)


def test_a_full_text_field_matches_in_chinese_and_english(searcher):
    from huisou.core.search import AUTO

    for query, name in (("发票", "blue-square.jpg"), ("增值税专用发票", "blue-square.jpg"),
                        ("invoice", "blue-square.jpg"), ("invo", "blue-square.jpg"),
                        ("sunflower", "yellow-triangle.jpg"), ("wi-fi password", "yellow-triangle.jpg")):
        hits = searcher.search(query, top=3, min_score=AUTO)
        assert _names(hits)[:1] == [name], (query, _names(hits))
        by = {part.signal: part for part in hits[0].explain}
        assert by["text"].matched.startswith("caption: "), by
    hits = searcher.search("增值税专用发票", top=3, min_score=AUTO)
    by = {part.signal: part for part in hits[0].explain}
    assert by["caption"].rank == 1 and "增值税专用发票" in by["caption"].matched
    assert hits[0].fused == pytest.approx(sum(part.value for part in hits[0].explain))


def test_signals_respect_filters_and_see_the_understood_text(searcher, library):
    from huisou.core.search import SearchFilters

    photos = Path(library.catalog.sources()[0].root)
    inside = SearchFilters(folder=str(photos / "Beach Trip"))
    assert "IMG_2041.jpg" not in _names(searcher.search("IMG_2041", filters=inside,
                                                        min_score=None))
    seen: list[SignalQuery] = []

    class Spy(SearchSignal):
        name = "spy"

        def match(self, query):
            seen.append(query)
            return []

    library.host.register(type("SpyPlugin", (), {"register_search_signals": hookimpl(
        lambda self, register: register(Spy()))})(), name="spy")
    try:
        searcher.search("IMG_2041 in March 2023", filters=inside)
        searcher.search("beach +sunset -people")
    finally:
        library.host.unregister("spy")
    # first the query as typed within the user's own filters (a date or place understood in
    # it must not hide a photo named or printed with those words), then its understood text
    verbatim, understood, weighted = seen
    assert verbatim.text == "IMG_2041 in March 2023"
    assert verbatim.candidates == understood.candidates  # the folder holds one photo
    assert understood.text == "IMG_2041" and understood.candidates is not None
    assert len(understood.candidates) == 1 and understood.limit >= 20
    assert weighted.text == "beach sunset"
    assert library.host.problems == []


def test_a_broken_signal_is_reported_and_the_search_goes_on(searcher, library):
    class Broken(SearchSignal):
        name = "broken"

        def match(self, query):
            raise RuntimeError("index missing")

    class Liar(SearchSignal):
        name = "liar"

        def match(self, query):
            return [SignalMatch(999_999, 1.0)] if query.candidates else "nope"

    class Plugin:
        @hookimpl
        def register_search_signals(self, register):
            register(Broken())
            register(Liar())

    library.host.register(Plugin(), name="bad-signals")
    try:
        hits = searcher.search("IMG_2041", top=3)
        photos = Path(library.catalog.sources()[0].root)
        from huisou.core.search import SearchFilters

        searcher.search("red circle", filters=SearchFilters(folder=str(photos / "Beach Trip")))
    finally:
        library.host.unregister("bad-signals")
    assert _names(hits)[0] == "IMG_2041.jpg"
    said = [str(problem) for problem in library.host.problems]
    assert any("broken" in s and "RuntimeError: index missing" in s for s in said), said
    assert any("liar" in s and "list of SignalMatch" in s for s in said), said
    assert any("liar" in s and "999999" in s and "filters exclude" in s for s in said), said


def test_weights_from_config_change_the_order_and_unknown_names_are_said(searcher, library):
    library.config.search_weights = {"clip": 100}
    hits = searcher.search("IMG_2041", top=3, min_score=None)
    assert _names(hits)[0] != "IMG_2041.jpg"  # CLIP outweighs the name
    library.config.search_weights = {"txet": 1}
    searcher.search("IMG_2041", top=3)
    assert "'txet'" in searcher.notice and "known: clip, " in searcher.notice
    known = searcher.notice.split("known: ")[1].split(")")[0].split(", ")
    assert {"clip", "caption", "text"} <= set(known)  # and any other installed signal


# -- the CLI: --explain -----------------------------------------------------------------------

PLUGIN = '''
from huisou import hookimpl
from huisou.core import field_store
from huisou.core.interfaces import SearchSignal, SignalMatch


class CaptionSignal(SearchSignal):
    name = "caption"

    def match(self, query):
        found = field_store.text_matches(query.catalog.conn, query.text, ["caption"], 50)
        return [SignalMatch(i, 1.0, value) for i, _f, value in found
                if query.candidates is None or i in query.candidates][: query.limit]


@hookimpl
def register_search_signals(register):
    register(CaptionSignal())
'''


def _huisou(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HUISOU_HOME=str(home), HUISOU_LOAD_PLUGINS="")
    return subprocess.run([sys.executable, "-m", "huisou", *args], env=env, capture_output=True,
                          text=True, timeout=180)


def test_explain_in_text_and_json(tmp_path):
    from huisou.core.catalog import Catalog

    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "captions.py").write_text(PLUGIN)
    (home / "config.toml").write_text(
        f'model = "{TOY}"\nprecision = "fp32"\nplugins_dir = "plugins"\n'
        "[search.weights]\ncaption = 3\n")
    photos = _photos(tmp_path)
    indexed = _huisou(home, "index", str(photos))
    assert indexed.returncode == 0, indexed.stderr
    catalog = Catalog(home / "library.db")
    _write_captions(catalog)
    catalog.close()

    result = _huisou(home, "search", "发票", "--explain", "--json", "--top", "3")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    first = hits[0]
    assert Path(first["path"]).name == "blue-square.jpg" and first["explain"]["fused"] > 0
    by = {part["signal"]: part for part in first["explain"]["contributions"]}
    assert by["caption"]["rank"] == 1 and by["caption"]["weight"] == 3.0
    assert "增值税专用发票" in by["caption"]["matched"]
    assert by["clip"]["score"] == first["score"]  # CLIP's score is the cosine shown
    assert by["caption"]["contribution"] == pytest.approx(3 / 61, abs=1e-6)

    result = _huisou(home, "search", "发票", "--explain", "--top", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("blue-square.jpg") or "blue-square.jpg" in lines[0]
    assert any(line.split()[0] == "caption" and "增值税" in line for line in lines), lines
    assert any(line.split()[0] == "fused" for line in lines)
    # the explain lines (not the hit lines, which carry the path) stay within 80 columns
    assert all(len(line) <= 80 for line in lines if line.startswith("    ")), lines

    assert by["text"]["matched"].startswith("caption: ")  # the built-in signal reads it too
    assert first["explain"]["fused"] == pytest.approx(
        sum(part["contribution"] for part in by.values()), abs=1e-5)
    plain = _huisou(home, "search", "发票", "--json", "--top", "1")
    assert plain.returncode == 0, plain.stderr
    assert set(json.loads(plain.stdout)[0]) == set(first) - {"explain"}  # shape unchanged
    named = _huisou(home, "search", "IMG_2041", "--paths")
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines() == [str(photos / "IMG_2041.jpg")]  # built in, by default
    alone = _huisou(home, "search", "a green disc", "--json", "--explain", "--top", "1",
                    "--min-score", "off")
    explained = json.loads(alone.stdout)[0]["explain"]
    assert explained["fused"] is None  # nothing but CLIP: ordered by the cosine
    assert explained["contributions"][0]["signal"] == "clip"
    assert explained["contributions"][0]["rank"] == 1


@pytest.mark.parametrize("query", ["%", "_", "%_%", "\\", "'; DROP TABLE items; --",
                                   "IMG" + "_" * 40, "x " * 3000, "ＩＭＧ＿２０４１"])
def test_hostile_queries_match_nothing_by_accident(searcher, library, query):
    """LIKE wildcards are escaped, SQL is bound, and a huge query is cut to its first words:
    none of these names every photo, raises, or upsets a signal."""
    from huisou.core.interfaces import SignalQuery
    from huisou.plugins.text_signal.signal import TextSignal

    found = TextSignal().match(SignalQuery(query, library.catalog, None, 64))
    if query == "ＩＭＧ＿２０４１":  # full-width: NFKC makes it IMG_2041
        assert [m.matched for m in found] == ["name: IMG_2041.jpg"]
    else:
        assert len(found) < 3, [m.matched for m in found]
    searcher.search(query, top=3)
    assert library.host.problems == []
    assert library.catalog.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 20
