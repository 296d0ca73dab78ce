"""The search box: an ``Input`` that leaves ``?`` to the app, so help opens while typing.

Photo descriptions have no use for a question mark, and Termux's extra-keys row has no F1.
Keys are left to the app, not typed, in two more cases: ``/`` into an empty box (the "focus
the query" key pressed once too often), and the keys the first-run guide names (``a``,
``i``, ``1``-``5``) while the guide is shown and the box is empty: with no photos there is
nothing to search for, and the guide's keys must work as written.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

#: Keys the first-run guide tells the user to press.
GUIDE_KEYS = frozenset("ai12345")


class QueryInput(Input):
    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character == "?" or self._leaves_to_app(character):
            return False
        return super().check_consume_key(key, character)

    def _leaves_to_app(self, character: str | None) -> bool:
        if self.value or character is None:
            return False
        first_run = self.screen.has_class("-first-run")
        return character == "/" or (first_run and character in GUIDE_KEYS)

    async def _on_key(self, event: events.Key) -> None:
        if self._leaves_to_app(event.character):
            event.prevent_default()
            return
        await super()._on_key(event)
