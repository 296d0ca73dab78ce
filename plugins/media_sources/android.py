"""The ``android`` source: the phone's camera roll, seen the way Android's gallery sees it.

Runs inside Termux on the phone (after ``termux-setup-storage``) or on a desktop over a copied
phone tree (``huisou index --source android --root DIR``). Facts and sources are in
``docs/research/termux.md``; the rules below follow AOSP MediaProvider's ``FileUtils``.

What is scanned (option ``folders``, relative to the storage root, matched case-insensitively):
``DCIM``, ``Pictures`` (screenshots, app exports such as ``Pictures/Telegram``), top-level
``Screenshots`` (some Asus builds), the WhatsApp image folders at the old place
(``WhatsApp/Media/WhatsApp Images``) and the Android 11+ place
(``Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images``), and WhatsApp Business'.
``Android/data`` and ``Android/obb`` are never walked: app-private, unreadable on Android 11+.

What the gallery would not show is not indexed either:

- ``.nomedia`` in a folder or any ancestor hides the subtree, except in the top-level standard
  folders (``DCIM``, ``Pictures``, ``Download``, ``Movies``, ``Music``, ``Documents``...,
  case-insensitive) and ``DCIM/Camera``, where MediaProvider deletes the ``.nomedia`` and keeps
  them visible (``FileUtils.isDirectoryHidden``). So WhatsApp's ``Sent`` and ``Private``
  folders (which carry ``.nomedia``) stay out, and so does everything under a ``.nomedia``
  that a user or app put in ``Pictures/SomeApp``.
- dot-folders and dot-files are hidden (``include_hidden`` walks them anyway).
- ``.trashed-<expiry>-<name>`` and ``.pending-<expiry>-<name>`` files (Android 11+ trash and
  in-progress writes) are never indexed, and when ``.trashed-…-IMG_1.jpg`` sits next to
  ``IMG_1.jpg`` the original is dropped too: the user deleted it in the gallery.
- **Motion photos** (Google ``…MP.jpg``, Samsung, Xiaomi: a JPEG with an MP4 appended) are one
  file, so they are one item; the decoder reads the still. A separate video with the same name
  as a photo (a side video, an iPhone Live Photo's ``.MOV``) is never an item, even with
  ``all_files``.

Burst series become one ``group`` (``burst:<folder>/<key>``), each frame still its own item.
Recognised names:

- ``IMG_20180914_094602055_BURST000_COVER.jpg``, ``…_BURST001.jpg`` (Motorola, Fairphone,
  Honor, Huawei): the text before ``_BURSTnnn`` is the key.
- ``00000IMG_00000_BURST20171111030039_COVER.jpg`` (older Google Camera) and Sony's
  ``DSC_0000_BURST20171111030039.JPG``: the 14-digit timestamp after ``BURST`` is the key.
- ``20231207_101605_001.jpg … _039.jpg`` (Samsung): ``date_time`` is the key, only when at
  least two such files share it (a lone ``_001`` is not a series).
- ``PXL_20231207_101605123.RAW-01.MP.COVER.jpg`` with ``….RAW-02.ORIGINAL.dng`` (Pixel).
"""

from __future__ import annotations

import glob
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

from huisou import hookimpl
from huisou.core.errors import HuisouError, MediaError
from huisou.core.interfaces import MediaItem, OptionSpec
from huisou.plugins.media_sources.folder import DEFAULT_DIR_EXCLUDES, FolderSource

SETUP_HINT = (
    "run 'termux-setup-storage' in Termux and allow storage access (on Android 11+, if it "
    "still fails, revoke and grant the storage permission again in Android settings)"
)

DEFAULT_FOLDERS: tuple[str, ...] = (
    "DCIM",
    "Pictures",
    "Screenshots",
    "WhatsApp/Media/WhatsApp Images",
    "Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images",
    "Android/media/com.whatsapp.w4b/WhatsApp Business/Media/WhatsApp Business Images",
)

