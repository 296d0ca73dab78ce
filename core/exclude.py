"""The ``exclude`` option of every source, applied by the host.

Why in core: a source written from the plugin template did not know it had to honour
``--exclude``, and the user's rule was silently ignored. The indexer now drops every item an
exclude glob matches, whatever the source; sources may still use :class:`ExcludeRules` during
their walk to skip whole folders early (the folder source does).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Any


class ExcludeRules:
    """``fnmatch`` globs matched against a path relative to the source root, or its name."""

    def __init__(self, root: str, patterns: Iterable[str]) -> None:
        self.root = root.rstrip("/") + "/" if root else ""
        self._globs = [(p, re.compile(fnmatch.translate(p))) for p in patterns if p]

    @classmethod
    def of_options(cls, root: str, options: dict[str, Any]) -> ExcludeRules:
        """The rules of a source's stored options (``exclude``: a glob or a list of them)."""
        patterns = options.get("exclude") or []
        if isinstance(patterns, str):
            patterns = [patterns]
        return cls(root, [str(p) for p in patterns])

    def __bool__(self) -> bool:
        return bool(self._globs)

    def match(self, rel: str, name: str, *, is_dir: bool = False) -> str | None:
        """The rule excluding ``rel`` (relative path) named ``name``, or None."""
        for pattern, regex in self._globs:
            if regex.match(rel) or regex.match(name) or (is_dir and regex.match(rel + "/")):
                return f"exclude glob {pattern!r}"
        return None

    def rule_for(self, path: str) -> str | None:
        """The rule excluding an item's ``path`` (absolute path or URI), or None. Every folder
        above the item is checked too, so ``exclude=Archive`` skips what is under it."""
        if not self._globs:
            return None
        rel = path[len(self.root):] if self.root and path.startswith(self.root) else path
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            rule = self.match("/".join(parts[:depth]), parts[depth - 1], is_dir=True)
            if rule:
                return rule
        return self.match(rel, parts[-1])
