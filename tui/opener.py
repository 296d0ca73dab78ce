"""Hand a photo to the system viewer (``termux-open``, ``xdg-open`` or ``open``).

The opener is injected into the app, so tests pass a recorder and never launch anything.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence

#: Preference order: Termux first (``xdg-open`` may also exist there but does nothing useful).
OPENERS: tuple[str, ...] = ("termux-open", "xdg-open", "open")

Opener = Callable[[str], None]


class SystemOpener:
    """Runs the first available opener command, detached, without waiting for it."""

    def __init__(self, candidates: Sequence[str] = OPENERS) -> None:
        self.command = next((c for c in candidates if shutil.which(c)), None)

    def __call__(self, path: str) -> None:
        if self.command is None:
            raise OSError(
                "no system viewer found (install xdg-utils, or termux-tools on Termux)"
            )
        subprocess.Popen(  # noqa: S603 - fixed command, path passed as one argument
            [self.command, path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


class RecordingOpener:
    """Test double: remembers the paths it was asked to open."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, path: str) -> None:
        self.opened.append(path)
