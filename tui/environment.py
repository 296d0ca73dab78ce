"""Facts about where the TUI runs that change what it tells the user (Termux storage)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Environment:
    """What the UI needs to know about the device.

    Built once by :func:`detect`; tests construct it directly to show the Termux states.
    """

    termux: bool = False
    storage_ok: bool = True

    @property
    def storage_hint(self) -> str | None:
        """One line telling a Termux user how to grant storage access, or None."""
        if self.termux and not self.storage_ok:
            return (
                "Storage permission missing: run termux-setup-storage, allow access, "
                "then restart huisou."
            )
        return None


def is_termux(env: Mapping[str, str] | None = None) -> bool:
    """Termux sets ``TERMUX_VERSION``; its ``PREFIX`` lives under ``com.termux``."""
    env = os.environ if env is None else env
    return bool(env.get("TERMUX_VERSION")) or "com.termux" in env.get("PREFIX", "")


def detect(env: Mapping[str, str] | None = None, home: Path | None = None) -> Environment:
    """Check for Termux and, there, whether ``~/storage/shared`` is readable."""
    if not is_termux(env) and sys.platform != "android":
        return Environment()
    shared = (home or Path.home()) / "storage" / "shared"
    try:
        with os.scandir(shared) as listing:  # closed: Termux keeps the app running for days
            next(listing, None)
        ok = True
    except OSError:
        ok = False
    return Environment(termux=True, storage_ok=ok)
