"""SHA-256 of model files, remembered under huisou's data directory.

Why remembered: a model's fingerprint (which names its vector space) hashes both tower files,
and hashing 350 MB costs about a second on every ``huisou search``. Entries are keyed by the
file's resolved path, size, mtime, inode and ctime, so a replaced file is hashed again.

Why not in the model directory, as before: that directory may be read-only or shared (an
Immich model cache, a system-wide models folder); a read-only one meant hashing on every run,
and huisou should not leave files in folders it does not own.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_FILE = "model-digests.json"
#: Entries kept (the most recently hashed): model files, so a few dozen in practice. Pruning by
#: count, not by "does the file exist now", keeps models on an unmounted drive cached and never
#: stats every entry (a stale network mount can block a stat).
MAX_ENTRIES = 256


def cache_path() -> Path:
    from huisou.core.config import data_dir

    return data_dir() / "cache" / CACHE_FILE


def cached_sha256(path: Path) -> str:
    """The hex sha256 of ``path``, hashed only when the cache has no entry for it as it is now
    (same size, mtime, inode and ctime)."""
    from huisou.plugins.clip_search.modeldir import sha256_file

    target = path.resolve()
    stat = target.stat()
    # inode and ctime too: a same-size copy that keeps the mtime (cp -p, rsync -t) is new
    key = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}:{stat.st_ctime_ns}"
    entry = _load().get(str(target))
    if isinstance(entry, dict) and entry.get("key") == key and entry.get("sha256"):
        return str(entry["sha256"])
    digest = sha256_file(target)
    cache = _load()  # again: another process may have added entries while this one hashed
    cache.pop(str(target), None)
    cache[str(target)] = {"key": key, "sha256": digest}  # last: the most recent
    _save(dict(list(cache.items())[-MAX_ENTRIES:]))
    return digest


def _load() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(cache: dict[str, Any]) -> None:
    """Atomic replace; a cache that cannot be written only costs a hash next time."""
    target = cache_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".model-digests-", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(cache, fh, indent=1)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
