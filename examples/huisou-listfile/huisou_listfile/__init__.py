"""huisou-listfile: a media source over the photos named in a list file or an export folder.

Only this module is named by the entry point; it imports nothing heavy, so huisou's start-up
stays fast.
"""

from __future__ import annotations

from typing import Any

from huisou import hookimpl

from huisou_listfile.source import ListFileSource

__version__ = "0.1.0"
__all__ = ["ListFileSource"]


@hookimpl
def register_media_sources(register: Any) -> None:
    register(ListFileSource)
