"""``huisou search``: find photos by text, by an example image, or both."""

from __future__ import annotations

from typing import Any

import click
from huisou.cli.common import (
    QueryCommand,
    library_options,
    open_library,
    print_json,
    shown_path,
)
from huisou.core.config import Config


class _Cosine(click.ParamType):
    """A cosine score: a finite number from -1 to 1 (``nan`` and ``2`` match nothing)."""

    name = "score"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not -1.0 <= number <= 1.0:  # also false for nan
            self.fail(f"{value!r} is not a cosine score from -1 to 1", param, ctx)
        return number


COSINE = _Cosine()
#: Width ``--explain`` lines keep to (a terminal's default).
EXPLAIN_WIDTH = 80


def explain_lines(hit: Any) -> list[str]:
    """``--explain`` under a hit: one line per ranking that had a say, within 80 columns:
    ``  text   #1  score 4.99  w 2  +0.0328  name: IMG_2041.jpg``."""
    lines = []
    for part in hit.explain or ():
        rank = f"#{part.rank}" if part.rank is not None else "-"
        line = (f"    {part.signal[:10]:10} {rank:>5}  score {part.score:8.4f}  "
                f"w {part.weight:<4g} +{part.value:.4f}")
        if part.matched:
            room = EXPLAIN_WIDTH - len(line) - 2
            text = " ".join(part.matched.split())
            line += "  " + (text if len(text) <= room else text[: room - 1] + "…")
        lines.append(line)
    if hit.fused is not None:
        lines.append(f"    {'fused':10} {'':5}  {'':14}  {'':6}={hit.fused:.4f}")
    return lines


def _date(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date like 2024-05-01", param_hint=option
        ) from None


class _BadExpression(click.ClickException):
    """A ``--where`` that does not parse or names an unknown field: a usage error (exit 2),
    one line without the generic "see --help" hint (the message says what to do)."""

    exit_code = 2


def _compiled(library: Any, expressions: tuple[str, ...]) -> tuple[Any, ...]:
    """Each ``--where`` checked against the library's fields and compiled."""
    from huisou.core.field_store import recorded_declarations
    from huisou.core.where import WhereError, compile_where, known_fields

    if not expressions:
        return ()
    fields = known_fields(library.host.fields(), recorded_declarations(library.catalog.conn))
    compiled = []
    for text in expressions:
        try:
            compiled.append(compile_where(text, fields))
        except WhereError as exc:
            raise _BadExpression(exc.describe(text)) from None
    return tuple(compiled)


class _MinScore(click.ParamType):
    """``auto`` (the adaptive cutoff), ``off`` (none) or a cosine floor from -1 to 1."""

    name = "auto|off|score"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> float | str | None:
        from huisou.core.search import AUTO

        word = str(value).strip().lower()
        if word in (AUTO, "off"):
            return AUTO if word == AUTO else None
        return COSINE.convert(value, param, ctx)


