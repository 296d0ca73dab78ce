"""Temporary files next to their destination that never outlive a dead writer.

Why: a file built beside its destination and renamed into place (a vector index sidecar, a new
library) is left behind forever when its writer is killed with ``kill -9``. Each such file is
held under an exclusive ``flock`` for as long as its writer lives (the kernel drops the lock
when the process dies), so a later writer can tell a live one's file from an orphan and remove
only orphans. ``flock`` is independent of the POSIX locks SQLite takes on its own files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import time

#: A file younger than this is never removed: its writer may sit between creating and locking.
GRACE_SECONDS = 60.0


def locked_temp(directory: str, prefix: str, suffix: str = "") -> tuple[int, str]:
    """``(fd, path)`` of a new 0600 file in ``directory``, locked for this process's lifetime
    (until ``fd`` is closed)."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, path


def remove_stale(directory: str, prefix: str, grace: float = GRACE_SECONDS) -> list[str]:
    """Delete files named ``prefix*`` in ``directory`` whose writer is gone; returns their paths.

    A file is stale when nobody holds its lock and it was not modified for ``grace`` seconds.
    Never raises: cleaning up is a courtesy, not a reason to fail a command.
    """
    removed: list[str] = []
    try:
        names = [name for name in os.listdir(directory) if name.startswith(prefix)]
    except OSError:
        return removed
    now = time.time()
    for name in names:
        path = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            if _remove_if_orphan(path, now - grace):
                removed.append(path)
    return removed


def _remove_if_orphan(path: str, older_than: float) -> bool:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_mtime > older_than:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        current = os.lstat(path)
        if (current.st_dev, current.st_ino) != (st.st_dev, st.st_ino):
            return False  # replaced meanwhile
        os.unlink(path)
        return True
    finally:
        os.close(fd)

