"""``huisou`` with no arguments opens the TUI in a real terminal (a pseudo-terminal here).

Pilot tests run the app headless; this one goes through the CLI, Textual's Linux driver and
the terminal probe of textual-image, and checks that quitting leaves no traceback.
"""

from __future__ import annotations

import os
import re
import select
import sys
import time
from pathlib import Path

import pytest

pty = pytest.importorskip("pty")


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def _plain(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    return re.sub(r"\x1b(\[[0-9;?<>=$]*[a-zA-Z~]|[\]P_][^\x07\x1b]*(\x07|\x1b\\))", "", text)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_huisou_without_arguments_opens_the_tui_and_quits_cleanly(tmp_path: Path) -> None:
    import fcntl
    import struct
    import termios

    env = dict(os.environ, HUISOU_HOME=str(tmp_path / "home"), TERM="xterm-256color")
    env.pop("HUISOU_CONFIG", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: become `huisou` in the terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "huisou"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 48, 0, 0))  # a phone
    try:
        screen = _read_until(fd, b"Welcome", 20)
        assert b"Welcome" in screen, _plain(screen)[-2000:]
        os.write(fd, b"?")
        screen += _read_until(fd, b"huisou keys", 10)
        os.write(fd, b"\x1b")
        time.sleep(0.3)
        os.write(fd, b"\x11")  # ctrl+q
        screen += _read_until(fd, b"\x1b[?1049l", 10)  # leaves the alternate screen
    finally:
        deadline = time.monotonic() + 10
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            _read_until(fd, b"\0", 0.1)
        if not done:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    text = _plain(screen)
    assert done and os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert "huisou keys" in text
    assert "Traceback" not in text
