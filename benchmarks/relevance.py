"""Precision and recall of search with and without the adaptive cutoff (``--min-score auto``).

Labelled library per test model (tests/models): three pictures of each of the 18 coloured-shape
classes (seeds unlike the training set's), three near-duplicate variants (downscaled, cropped,
recompressed) of each natural photo in tests/data/natural, and the camera photos of
tests/data/exif_camera as distractors. Queries:

- text, shapes: "red circle" ... (18 queries, 3 relevant photos each) — meaningful only for the
  toy model; tiny_clip has random weights, so for it these are nonsense too;
- image: each natural photo's original file (not in the library), relevant = its 3 variants;
- nonsense: gibberish and things no photo shows (relevant = none).

For each query: ``top`` (the plain top 20, what search returned before) and ``auto``. Reports
mean precision and recall (a query returning nothing has precision 1 when nothing is relevant,
else 0), how many 3-photo queries returned 3 ± 1, and how many nonsense queries returned none.

    python benchmarks/relevance.py            # both test models (about 20 s)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import REPO, print_table, write_json

sys.path.insert(0, str(REPO / "tests" / "models"))
import shapes  # noqa: E402 - tests/models is not a package

DATA = REPO / "tests" / "data"
MODELS = {"toy_shapes": REPO / "tests/models/toy_shapes", "tiny_clip": REPO / "tests/models/tiny_clip"}
NONSENSE = (
    "qwzx",
    "xylophone quantum tax",
    "blorp fnord",
    "asdkjh lkj",
    "a spreadsheet of quarterly tax returns",
    "the sound of silence",
    "quantum chromodynamics lecture",
    "zebra crossing at midnight",
)
PER_CLASS = 3


def build_photos(root: Path) -> dict[str, set[str]]:
    """Write the labelled photos; returns label -> file names."""
    from PIL import Image

    labels: dict[str, set[str]] = {}
    for i, (colour, shape) in enumerate(shapes.all_classes() * PER_CLASS):
        name = f"{colour}_{shape}_{i}.jpg"
        shapes.make_shape_image(colour, shape, 96, 9_000_000 + i).save(root / name, quality=92)
        labels.setdefault(f"{colour} {shape}", set()).add(name)
    for path in sorted((DATA / "natural").glob("*.[pj][np]g")):
        image = Image.open(path).convert("RGB")
        w, h = image.size
        variants = {
            "small": image.resize((max(1, w * 3 // 4), max(1, h * 3 // 4))),
            "crop": image.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
            "recompressed": image,
        }
        for kind, variant in variants.items():
            name = f"{path.stem}-{kind}.jpg"
            variant.save(root / name, quality=60 if kind == "recompressed" else 90)
            labels.setdefault(f"image:{path.name}", set()).add(name)
    for path in sorted((DATA / "exif_camera").iterdir()):
        if path.suffix.lower() in (".jpg", ".jpeg"):
            shutil.copy(path, root / f"camera-{path.name}")
    return labels


def open_library(model: Path, root: Path):
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    config = Config(db=str(root / "lib.db"), backend="onnx-clip", model=str(model), store="numpy",
                    precision="fp32", batch_size=16, threads=2, models_dir=str(root / "models"))
    library = Library(config, host)
    library.catalog.add_source("folder", str(root / "photos"))
    for _event in Indexer(library).run():
        pass
    return library


def score(returned: list[str], relevant: set[str]) -> tuple[float, float]:
    hits = sum(1 for name in returned if name in relevant)
    precision = hits / len(returned) if returned else (1.0 if not relevant else 0.0)
    recall = hits / len(relevant) if relevant else 1.0
    return precision, recall


def evaluate(model_name: str, model: Path, work: Path) -> list[dict]:
    from huisou.core.search import AUTO, Searcher

    photos = work / "photos"
    photos.mkdir(parents=True)
    labels = build_photos(photos)
    library = open_library(model, work)
    searcher = Searcher(library)
    queries: list[tuple[str, str, dict]] = []
    for label, names in labels.items():
        if label.startswith("image:"):
            queries.append(("image", label, {"image": DATA / "natural" / label[6:], "rel": names}))
        else:
            kind = "text" if model_name == "toy_shapes" else "nonsense"
            queries.append((kind, label, {"query": label, "rel": names if kind == "text" else set()}))
    queries += [("nonsense", q, {"query": q, "rel": set()}) for q in NONSENSE]
    rows = []
    for kind, label, spec in queries:
        for mode, min_score in (("top", None), ("auto", AUTO)):
            hits = searcher.search(spec.get("query"), image=spec.get("image"), top=20,
                                   min_score=min_score)
            returned = [Path(hit.path).name for hit in hits]
            precision, recall = score(returned, spec["rel"])
            rows.append({"model": model_name, "kind": kind, "query": label, "mode": mode,
                         "returned": len(returned), "relevant": len(spec["rel"]),
                         "precision": precision, "recall": recall,
                         "confidences": [hit.confidence for hit in hits]})
    library.close()
    return rows


def summarise(rows: list[dict]) -> list[list[str]]:
    table = []
    keys = sorted({(r["model"], r["kind"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for model_name, kind in keys:
        for mode in ("top", "auto"):
            group = [r for r in rows if (r["model"], r["kind"], r["mode"]) == (model_name, kind, mode)]
            precision = sum(r["precision"] for r in group) / len(group)
            recall = sum(r["recall"] for r in group) / len(group)
            if kind == "nonsense":
                ok = sum(1 for r in group if r["returned"] == 0)
                what = f"{ok}/{len(group)} return none"
            else:
                ok = sum(1 for r in group if abs(r["returned"] - r["relevant"]) <= 1)
                what = f"{ok}/{len(group)} return 3 ± 1"
            table.append([model_name, kind, mode, str(len(group)), f"{precision:.3f}",
                          f"{recall:.3f}", what])
    return table


def judge_cost(n: int, repeats: int = 5) -> list[list[str]]:
    """What judging adds to a search at ``n`` photos (512-d, numpy store): KNN k=64 alone vs
    the judge's first call in a process (background sample read from the database) and later
    calls (sample cached). Reference prompts' vectors come from their disk cache in real use;
    here a stand-in backend returns fixed vectors."""
    import time
    from types import SimpleNamespace

    import numpy as np
    from huisou.core.catalog import Catalog
    from huisou.core.interfaces import StoreLocation
    from huisou.core.relevance import REFERENCE_PROMPTS, LibraryJudge
    from huisou.plugins.clip_search.stores import NumpyVectorStore

    dims, model = 512, "bench-judge"
    rng = np.random.default_rng(0)
    matrix = rng.normal(0.3, 1.0, (n, dims)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory(prefix="huisou-judge-") as tmp:
        path = str(Path(tmp) / "lib.db")
        catalog = Catalog(path)
        catalog.ensure_model(model, "bench", model, dims, "numpy")
        store = NumpyVectorStore(StoreLocation(path, model, dims, connection=catalog.conn))
        with catalog.transaction():
            ids = [catalog.upsert_item(source_id=None, path=f"/p/{i}.jpg", size=1, mtime_ns=1,
                                       status="indexed") for i in range(n)]
            store.upsert(ids, matrix)
            catalog.mark_embedded(ids, model)
        reference = rng.normal(0, 1, (len(REFERENCE_PROMPTS), dims)).astype(np.float32)
        backend = SimpleNamespace(model_fingerprint=model, dimensions=dims,
                                  embed_texts=lambda texts: reference)
        library = SimpleNamespace(catalog=catalog, store=store, backend=backend)
        queries = matrix[rng.integers(0, n, repeats + 1)] + 0.05
        knn, first, warm = [], [], []
        for q in queries:
            start = time.perf_counter()
            pairs = store.search(q, 64)
            knn.append(time.perf_counter() - start)
        for q in queries:
            judge = LibraryJudge(library)
            judge._reference = reference  # the disk cache's role
            start = time.perf_counter()
            judge.judge(q, pairs, text=True)
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            judge.judge(q, pairs, text=True)
            warm.append(time.perf_counter() - start)
        store.close()
        db_conn = catalog.conn
        catalog.close()
        del db_conn
    med = statistics.median
    return [[f"{n:,}", f"{med(knn) * 1000:.1f} ms", f"{med(first) * 1000:.1f} ms",
             f"{med(warm) * 1000:.1f} ms"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--name", default="relevance")
    parser.add_argument("--verbose", action="store_true", help="print every query's outcome")
    parser.add_argument("--smoke", action="store_true", help="the toy model only")
    parser.add_argument("--cost", type=int, metavar="N",
                        help="instead: what judging adds to a search at N photos")
    args = parser.parse_args()
    if args.cost:
        table = judge_cost(args.cost)
        print_table(["photos", "KNN k=64", "judge, first search", "judge, later searches"],
                    table)
        write_json(f"{args.name}-cost", {"rows": table})
        return
    if args.smoke:
        args.models = ["toy_shapes"]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="huisou-relevance-") as tmp:
        for name in args.models:
            rows += evaluate(name, MODELS[name], Path(tmp) / name)
    if args.verbose:
        for r in rows:
            print(r["model"], r["kind"], r["mode"], repr(r["query"]), r["returned"],
                  f"P={r['precision']:.2f} R={r['recall']:.2f}", r["confidences"][:6])
    header = ["model", "queries", "mode", "n", "precision", "recall", "count check"]
    print_table(header, summarise(rows))
    write_json(args.name, {"rows": rows})


if __name__ == "__main__":
    main()
