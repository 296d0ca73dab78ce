"""Exceptions with a meaning for the user.

:class:`HuisouError` and its subclasses are *user* errors: the CLI prints their message as one
line (no traceback) and exits with status 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HuisouError(Exception):
    """An error the user can act on; ``str(err)`` is a complete one-line message."""


class ConfigError(HuisouError):
    """The configuration file or a command-line value is invalid."""


class PluginError(HuisouError):
    """A plugin is missing, misbehaved or was asked for by a name nobody registered."""


class ModelError(HuisouError):
    """The model (its files, its settings or its encoder), not a photo, is at fault.

    It stops an indexing run and is never recorded against the photo being processed:
    every photo would fail the same way, and later runs would skip them as unreadable.
    """


class ModelNotAvailable(ModelError):
    """The requested model is not on disk; the message names the command that fetches it."""


class MediaError(HuisouError):
    """A single photo could not be used. Recorded in the catalog, never fatal to a run."""

    status = "unreadable"


class UnreadableMedia(MediaError):
    """The file is corrupt, truncated, empty, not an image, or a decompression bomb."""

    status = "unreadable"


class UnsupportedMedia(MediaError):
    """The file is a known image format that this installation cannot decode (e.g. HEIC)."""

    status = "unsupported"


class NotAnImage(MediaError):
    """The file's content is not an image at all (a document, a video): recorded, not counted as a failure."""

    status = "skipped"


class LibraryError(HuisouError):
    """The library database cannot be used as asked: missing, foreign, damaged, full, locked,
    read-only. The message names the file and what to do."""
