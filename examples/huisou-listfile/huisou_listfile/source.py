"""``ListFileSource``: the photos a list names, read from text, CSV or an export folder."""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from huisou.core.errors import MediaError
from huisou.core.interfaces import MediaItem, MediaSource, OptionSpec

LIST_SUFFIXES = (".txt", ".lst", ".m3u", ".csv")
CSV_COLUMNS = ("path", "originalpath", "filepath", "file")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".gif",
                  ".bmp", ".avif", ".dng")


class ListFileSource(MediaSource):
    """Photos named by a list file (text or CSV) or by the lists of an export folder.

    The list is read on every scan (reading the list is not reading a photo: photos are only
    ``stat``-ed). Missing entries become warnings, as unreadable folders do for the folder
    source.
    """

    type_id: ClassVar[str] = "listfile"
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("base", "folder that relative paths are relative to (default: the list's)"),
    )

    def __init__(self, root: str, **options: Any) -> None:
        super().__init__(os.path.abspath(os.path.expanduser(root)), **options)
        self.base = options.get("base")

    # -- reading lists ---------------------------------------------------------------------

    def list_files(self) -> list[Path]:
        """The list files this source reads (the root itself, or those of an export folder)."""
        root = Path(self.root)
        if root.is_dir():
            return sorted(p for p in root.iterdir()
                          if p.is_file() and p.suffix.lower() in LIST_SUFFIXES)
        return [root]

    def _entries(self, list_file: Path) -> Iterator[str]:
        base = Path(os.path.expanduser(self.base)) if self.base else list_file.parent
        if list_file.suffix.lower() == ".csv":
            raw = self._csv_entries(list_file)
        else:
            raw = self._text_entries(list_file)
        for entry in raw:
            path = Path(os.path.expanduser(entry))
            yield os.path.normpath(path if path.is_absolute() else base / path)

    def _text_entries(self, list_file: Path) -> Iterator[str]:
        with open(list_file, encoding="utf-8-sig", errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    yield line

    def _csv_entries(self, list_file: Path) -> Iterator[str]:
        with open(list_file, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = {name.strip().lower(): name for name in reader.fieldnames or []}
            column = next((columns[c] for c in CSV_COLUMNS if c in columns), None)
            if column is None:
                self.warnings.append(
                    f"{list_file}: no path column (expected one of {', '.join(CSV_COLUMNS)})"
                )
                return
            for row in reader:
                value = (row.get(column) or "").strip()
                if value:
                    yield value

    def _folder_photos(self) -> Iterator[str]:
        for dirpath, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith(".") and name.lower().endswith(PHOTO_SUFFIXES):
                    yield os.path.join(dirpath, name)

    def listed_paths(self) -> Iterator[str]:
        """Every listed path, absolute and normalised, in list order (duplicates included)."""
        if not os.path.exists(self.root):
            raise MediaError(f"list not found: {self.root}")
        lists = self.list_files()
        if not lists and os.path.isdir(self.root):
            yield from self._folder_photos()
            return
        for list_file in lists:
            try:
                yield from self._entries(list_file)
            except OSError as exc:
                # MediaError, not a warning: the photos of a list we cannot read were not
                # seen, which must not look like "deleted" (the indexer then removes nothing).
                reason = exc.strerror or exc
                raise MediaError(f"cannot read list {list_file}: {reason}") from None

    # -- the MediaSource contract ----------------------------------------------------------

    def scan(self, cancel: threading.Event | None = None) -> Iterator[MediaItem]:
        seen: set[str] = set()
        for path in self.listed_paths():
            if cancel is not None and cancel.is_set():
                return
            if path in seen:
                continue
            seen.add(path)
            try:
                st = os.stat(path)
            except OSError as exc:
                self.warnings.append(f"listed file missing: {path} ({exc.strerror or exc})")
                continue
            if not os.path.isfile(path):
                self.warnings.append(f"listed path is not a file: {path}")
                continue
            yield MediaItem(path, st.st_size, st.st_mtime_ns)

    def contains(self, path: str) -> bool:
        return os.path.normpath(path) in set(self._safe_listed())

    def explain_exclusion(self, path: str) -> str | None:
        if self.contains(path):
            return None
        where = self.root if not os.path.isdir(self.root) else f"the lists in {self.root}"
        return f"not listed in {where}"

    def _safe_listed(self) -> Iterator[str]:
        try:
            yield from self.listed_paths()
        except MediaError:
            return
