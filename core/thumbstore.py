"""Thumbnails of the library's photos, kept in a small database beside the library.

``library.db`` gets ``library.thumbs.db``: one small JPEG of at most :data:`THUMB_SIDE`
pixels per photo, keyed by path and checked against the photo's size
and modification time, so a changed photo's thumbnail is never shown (it is made again). The
file is a cache: deleting it loses nothing, ``huisou thumbnails rebuild`` makes it again.

A separate file, not a table in the library, because thumbnails are many small blobs written
by whoever has a decoded image at hand (the TUI, the rebuild command): they must never hold
the library's write lock or bloat its backups.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

#: Longest side of a stored thumbnail: a grid cell is ~18x12 half-block pixels, a graphics
#: terminal cell ~10x20 real ones; 192 covers both at 2-10 KB per photo.
THUMB_SIDE = 192
QUALITY = 70

_SCHEMA = """
CREATE TABLE IF NOT EXISTS thumbs (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    format TEXT NOT NULL,
    data BLOB NOT NULL
)
"""


def thumbs_path(db_path: str | os.PathLike[str]) -> Path:
    """``/x/library.db`` -> ``/x/library.thumbs.db``."""
    path = Path(db_path)
    return path.with_name(path.stem + ".thumbs.db")


def encode(image: Any) -> tuple[str, bytes]:
    """A small JPEG copy of an RGB image as ``(format, bytes)``; never changes ``image``.

    JPEG, not WebP: at this size libjpeg-turbo encodes in a fifth of WebP's fastest method's
    time for about 1 KB more per photo (measured in benchmarks/thumbnails.py), and the
    encode runs once per indexed photo.
    """
    from PIL import Image

    small = image if image.mode == "RGB" else image.convert("RGB")
    if max(small.size) > THUMB_SIDE:
        small = small.copy()
        small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=QUALITY)
    return "JPEG", out.getvalue()


class ThumbStore:
    """Get and put thumbnails; thread-safe (one connection under a lock), never raises for a
    damaged or unwritable cache file: it then behaves as an empty cache."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = thumbs_path(db_path)
        self._lock = threading.Lock()
        self._conn: Any = None
        self.broken: str | None = None

    def _connection(self) -> Any:
        if self._conn is None and self.broken is None:
            import sqlite3

            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(self.path)
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=2.0,
                                       isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # a cache: no fsync per photo
                conn.execute(_SCHEMA)
                self._conn = conn
            except (sqlite3.Error, OSError) as exc:
                self.broken = f"{self.path}: {exc}"
        return self._conn

    def get(self, path: str, size: int, mtime_ns: int) -> Any | None:
        """The stored thumbnail as an RGB image, or None (missing, stale or unreadable)."""
        import sqlite3

        from PIL import Image

        with self._lock:
            conn = self._connection()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT data FROM thumbs WHERE path=? AND size=? AND mtime_ns=?",
                    (path, size, mtime_ns),
                ).fetchone()
            except sqlite3.Error:
                return None
        if row is None:
            return None
        try:
            image = Image.open(io.BytesIO(row[0]))
            return image.convert("RGB")
        except Exception:  # a damaged blob is a cache miss
            return None

    def put(self, path: str, size: int, mtime_ns: int, image: Any) -> int:
        """Store a thumbnail of ``image`` (decoded already); return its size in bytes."""
        import sqlite3

        fmt, data = encode(image)
        with self._lock:
            conn = self._connection()
            if conn is None:
                return 0
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO thumbs (path, size, mtime_ns, format, data) "
                    "VALUES (?, ?, ?, ?, ?)", (path, size, mtime_ns, fmt, data),
                )
            except sqlite3.Error:
                return 0
        return len(data)

    def prune(self, keep: set[str]) -> int:
        """Forget thumbnails of photos no longer in the library; return how many."""
        import sqlite3

        with self._lock:
            conn = self._connection()
            if conn is None:
                return 0
            try:
                stored = [r[0] for r in conn.execute("SELECT path FROM thumbs")]
                gone = [p for p in stored if p not in keep]
                conn.executemany("DELETE FROM thumbs WHERE path=?", [(p,) for p in gone])
            except sqlite3.Error:
                return 0
        return len(gone)

    def forget(self, paths: list[str]) -> None:
        """Drop the thumbnails of photos that left the library."""
        import sqlite3

        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            try:
                conn.executemany("DELETE FROM thumbs WHERE path=?", [(p,) for p in paths])
            except (sqlite3.Error, UnicodeEncodeError):
                return

    def stats(self) -> tuple[int, int]:
        """``(count, total bytes)`` of the stored thumbnails."""
        import sqlite3

        with self._lock:
            conn = self._connection()
            if conn is None:
                return 0, 0
            try:
                count, total = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM thumbs").fetchone()
            except sqlite3.Error as exc:
                self.broken = f"{self.path}: {exc}"
                return 0, 0
        return int(count), int(total)

    def clear(self) -> None:
        with self._lock:
            conn = self._connection()
            if conn is not None:
                conn.execute("DELETE FROM thumbs")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None



def _create_private(path: Path) -> None:
    """Create the cache file readable by its owner only, like the library: thumbnails show
    what the photos show. SQLite gives its -wal and -shm files the same permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # a cache made by an older huisou was world-readable
    finally:
        os.close(fd)
