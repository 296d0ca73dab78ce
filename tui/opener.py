"""Hand a photo to the system viewer (``termux-open``, ``xdg-open`` or ``open``).

The opener is injected into the app, so tests pass a recorder and never launch anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

#: Preference order: Termux first (``xdg-open`` may also exist there but does nothing useful).
OPENERS: tuple[str, ...] = ("termux-open", "xdg-open", "open")

Opener = Callable[[str], None]


def remote_session(env: Mapping[str, str] | None = None) -> bool:
    """An SSH session with no display forwarded: a viewer would open on the far machine's
    screen, or nowhere (Termux's ``termux-open`` is local even over SSH into the phone)."""
    env = os.environ if env is None else env
    ssh = bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY"))
    display = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return ssh and not display and sys.platform != "darwin"


class SystemOpener:
    """Runs the first available opener command, detached, without waiting for it."""

    def __init__(self, candidates: Sequence[str] = OPENERS,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = next((c for c in candidates if shutil.which(c)), None)
        self.remote = remote_session(env) and self.command != "termux-open"

    def __call__(self, path: str) -> None:
        if self.remote:
            raise OSError(
                "this is an SSH session without a display: no viewer can show it here; "
                "c copies the path (the terminal passes it to your clipboard)"
            )
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
