"""Every TUI action in the command palette (``ctrl+p``), so nothing needs a special key."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

#: (title, help, action string run on the app)
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Search", "Go to the search screen", "app.switch_mode('search')"),
    ("Library", "Sources, counts and failures", "app.switch_mode('library')"),
    ("Index", "Indexing progress", "app.switch_mode('index')"),
    ("Models", "Installed and downloadable models", "app.switch_mode('models')"),
    ("Plugins", "Registered plugins and their hooks", "app.switch_mode('plugins')"),
    ("Add a folder", "Add a folder of photos to the library", "app.add_source('folder')"),
    ("Start indexing", "Index new and changed photos (resumes a cancelled run)",
     "app.start_index"),
    ("Cancel indexing", "Stop after the batch in flight; nothing indexed is lost",
     "app.cancel_index"),
    ("Retry failed photos", "Index again the photos that failed before", "app.retry_failed"),
    ("Show failures", "Photos that could not be indexed, with reasons", "app.show_failures"),
    ("Toggle search filters", "Date range, folder and camera filters", "app.toggle_filters"),
    ("Open photo", "Open the selected photo with the system viewer", "app.open_photo"),
    ("Copy path", "Copy the selected photo's path to the clipboard", "app.copy_path"),
    ("More like this", "Search with the selected photo as the query", "app.more_like_this"),
    ("Download model", "Download the model highlighted on the Models screen",
     "app.download_model"),
    ("Help", "Keys and screens", "app.help"),
)

ANDROID_ACTION = (
    "Add the Android camera roll", "Index DCIM, Pictures and screenshots on this phone",
    "app.add_source('android')",
)


def palette_actions(
    source_types: list[str], panels: list[str] | None = None
) -> Iterator[tuple[str, str, str]]:
    yield from ACTIONS
    if "android" in source_types:
        yield ANDROID_ACTION
    for name in panels or ():
        yield (f"Panel: {name}", "A screen added by a plugin", f"app.open_panel({name!r})")


class HuisouCommands(Provider):
    """Lists :data:`ACTIONS`; selecting one runs its action on the app."""

    def _actions(self) -> list[tuple[str, str, str]]:
        ctx = self.app.ctx  # type: ignore[attr-defined]
        return list(palette_actions(ctx.source_types(), [name for name, _ in ctx.panels()]))

    def _run(self, action: str) -> None:
        self.app.call_later(self.app.run_action, action)

    async def discover(self) -> Hits:
        for title, help_text, action in self._actions():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action),
                          help=help_text)
