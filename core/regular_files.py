"""Opening a file that claims to be a photo without trusting it: only regular files are opened.

Why: ``open()`` on a FIFO blocks until a writer appears (``huisou info`` and the indexer hung,
and SIGINT could not stop a thread stuck in it), a character device such as ``/dev/zero``
never ends, and opening some devices has side effects (a tape rewinds, a terminal becomes
the controlling one). So the path is ``stat``-ed first and only a regular file is opened, with
``O_NONBLOCK | O_NOCTTY``, and checked again with ``fstat`` on the descriptor actually opened
(the file may have been replaced by a FIFO in between). Reads are capped by the caller.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from huisou.core.errors import NotAnImage

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotARegularFile(NotAnImage):
    """A FIFO, device, socket or folder where a photo was expected: recorded, never read."""


def kind_of(mode: int) -> str:
    """What a non-regular file is, for messages: ``"a FIFO (named pipe)"``..."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(mode: int) -> None:
    """Raise :class:`NotARegularFile` unless ``mode`` (an ``st_mode``) is a regular file's."""
    if not stat.S_ISREG(mode):
        raise NotARegularFile(f"{kind_of(mode)}, not a regular file: not read")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for reading if, and only if, it is a regular file (links followed).

    Raises :class:`NotARegularFile` for anything else and ``OSError`` when it cannot be read.
    """
    check_regular(os.stat(path).st_mode)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        check_regular(os.fstat(fd).st_mode)  # swapped for a FIFO since the stat?
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