#: AOSP ``FileUtils.DEFAULT_FOLDER_NAMES``: top-level folders a ``.nomedia`` cannot hide.
STANDARD_TOP_LEVEL = frozenset(
    name.lower()
    for name in ("Music", "Podcasts", "Ringtones", "Alarms", "Notifications", "Pictures",
                 "Movies", "Download", "DCIM", "Documents", "Audiobooks")
)
#: AOSP ``PATTERN_EXPIRES_FILE``.
EXPIRES_FILE = re.compile(r"(?i)^\.(pending|trashed)-(\d+)-([^/]+)$")
PRIVATE_APP_DIRS = re.compile(r"(?i)^android/(data|obb)(/|$)")

BURST_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = (
    # (pattern with a "key" group, needs at least two members)
    (re.compile(r"^(?P<key>.+)_BURST\d{1,3}(?:_COVER)?\.[^.]+$", re.I), False),
    (re.compile(r"^.*_BURST(?P<key>\d{14})(?:_COVER)?\.[^.]+$", re.I), False),
    (re.compile(r"^(?P<key>PXL_\d{8}_\d{6,9})\.RAW-\d{2}\..+$", re.I), False),
    (re.compile(r"^(?P<key>\d{8}_\d{6})_\d{3}\.(?:jpe?g|heic|heif)$", re.I), True),
)

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".3gp", ".mkv", ".webm", ".avi", ".qt"}
)


def is_android() -> bool:
    """True on Android (Termux's Python 3.13+ reports ``android``; older ones ``linux``)."""
    if sys.platform == "android" or hasattr(sys, "getandroidapilevel"):
        return True
    if os.environ.get("TERMUX_VERSION") or "com.termux" in os.environ.get("PREFIX", ""):
        return True
    return os.path.exists("/system/build.prop")


def burst_key(name: str) -> tuple[str, bool] | None:
    """``(key, needs_two)`` when ``name`` looks like a burst frame, else None."""
    for pattern, needs_two in BURST_PATTERNS:
        match = pattern.match(name)
        if match:
            return match.group("key"), needs_two
    return None


