"""``huisou thumbnails rebuild``: make the thumbnail cache beside the library again.

Decodes every indexed photo once at the thumbnail size (JPEG draft mode makes that cheap)
through the plugin host, so HEIC and other plugin formats get thumbnails too; forgets the
thumbnails of photos no longer in the library. Photos are only read.
"""

from __future__ import annotations

import time

import click
from huisou.cli.common import library_options
from huisou.core.config import Config


@click.group()
def thumbnails() -> None:
    """The thumbnail cache the terminal UI shows (library.thumbs.db)."""


@thumbnails.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@library_options
def rebuild(config: Config, as_json: bool) -> None:
    """Make a thumbnail of every indexed photo; forget those of removed photos."""
    import os

    from huisou.core.errors import HuisouError
    from huisou.core.interfaces import MediaItem
    from huisou.core.library import Library
    from huisou.core.regular_files import open_regular
    from huisou.core.thumbstore import THUMB_SIDE, ThumbStore

    started = time.perf_counter()
    library = Library(config)
    store = ThumbStore(config.db_path)
    store.stats()  # opens it: a damaged cache file is reported, never overwritten
    if store.broken:
        library.close()
        raise HuisouError(f"thumbnail cache {store.broken}; delete it, then run "
                          "`huisou thumbnails rebuild` again")
    made = failed = size = 0
    try:
        paths = [path for path, row in library.catalog.stat_index().items()
                 if row[3] == "indexed"]
        for path in paths:
            try:
                fh = open_regular(path)
                with fh:
                    stat = os.fstat(fh.fileno())
                    item = MediaItem(path, stat.st_size, stat.st_mtime_ns)
                    decoded = library.host.load_image(item, fh, THUMB_SIDE)
            except Exception:  # unreadable now: no thumbnail, the photo stays indexed
                failed += 1
                continue
            if decoded is None:
                failed += 1
                continue
            stored = store.put(path, stat.st_size, stat.st_mtime_ns, decoded.image)
            if not stored:
                raise HuisouError(f"cannot write the thumbnail cache {store.path}")
            size += stored
            made += 1
        pruned = store.prune(set(paths))
    finally:
        store.close()
        library.close()
    seconds = time.perf_counter() - started
    result = {"thumbnails": made, "failed": failed, "pruned": pruned, "bytes": size,
              "seconds": round(seconds, 2), "file": str(store.path)}
    if as_json:
        from huisou.cli.common import print_json

        print_json(result)
        return
    per = f", {size / made / 1000:.1f} KB each" if made else ""
    click.echo(f"{made} thumbnails{per} in {seconds:.1f}s ({failed} unreadable, "
               f"{pruned} forgotten) -> {store.path}")
