"""The huisou Textual app and its factory :func:`create_app` (used by the CLI and tests).

Five areas are Textual *modes* with their own screen stacks (Search, Library, Index, Models,
Plugins), switched with 1–5, a tap on the top bar, or the command palette. Screens own their
workers, so the indexing run survives switching areas.
"""

from __future__ import annotations

from typing import Any, ClassVar

from huisou.core.config import Config
from huisou.core.plugins import PluginHost
from huisou.tui.commands import HuisouCommands
from huisou.tui.context import TuiContext
from huisou.tui.environment import Environment
from huisou.tui.opener import Opener
from huisou.tui.screens.index import IndexScreen
from huisou.tui.screens.library import LibraryScreen
from huisou.tui.screens.models import ModelsScreen
from huisou.tui.screens.plugins import PluginsScreen
from huisou.tui.screens.search import SearchScreen
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen


class HuisouApp(App[list[str]]):
    """Photo search in the terminal: desktop, SSH and Termux (40 columns and up)."""

    CSS_PATH = "app.tcss"
    TITLE = "huisou"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [
        (0, "-narrow"), (60, "-normal"), (100, "-wide"),
    ]
    MODES: ClassVar[dict[str, Any]] = {
        "search": SearchScreen,
        "library": LibraryScreen,
        "index": IndexScreen,
        "models": ModelsScreen,
        "plugins": PluginsScreen,
    }
    DEFAULT_MODE: ClassVar[str] = "search"
    COMMANDS = App.COMMANDS | {HuisouCommands}
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("question_mark", "help", "Help", key_display="?", priority=True, id="help"),
        Binding("f1", "help", "Help", show=False),
        Binding("1", "switch_mode('search')", "Search", show=False, id="area-search"),
        Binding("2", "switch_mode('library')", "Library", show=False, id="area-library"),
        Binding("3", "switch_mode('index')", "Index", show=False, id="area-index"),
        Binding("4", "switch_mode('models')", "Models", show=False, id="area-models"),
        Binding("5", "switch_mode('plugins')", "Plugins", show=False, id="area-plugins"),
    ]

    def __init__(self, ctx: TuiContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx

    # -- areas ---------------------------------------------------------------------------

    def area(self, name: str) -> Screen[Any] | None:
        """The base screen of an area, if it was opened already."""
        stack = self._screen_stacks.get(name)
        return stack[0] if stack else None

    async def _area(self, name: str) -> Any:
        await self.switch_mode(name)
        return self.area(name)

    # -- actions (also in the command palette) ------------------------------------------

    def action_help(self) -> None:
        from huisou.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen())

    def action_add_source(self, type_id: str = "folder") -> None:
        from huisou.tui.screens.add_source import AddSourceScreen

        def added(source_id: int | None) -> None:
            if source_id is None:
                return
            self.notify("Source added: press i to index it")
            for name in ("search", "library"):
                screen = self.area(name)
                if screen is not None and hasattr(screen, "on_screen_resume"):
                    screen.on_screen_resume()

        self.push_screen(AddSourceScreen(type_id), added)

    async def action_start_index(self, retry_failed: bool = False) -> None:
        screen = await self._area("index")
        screen.action_start(retry_failed=retry_failed)

    async def action_retry_failed(self) -> None:
        await self.action_start_index(retry_failed=True)

    async def action_cancel_index(self) -> None:
        screen = self.area("index")
        if screen is not None and screen.running:  # type: ignore[attr-defined]
            screen.action_cancel()  # type: ignore[attr-defined]
        else:
            self.notify("Indexing is not running")

    async def action_show_failures(self) -> None:
        screen = await self._area("library")
        screen.action_failures()

    async def _search_action(self, name: str) -> None:
        await self.switch_mode("search")
        while not isinstance(self.screen, SearchScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        getattr(self.area("search"), name)()

    async def action_toggle_filters(self) -> None:
        await self._search_action("action_toggle_filters")

    async def action_open_photo(self) -> None:
        await self._search_action("action_open_photo")

    async def action_copy_path(self) -> None:
        await self._search_action("action_copy_path")

    async def action_more_like_this(self) -> None:
        await self._search_action("action_more_like_this")

    async def action_download_model(self) -> None:
        screen = await self._area("models")
        screen.action_download()

    def action_open_panel(self, name: str) -> None:
        from huisou.tui.screens.panel import open_panel

        factory = dict(self.ctx.panels()).get(name)
        if factory is None:
            self.notify(f"no panel named {name!r}", severity="warning")
            return
        open_panel(self, name, factory)

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        self.ctx.close()


def create_app(
    config: Config,
    *,
    host: PluginHost | None = None,
    opener: Opener | None = None,
    environment: Environment | None = None,
    image_protocol: str | None = "auto",
    top: int = 50,
    pick: bool = False,
    query: str = "",
    **kwargs: Any,
) -> HuisouApp:
    """Build the app; the CLI calls ``create_app(config).run()``, tests inject fakes.

    Args:
        config: Library settings (database, backend, model, store).
        host: Plugin host; the process-wide one when None.
        opener: Callable that opens a path in the system viewer (tests pass a recorder).
        environment: Device facts (Termux, storage permission); detected when None.
        image_protocol: ``"tgp"``/``"sixel"`` to force a graphics protocol, None for half
            blocks, ``"auto"`` to ask the terminal (only possible before the app starts).
        top: How many results a search returns.
        pick: ``huisou pick``: Enter on a result ends the app with the picked paths.
        query: A query to run as the app starts.
        **kwargs: Passed to :class:`textual.app.App`.
    """
    if image_protocol == "auto":
        from huisou.tui.thumbnails import graphics_protocol

        image_protocol = graphics_protocol()
    ctx = TuiContext(
        config, host, opener=opener, environment=environment, image_protocol=image_protocol,
        top=top, pick=pick, initial_query=query,
    )
    return HuisouApp(ctx, **kwargs)
