"""Built-in plugin: the ``text`` search signal (file names, folders, full-text fields).

See :mod:`.signal` for where it looks and :mod:`.matching` for how matches rank.
"""

from __future__ import annotations

from collections.abc import Callable

from huisou import hookimpl

from .signal import TextSignal


@hookimpl
def register_search_signals(register: Callable[..., None]) -> None:
    register(TextSignal())