@click.command(cls=QueryCommand)
@click.argument("text", required=False)
@click.option("--image", type=click.Path(dir_okay=False), help="Find photos like this one.")
@click.option("--top", "-n", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hits.")
@click.option(
    "--paths", "paths_only", is_flag=True, help="Print one path per line (odd bytes escaped)."
)
@click.option(
    "--print0", is_flag=True, help="Print paths as they are, each ended by a NUL (xargs -0)."
)
@click.option("--after", help="Taken on or after this date (YYYY-MM-DD).")
@click.option("--before", help="Taken before this date (YYYY-MM-DD).")
@click.option("--folder", type=click.Path(file_okay=False), help="Only photos under this folder.")
@click.option("--camera", help="Camera make/model contains this text.")
@click.option("--has-gps/--no-gps", default=None, help="Only photos with (or without) GPS.")
@click.option("--where", "where", multiple=True, metavar="EXPR",
              help="Only photos whose fields match, e.g. 'rating >= 3', 'tags has family', "
              "'camera ~ canon and taken_at >= 2023-03' (repeatable, all must hold; "
              "fields: huisou fields).")
@click.option("--sort", type=click.Choice(["score", "date"]), default="score",
              show_default=True, help="Best match first, or newest first among the matches.")
@click.option(
    "--min-score",
    type=_MinScore(),
    default="auto",
    show_default=True,
    help="'auto': only hits that stand out for this query (adaptive, per library and model); "
    "a cosine from -1 to 1: drop hits below it; 'off': the plain top N. With --where the "
    "default is off: the expression already says which photos.",
)
@click.option("--like", multiple=True, metavar="PATH",
              help="More like this indexed photo (its stored vector; repeatable).")
@click.option("--unlike", multiple=True, metavar="PATH",
              help="Fewer like this indexed photo (repeatable).")
@click.option("--collapse", is_flag=True,
              help="Show near-duplicates and bursts once, with '+N similar'.")
@click.option("--literal", is_flag=True, help="Search the text as written (no dates parsed).")
@click.option("--explain", is_flag=True,
              help="Show what CLIP and each search signal gave every hit (rank, weight, text).")
@library_options
def search(
    text: str | None,
    image: str | None,
    top: int,
    as_json: bool,
    paths_only: bool,
    print0: bool,
    after: str | None,
    before: str | None,
    folder: str | None,
    camera: str | None,
    has_gps: bool | None,
    where: tuple[str, ...],
    sort: str,
    min_score: float | str | None,
    like: tuple[str, ...],
    unlike: tuple[str, ...],
    collapse: bool,
    literal: bool,
    explain: bool,
    config: Config,
) -> None:
    """Search for TEXT, e.g. huisou search "dog on a beach" or 'beach +sunset -people'.

    A query may start with '-' (huisou search -people): only huisou's own options are
    read as options.
    """
    import os

    from huisou.core.search import Searcher, SearchFilters

    if as_json + paths_only + print0 > 1:
        raise click.UsageError("use one of --json, --paths and --print0")
    if not text and not image and not like:
        raise click.UsageError("give a query TEXT, --image PATH or --like PATH")
    after, before = _date(after, "--after"), _date(before, "--before")
    if after and before and after >= before:
        raise click.BadParameter(
            f"--after {after[:10]} is not earlier than --before {before[:10]}: nothing is both",
            param_hint="--after/--before",
        )
    filters = SearchFilters(
        folder=os.path.abspath(folder) if folder else None,
        after=after,
        before=before,
        camera=camera,
        has_gps=has_gps,
    )
    library = open_library(config, readonly=True)
    filters.where = _compiled(library, where)
    if where and _by_default("min_score"):
        # --where selects: every photo it selects is listed (up to --top), best match
        # first, each with its confidence; ask --min-score auto to cut them as well
        min_score = None
    if text:
        backend_id, model = library.model_choice()
        notice = library.host.language_notice(text, backend_id, model, config.models_path)
        if notice:
            click.echo(notice, err=True)
    searcher = Searcher(library)
    hits = searcher.search(
        text, image=image, top=top, filters=filters, min_score=min_score,
        literal=literal, like=like, unlike=unlike, collapse=collapse, sort=sort,
    )
    understood = searcher.understood
    if searcher.notice:
        click.echo(f"note: {searcher.notice}", err=True)
    if understood is not None:
        click.echo(understood.describe(), err=True)
    if not hits and (as_json or paths_only or print0):
        click.echo(f"huisou: {searcher.why_empty}", err=True)
    if as_json:
        extra = {"understood": understood.to_json()} if understood is not None else {}
        shown = [{**hit.to_json(), **extra} for hit in hits]
        if explain:
            for entry, hit in zip(shown, hits, strict=True):
                entry["explain"] = hit.explain_json()
        print_json(shown)
    elif print0:
        out = click.get_binary_stream("stdout")
        out.write(b"".join(os.fsencode(hit.path) + b"\0" for hit in hits))
        out.flush()
    elif paths_only:
        for hit in hits:
            click.echo(shown_path(hit.path))
    else:
        if not hits:
            click.echo(f"no matches: {searcher.why_empty}" if searcher.why_empty != "no matches"
                       else "no matches", err=True)
        for hit in hits:
            when = (hit.taken_at or "")[:10]
            shown = shown_path(hit.path)
            more = f"  (+{len(hit.similar)} similar)" if hit.similar else ""
            click.echo(f"{hit.score:.3f}  {hit.confidence or '':6}  {when:10}  {shown}{more}")
            if explain:
                for line in explain_lines(hit):
                    click.echo(line)


def _by_default(name: str) -> bool:
    """Whether the option ``name`` was left at its default on this command line."""
    from click.core import ParameterSource

    return click.get_current_context().get_parameter_source(name) in (
        ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
