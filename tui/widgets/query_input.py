"""The search box: an ``Input`` that leaves ``?`` to the app, so help opens while typing.

Photo descriptions have no use for a question mark, and Termux's extra-keys row has no F1.
"""

from __future__ import annotations

from textual.widgets import Input


class QueryInput(Input):
    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character == "?":
            return False
        return super().check_consume_key(key, character)