class AndroidSource(FolderSource):
    """The camera roll of an Android phone's shared storage (or a copy of it)."""

    type_id: ClassVar[str] = "android"
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("folders", "folders under the storage root to scan", list(DEFAULT_FOLDERS),
                   True),
        OptionSpec("exclude", "glob of paths to skip, relative to the root or a name", [], True),
        OptionSpec("include_hidden", "also walk dot-folders and dot-files", False),
        OptionSpec("all_files", "also read video/audio/document extensions", False),
        OptionSpec("follow_outside_links", "follow symlinks that lead outside the root", False),
    )
    #: Where shared storage is mounted, tried after ``~/storage/shared`` (tests override it).
    SYSTEM_STORAGE: ClassVar[tuple[str, ...]] = ("/storage/emulated/0", "/sdcard")

    def __init__(self, root: str, **options: Any) -> None:
        super().__init__(root, **options)
        folders = options.get("folders") or list(DEFAULT_FOLDERS)
        if isinstance(folders, str):
            folders = [folders]
        self.folders = [str(f).strip("/") for f in folders if str(f).strip("/")]

    # -- finding the storage -------------------------------------------------------------

    @classmethod
    def storage_candidates(cls) -> list[str]:
        """Primary shared storage locations, most specific first."""
        home = os.path.expanduser("~")
        return [os.path.join(home, "storage", "shared"), *cls.SYSTEM_STORAGE]

    @classmethod
    def sd_card_roots(cls) -> list[str]:
        """Removable volumes from Termux's ``~/storage/external-N`` links.

        ``/storage`` cannot be listed on Android 11+, so the volume root is derived from the
        app-specific folder Termux links to (``<volume>/Android/data/com.termux/files``).
        """
        roots = []
        pattern = os.path.join(os.path.expanduser("~"), "storage", "external-*")
        for link in sorted(glob.glob(pattern)):
            real = os.path.realpath(link)
            marker = "/Android/data/com.termux"
            if marker in real:
                volume = real.split(marker, 1)[0]
                if volume and volume not in roots:
                    roots.append(volume)
        return roots

    @classmethod
    def resolve_root(cls, root: str) -> str:
        """``root`` as a real path, or (``""``) the detected shared storage.

        Raises:
            MediaError: storage exists but cannot be read (the termux-setup-storage hint).
            HuisouError: nothing to use (not on Android and no ``--root``).
        """
        if root:
            path = os.path.realpath(os.path.abspath(os.path.expanduser(root)))
            if not os.path.isdir(path):
                raise HuisouError(f"not a folder: {path}")
            return path
        denied: list[str] = []
        for candidate in cls.storage_candidates():
            if not os.path.isdir(candidate):
                continue
            try:
                os.listdir(candidate)
            except OSError:
                denied.append(candidate)
                continue
            return os.path.realpath(candidate)
        if denied:
            raise MediaError(f"cannot read shared storage {denied[0]}: {SETUP_HINT}")
        if is_android():
            raise MediaError(f"shared storage not found (~/storage/shared, /sdcard): {SETUP_HINT}")
        raise HuisouError(
            "no Android shared storage here (not running in Termux on a phone?): point at a "
            "copied phone tree with 'huisou index --source android --root DIR'"
        )

    # -- the scan ----------------------------------------------------------------------------

    def _check_root(self) -> None:
        try:
            with os.scandir(self.root) as listing:
                next(iter(listing), None)
        except FileNotFoundError:
            raise MediaError(f"shared storage not found at {self.root}: {SETUP_HINT}") from None
        except OSError as exc:
            reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
            raise MediaError(f"cannot read {self.root} ({reason}): {SETUP_HINT}") from None

    def _resolve_folder(self, rel: str) -> str | None:
        """Find ``rel`` under the root, matching each part case-insensitively (like Android)."""
        current = self.root
        for part in rel.split("/"):
            exact = os.path.join(current, part)
            if os.path.isdir(exact):
                current = exact
                continue
            try:
                match = next(
                    (n for n in sorted(os.listdir(current)) if n.lower() == part.lower()), None
                )
            except OSError:
                return None
            if match is None or not os.path.isdir(os.path.join(current, match)):
                return None
            current = os.path.join(current, match)
        return current

    def _tops(self) -> list[str]:
        tops: list[str] = []
        found_any = False
        for rel in self.folders:
            path = self._resolve_folder(rel)
            if path is None:
                continue
            found_any = True
            if self._ancestry_rule(self._rel(path)) is None and path not in tops:
                tops.append(path)
        if not found_any:
            wanted = ", ".join(self.folders[:3])
            if os.path.basename(self.root).lower() in {f.split("/")[0].lower() for f in self.folders}:
                raise MediaError(
                    f"{self.root} is one of the scanned folders itself: point the android "
                    f"source at the storage root that holds it ({os.path.dirname(self.root)})"
                )
            raise MediaError(
                f"none of {wanted}... under {self.root}: point --root at the phone's shared "
                f"storage (the folder holding DCIM); on the phone, {SETUP_HINT}"
            )
        return tops

    def _ancestry_rule(self, rel: str) -> str | None:
        """The rule hiding the folder at ``rel`` through itself or an ancestor, or None."""
        parts = rel.split("/")
        current = self.root
        for depth, name in enumerate(parts):
            parent_rel = "/".join(parts[:depth])
            rule = self.listing_rule(current, parent_rel, self._names(current))
            if rule:
                return rule
            rule = self.dir_rule(name, "/".join(parts[: depth + 1]))
            if rule:
                return rule
            current = os.path.join(current, name)
        return None

    def scan(self, cancel: threading.Event | None = None) -> Iterator[MediaItem]:
        """The folder walk over the scanned folders; all of them unreadable is a MediaError.

        One unreadable folder is a warning (the others are indexed), but when not a single
        scanned folder can be listed the storage permission is gone (Android 11+ after an
        update, or the Play build of Termux), and the run must touch nothing.
        """
        yield from super().scan(cancel)
        tops = self._tops()
        if tops and all(top in self.unreadable for top in tops):
            raise MediaError(f"cannot read {', '.join(tops)}: {SETUP_HINT}")

    # -- rules -------------------------------------------------------------------------------

    def dir_rule(self, name: str, rel: str) -> str | None:
        if PRIVATE_APP_DIRS.match(rel):
            return f"{rel.split('/')[0]}/{rel.split('/')[1]} is app-private storage (not scanned)"
        if name in DEFAULT_DIR_EXCLUDES:
            return f"default exclude {name}"
        if name.startswith(".") and not self.include_hidden:
            return f"hidden folder {name} (Android hides dot-folders)"
        return self._glob_rule(rel, name, True)

    def file_rule(self, name: str, rel: str) -> str | None:
        match = EXPIRES_FILE.match(name)
        if match:
            kind = match.group(1).lower()
            if kind == "trashed":
                return f"in the phone's trash (.trashed-*-{match.group(3)})"
            return f"still being written on the phone (.pending-*-{match.group(3)})"
        return super().file_rule(name, rel)

    def listing_rule(self, dirpath: str, rel: str, names: set[str]) -> str | None:
        if ".nomedia" not in names:
            return None
        if rel and "/" not in rel and rel.lower() in STANDARD_TOP_LEVEL:
            return None  # MediaProvider deletes this .nomedia and shows the folder
        if rel.lower() == "dcim/camera":
            return None
        return f".nomedia in {rel or 'the storage root'}"

    def outside_rule(self, rel: str) -> str | None:
        if PRIVATE_APP_DIRS.match(rel):
            return self.dir_rule(rel.split("/")[1], "/".join(rel.split("/")[:2]))
        lowered = rel.lower()
        for folder in self.folders:
            prefix = folder.lower()
            if lowered == prefix or lowered.startswith(prefix + "/"):
                return None
        return f"outside the scanned folders ({', '.join(self.folders)})"

    def twin_rule(self, dirpath: str, name: str) -> str | None:
        names = self._names(dirpath)
        if name in self._trashed_twins(names):
            return f"in the phone's trash (a .trashed-*-{name} copy exists)"
        if self._is_side_video(name, names):
            return "side video of a photo (the photo is the item)"
        return None

    @staticmethod
    def _trashed_twins(names: set[str]) -> set[str]:
        twins = set()
        for name in names:
            match = EXPIRES_FILE.match(name)
            if match and match.group(1).lower() == "trashed":
                twins.add(match.group(3))
        return twins

    @staticmethod
    def _still_stems(names: set[str]) -> set[str]:
        """Lower-case stems of the non-video files of a folder (``X.MP.jpg`` also gives ``x``)."""
        stems = set()
        for other in names:
            stem, ext = os.path.splitext(other)
            if ext.lower() not in VIDEO_EXTENSIONS:
                stem = stem.lower()
                stems.add(stem)
                if stem.endswith(".mp"):
                    stems.add(stem[:-3])
        return stems

    @classmethod
    def _is_side_video(cls, name: str, names: set[str], stems: set[str] | None = None) -> bool:
        stem, ext = os.path.splitext(name)
        if ext.lower() not in VIDEO_EXTENSIONS:
            return False
        return stem.lower() in (stems if stems is not None else cls._still_stems(names))

    def select(
        self, rel_dir: str, files: list[os.DirEntry[str]], names: set[str]
    ) -> list[tuple[os.DirEntry[str], str | None]]:
        twins = self._trashed_twins(names)
        stems = self._still_stems(names)
        kept = [
            e for e in files
            if e.name not in twins and not self._is_side_video(e.name, names, stems)
        ]
        keys = {e.name: burst_key(e.name) for e in kept}
        counts = Counter(key for key, _two in filter(None, keys.values()))
        out: list[tuple[os.DirEntry[str], str | None]] = []
        for entry in kept:
            found = keys[entry.name]
            group = None
            if found is not None:
                key, needs_two = found
                if not needs_two or counts[key] >= 2:
                    group = f"burst:{rel_dir}/{key}" if rel_dir else f"burst:{key}"
            out.append((entry, group))
        return out


@hookimpl
def register_media_sources(register: Any) -> None:
    register(AndroidSource)
