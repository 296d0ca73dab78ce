"""The ``folder`` source: every photo under a local folder (a laptop, a NAS mount, a phone copy).

The scan is a stat-only ``os.scandir`` walk: it never opens a file, so a re-run over an
unchanged tree costs one ``stat`` per file and nothing else (the catalog diff decides what to
read). What *is* a photo is decided later by content (``decode.py`` sniffs magic bytes), so a
JPEG saved as ``.png`` or without an extension is still found.

What the walk leaves out, and why (``explain_exclusion`` names the rule for ``huisou info``):

- **Hidden files and dot-folders** (``.cache``, ``.thumbnails``...): caches and app data, not
  photos people took. ``include_hidden=True`` walks them.
- **Default excludes** that users of other photo tools asked for: ``.git``, ``node_modules``,
  Synology ``@eaDir`` and ``#recycle``/``#snapshot``, ``.thumbnails``, Windows
  ``System Volume Information`` and ``$RECYCLE.BIN``, ``.Trash*`` / ``.Trashes``, macOS
  ``._*`` AppleDouble files (resource forks that copy next to every photo on non-Mac disks),
  ``Thumbs.db``, ``desktop.ini``, ``.DS_Store``.
- **Non-photo extensions** (videos, audio, documents, archives, sidecars such as ``.xmp`` and
  ``.aae``): the indexer reads a changed file whole to hash it, so letting a 4 GB video through
  would read 4 GB to learn it is not a photo. A photo saved as ``.mp4`` does not happen in
  practice; every other name (including none, or a wrong image extension) goes to the decoder.
  ``all_files=True`` turns this rule off.
- **User excludes**: globs (``fnmatch``) matched against the path relative to the root (with
  ``/`` separators) and against the name, e.g. ``*.tmp``, ``Screenshots``, ``2019/drafts/*``.

Symlinks inside the root are followed, but each real directory is walked once (real paths are
remembered), so a link to a parent cannot loop, and each file (device, inode) is yielded once:
a photo reached by two paths (a hard link, a link to a file) is one photo, at its real path
when the walk sees that (links to files come last). Links that lead **outside the root** are
not followed unless the source option ``follow_outside_links`` is true: a photo folder must
not make huisou read ``/etc/passwd`` (a linked file is recorded as skipped, with the reason;
a linked folder is a warning and an ``info`` rule). A folder
that cannot be read (or a link whose target is missing) is reported in ``warnings``, listed in
``unreadable`` and skipped; a root that cannot be read raises
:class:`~huisou.core.errors.MediaError`, which makes the indexer touch nothing (an unmounted
drive must not look like "all photos deleted").
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from huisou import hookimpl
from huisou.core.errors import HuisouError, MediaError, NotAnImage
from huisou.core.exclude import ExcludeRules
from huisou.core.interfaces import MediaItem, MediaSource, OptionSpec
from huisou.core.regular_files import open_regular

FOLLOW_HINT = "source option follow_outside_links=true follows such links"

DEFAULT_DIR_EXCLUDES = frozenset(
    {".git", "node_modules", "@eaDir", ".thumbnails", "System Volume Information",
     "$RECYCLE.BIN", ".Trashes", "#recycle", "#snapshot", ".Spotlight-V100", ".fseventsd",
     ".@__thumb", "lost+found"}
)
DEFAULT_FILE_EXCLUDES = frozenset({"Thumbs.db", "desktop.ini", ".DS_Store", ".picasa.ini"})

NON_PHOTO_EXTENSIONS = frozenset(
    {
        # video
        ".mp4", ".m4v", ".mov", ".qt", ".avi", ".mkv", ".webm", ".3gp", ".3g2", ".wmv", ".flv",
        ".mts", ".m2ts", ".mpg", ".mpeg", ".vob", ".insv", ".lrv",
        # audio
        ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus", ".amr", ".wma",
        # documents, archives, data
        ".txt", ".md", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".csv",
        ".json", ".xml", ".html", ".htm", ".log", ".ini", ".zip", ".rar", ".7z", ".tar", ".gz",
        ".bz2", ".xz", ".iso", ".dmg", ".apk", ".exe", ".dll", ".so", ".py", ".js", ".db",
        ".sqlite", ".db-wal", ".db-shm", ".db-journal", ".lock", ".tmp", ".part", ".crdownload",
        # sidecars next to photos (metadata or video thumbnails, not photos)
        ".xmp", ".aae", ".thm", ".pp3", ".dop", ".on1",
    }
)


class FolderSource(MediaSource):
    """Photos under a local folder, found by a stat-only recursive walk."""

    type_id: ClassVar[str] = "folder"
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("include_hidden", "also walk hidden files and dot-folders", False),
        OptionSpec("exclude", "glob of paths to skip, relative to the root or a name", [], True),
        OptionSpec("all_files", "also read video/audio/document extensions (content decides)",
                   False),
        OptionSpec("follow_outside_links", "follow symlinks that lead outside the root", False),
    )

    def __init__(self, root: str, **options: Any) -> None:
        super().__init__(os.path.abspath(os.path.expanduser(root)) if root else root, **options)
        #: Folders the last scan could not list. Their photos were not seen, which does not
        #: mean they were deleted: a caller should keep catalog entries under these paths.
        self.unreadable: list[str] = []
        self.include_hidden = bool(options.get("include_hidden", False))
        self.all_files = bool(options.get("all_files", False))
        self.follow_outside_links = bool(options.get("follow_outside_links", False))
        self._excludes = ExcludeRules.of_options(self.root, options)

    # -- roots ---------------------------------------------------------------------------------

    @classmethod
    def resolve_root(cls, root: str) -> str:
        """The absolute real path of ``root`` (symlinks resolved), the catalog's key for it."""
        if not root:
            raise HuisouError("the folder source needs a folder: huisou index FOLDER")
        path = os.path.realpath(os.path.abspath(os.path.expanduser(root)))
        if not os.path.isdir(path):
            raise HuisouError(f"not a folder: {path}")
        return path

    def _check_root(self) -> None:
        """Raise MediaError when the root is missing or unreadable (the run touches nothing)."""
        if not os.path.isdir(self.root):
            raise MediaError(f"folder not found: {self.root} (is the drive mounted?)")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise MediaError(f"cannot read folder {self.root}: permission denied")

    def _tops(self) -> list[str]:
        """Folders the walk starts from (the android source narrows this)."""
        return [self.root]

    @functools.cached_property
    def _root_real(self) -> str:
        return os.path.realpath(self.root)

    def _inside_root(self, real: str) -> bool:
        root = self._root_real
        return real == root or real.startswith(root.rstrip("/") + "/")

    def open(self, item: MediaItem) -> BinaryIO:
        """The file at its real path, if that is inside the root (or outside links are allowed)
        and a regular file; checked when opened, so a photo swapped for a link after the scan
        is refused too."""
        real = os.path.realpath(item.path)
        if not self.follow_outside_links and not self._inside_root(real):
            raise NotAnImage(f"a link to {real}, outside the source root: not read ({FOLLOW_HINT})")
        return open_regular(real)

    # -- rules (shared by the walk and by explain_exclusion) ---------------------------------

    def _glob_rule(self, rel: str, name: str, is_dir: bool) -> str | None:
        return self._excludes.match(rel, name, is_dir=is_dir)

    def dir_rule(self, name: str, rel: str) -> str | None:
        """Why the folder ``name`` (at ``rel`` under the root) is skipped, or None."""
        if name in DEFAULT_DIR_EXCLUDES or name.startswith(".Trash"):
            return f"default exclude {name}"
        if name.startswith(".") and not self.include_hidden:
            return f"hidden folder {name}"
        return self._glob_rule(rel, name, True)

    def file_rule(self, name: str, rel: str) -> str | None:
        """Why the file ``name`` (at ``rel`` under the root) is not a candidate, or None."""
        if name.startswith("._"):
            return "default exclude ._* (macOS AppleDouble file)"
        if name in DEFAULT_FILE_EXCLUDES:
            return f"default exclude {name}"
        if name.startswith(".") and not self.include_hidden:
            return f"hidden file {name}"
        rule = self._glob_rule(rel, name, False)  # the user's own rule is the better answer
        if rule:
            return rule
        if not self.all_files:
            dot = name.rfind(".")  # os.path.splitext, minus its cost on 100k names
            if dot > 0:
                ext = name[dot:].lower()
                if ext in NON_PHOTO_EXTENSIONS:
                    return f"non-photo extension {ext}"
        return None

    def listing_rule(self, dirpath: str, rel: str, names: set[str]) -> str | None:
        """Why a whole folder is skipped given the names it contains (android: ``.nomedia``)."""
        return None

    def select(
        self, rel_dir: str, files: list[os.DirEntry[str]], names: set[str]
    ) -> list[tuple[os.DirEntry[str], str | None]]:
        """The files of one folder that are candidates, each with its group key.

        ``files`` passed :meth:`file_rule`; ``names`` is everything the folder lists (the
        android source drops a photo whose trashed twin is there, and groups bursts).
        """
        return [(entry, None) for entry in files]

    # -- the walk ------------------------------------------------------------------------------

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def scan(self, cancel: threading.Event | None = None) -> Iterator[MediaItem]:
        """Yield every candidate file with a stat; never opens a file."""
        self._check_root()
        self.unreadable = []
        tops = self._tops()
        top_reals = [os.path.realpath(t) for t in tops]
        visited: set[str] = set()
        files: set[tuple[int, int]] = set()  # (device, inode) of every file yielded
        links: list[tuple[os.DirEntry[str], str | None]] = []
        for top, top_real in zip(tops, top_reals, strict=True):
            for entry, group in self._walk(top, top_real, top_reals, visited, cancel, links):
                yield from self._once(entry, group, files)
        for entry, group in links:  # the real path of a linked photo, when walked, won
            if cancel is not None and cancel.is_set():
                return
            yield from self._once(entry, group, files)

    @staticmethod
    def _once(
        entry: os.DirEntry[str], group: str | None, files: set[tuple[int, int]]
    ) -> Iterator[MediaItem]:
        """``entry`` as an item unless the same file was already yielded under another path."""
        try:
            st = entry.stat()
        except OSError:
            return  # vanished or unreadable since the listing: next run sees it
        key = (st.st_dev, st.st_ino)
        if key not in files:
            files.add(key)
            yield MediaItem(entry.path, st.st_size, st.st_mtime_ns, group)

    def _walk(
        self,
        top: str,
        top_real: str,
        top_reals: list[str],
        visited: set[str],
        cancel: threading.Event | None,
        links: list[tuple[os.DirEntry[str], str | None]],
    ) -> Iterator[tuple[os.DirEntry[str], str | None]]:
        """Candidate files in walk order; links to files go to ``links`` for the end."""
        stack: list[tuple[str, str]] = [(top, top_real)]
        while stack:
            if cancel is not None and cancel.is_set():
                return
            dirpath, real = stack.pop()
            if real in visited:
                continue
            visited.add(real)
            try:
                with os.scandir(dirpath) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except PermissionError:
                self.unreadable.append(dirpath)
                self.warnings.append(f"cannot read folder {dirpath}: permission denied; skipped")
                continue
            except OSError as exc:
                self.unreadable.append(dirpath)
                self.warnings.append(f"cannot read folder {dirpath}: {exc.strerror or exc}; skipped")
                continue
            rel_dir = "" if dirpath == self.root else self._rel(dirpath)
            names = {e.name for e in entries}
            if self.listing_rule(dirpath, rel_dir, names):
                continue
            subdirs: list[tuple[str, str]] = []
            files: list[os.DirEntry[str]] = []
            for entry in entries:
                name = entry.name
                rel = f"{rel_dir}/{name}" if rel_dir else name
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir:
                    if self.dir_rule(name, rel):
                        continue
                    sub_real = self._dir_real(entry, real, top_reals)
                    if sub_real is not None and not self._may_enter(sub_real):
                        self.warnings.append(
                            f"link {entry.path} leads outside the source root, to {sub_real}; "
                            f"not followed ({FOLLOW_HINT})"
                        )
                    elif sub_real is not None and sub_real not in visited:
                        subdirs.append((entry.path, sub_real))
                elif self._dangling_link(entry):
                    if not self.dir_rule(name, rel):
                        # a link to an unmounted drive: its photos were not seen, not deleted
                        self.unreadable.append(entry.path)
                        self.warnings.append(
                            f"link {entry.path}: its target is missing (is the drive mounted?); "
                            "photos indexed under it are kept"
                        )
                elif not self.file_rule(name, rel):
                    # a file, or a FIFO/device/socket: ``open`` refuses the latter, so the
                    # catalog records it as skipped with its kind instead of losing it silently
                    files.append(entry)
            for entry, group in self.select(rel_dir, files, names):
                if cancel is not None and cancel.is_set():
                    return
                if entry.is_symlink():
                    links.append((entry, group))
                else:
                    yield entry, group
            stack.extend(reversed(subdirs))

    def _may_enter(self, real: str) -> bool:
        return self.follow_outside_links or self._inside_root(real)

    @staticmethod
    def _dangling_link(entry: os.DirEntry[str]) -> bool:
        try:
            return entry.is_symlink() and not os.path.exists(entry.path)
        except OSError:
            return False

    @staticmethod
    def _dir_real(entry: os.DirEntry[str], parent_real: str, top_reals: list[str]) -> str | None:
        """Real path of a sub-folder; None for a link into a tree the scan walks anyway."""
        try:
            is_link = entry.is_symlink()
        except OSError:
            return None
        if not is_link:
            return os.path.join(parent_real, entry.name)
        target = os.path.realpath(entry.path)
        for top in top_reals:
            inside = target == top or target.startswith(top.rstrip("/") + "/")
            ancestor = top.startswith(target.rstrip("/") + "/")
            if inside or ancestor:
                return None  # walked at its real place anyway, or a loop through an ancestor
        return target

    # -- explanations ------------------------------------------------------------------------

    def outside_rule(self, rel: str) -> str | None:
        """Why a path under the root is outside the walked folders (android), or None."""
        return None

    def explain_exclusion(self, path: str) -> str | None:
        """The rule that keeps ``path`` out of this source, or None when it is a candidate."""
        path = os.path.abspath(path)
        if not self.contains(path) or path == self.root:
            return None
        rel = self._rel(path)
        outside = self.outside_rule(rel)
        if outside:
            return outside
        parts = rel.split("/")
        current = self.root
        for depth, name in enumerate(parts[:-1]):
            sub_rel = "/".join(parts[: depth + 1])
            names = self._names(current)
            rule = self.listing_rule(current, "" if depth == 0 else "/".join(parts[:depth]), names)
            if rule:
                return rule
            rule = self.dir_rule(name, sub_rel)
            if rule:
                return rule
            current = os.path.join(current, name)
            rule = self._link_rule(current, sub_rel)
            if rule:
                return rule
        parent_rel = "/".join(parts[:-1])
        rule = self.listing_rule(current, parent_rel, self._names(current))
        if rule:
            return rule
        if os.path.isdir(path):
            return self.dir_rule(parts[-1], rel)
        rule = self.file_rule(parts[-1], rel) or self._file_link_rule(path)
        if rule:
            return rule
        return self.twin_rule(current, parts[-1])

    def _file_link_rule(self, path: str) -> str | None:
        """Why a link to a file is not read (see :meth:`open`)."""
        if not os.path.islink(path):
            return None
        real = os.path.realpath(path)
        if not self._may_enter(real):
            return f"a link to {real}, outside the source root: not read ({FOLLOW_HINT})"
        return None

    def _link_rule(self, dirpath: str, rel: str) -> str | None:
        """Why the walk does not enter the linked folder ``dirpath`` (see :meth:`_dir_real`)."""
        if not os.path.islink(dirpath):
            return None
        target = os.path.realpath(dirpath)
        try:
            tops = [os.path.realpath(t) for t in self._tops()]
        except MediaError:
            tops = [os.path.realpath(self.root)]
        for top in tops:
            if top.startswith(target.rstrip("/") + "/") or target == top:
                return f"symlink loop: {rel} links back to {target}"
            if target.startswith(top.rstrip("/") + "/"):
                return f"linked folder {rel}: its photos are indexed at {target}"
        if not self._may_enter(target):
            return f"linked folder {rel} leads outside the source root, to {target} ({FOLLOW_HINT})"
        return None

    def twin_rule(self, dirpath: str, name: str) -> str | None:
        """Why a file is dropped because of a sibling (android: its trashed twin), or None."""
        return None

    @staticmethod
    def _names(dirpath: str) -> set[str]:
        try:
            return set(os.listdir(dirpath))
        except OSError:
            return set()


@hookimpl
def register_media_sources(register: Any) -> None:
    register(FolderSource)
