"""``huisou info PATH [--json]``: why is this photo (not) found? Its catalog record, explained.

The answer combines three things: which source covers the path (and whether one of its rules
excludes it, by name), what the catalog recorded (indexed, or unreadable/unsupported/skipped
with the reason), and whether the file on disk still matches that record (same size and
mtime: "unchanged", so the next run will not read it). Metadata is shown as stored: taken-at
with where it came from, GPS, camera, orientation and the size *after* orientation, then the
values of plugin fields (``rating``, ``tags``...).
"""

from __future__ import annotations

import os
from typing import Any

import click
from huisou.cli.common import library_options, open_library, print_json, shown_path
from huisou.core import db, field_store
from huisou.core.config import Config

META_KEYS = (
    "format", "width", "height", "orientation", "taken_at", "taken_at_source", "camera_make",
    "camera_model",
)


def _owner(library: Any, paths: list[str]) -> tuple[Any, Any, str] | None:
    """``(record, source, path)`` of the most specific source containing one of ``paths``."""
    best: tuple[Any, Any, str] | None = None
    for record in library.catalog.sources():
        try:
            source = library.source_for(record)
        except Exception:  # a source whose plugin is gone: it cannot explain anything
            continue
        for path in paths:
            if source.contains(path) and (best is None or len(record.root) > len(best[0].root)):
                best = (record, source, path)
                break
    return best


def _disk_state(record: dict[str, Any], path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing on disk (removed from the library by the next run)"
    if (st.st_size, st.st_mtime_ns) == (record["size"], record["mtime_ns"]):
        return "unchanged"
    return "changed since it was indexed (the next run reads it again)"


def _content(path: str) -> str | None:
    from huisou.core.errors import MediaError
    from huisou.core.sniff import KIND_NAMES, sniff_file

    try:
        kind = sniff_file(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    except MediaError as exc:  # a FIFO or a device: never opened
        return str(exc)
    return KIND_NAMES.get(kind or "", "not a known image format")


def _folder_counts(library: Any, folder: str) -> dict[str, int]:
    prefix = folder.rstrip("/")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = library.catalog.conn.execute(
        f"SELECT status, COUNT(*) FROM items WHERE folder = {db.TEXT} "
        f"OR folder LIKE {db.TEXT} ESCAPE '\\' GROUP BY status",
        (db.text_param(prefix), db.text_param(escaped + "/%")),
    )
    return {status: count for status, count in rows}


def explain(library: Any, path: str) -> dict[str, Any]:
    """The record of one path: source, status, reason, metadata; or why it is not a candidate."""
    catalog = library.catalog
    candidates = [os.path.abspath(path)]
    real = os.path.realpath(candidates[0])
    if real != candidates[0]:
        candidates.append(real)
    record = None
    for candidate in candidates:
        record = catalog.item_by_path(candidate)
        if record is not None:
            path = candidate
            break
    else:
        path = candidates[0]
    owner = _owner(library, [path] if record is not None else candidates)
    source_record, source, owned_path = owner if owner else (None, None, path)
    if record is None:
        path = owned_path
    data: dict[str, Any] = {
        "path": path,
        "exists": os.path.exists(path),
        "source": source_record.to_dict() if source_record else None,
        "status": None,
        "state": None,
        "reason": None,
        "rule": None,
    }
    if os.path.isdir(path) and record is None:
        data.update(status="folder", counts=_folder_counts(library, path))
        if source is not None and path != source.root:
            data["rule"] = _exclusion(source, source_record, path)
        return data
    rule = _exclusion(source, source_record, path)
    data["rule"] = rule
    if record is None:
        if source is None:
            data.update(status="outside sources",
                        reason="no source covers this path; add its folder with 'huisou index'")
        elif rule:
            data.update(status="excluded", reason=rule)
        elif not data["exists"]:
            data.update(status="missing", reason="no such file")
        else:
            data.update(status="not indexed yet", reason="run 'huisou index' to index it")
        if data["exists"]:
            data["content"] = _content(path)
        return data
    models = [
        row[0]
        for row in catalog.conn.execute(
            "SELECT model FROM embeddings WHERE item_id=? ORDER BY model", (record["id"],)
        )
    ]
    gps = None
    if record["gps_lat"] is not None and record["gps_lon"] is not None:
        gps = {"lat": record["gps_lat"], "lon": record["gps_lon"]}
    data.update(
        id=record["id"],
        status=record["status"],
        state=_disk_state(record, path),
        reason=record["error"],
        size=record["size"],
        content_hash=record["content_hash"],
        models=models,
        metadata={key: record[key] for key in META_KEYS},
        gps=gps,
        camera=(
            {"make": record["camera_make"], "model": record["camera_model"]}
            if record["camera_make"] or record["camera_model"]
            else None
        ),
        group=record["group_key"],
        fields=field_store.values_of(catalog.conn, [record["id"]], library.host.fields()).get(
            record["id"], {}
        ),
    )
    if rule:  # indexed earlier, excluded by the source's rules now
        data.update(status="excluded", catalog_status=record["status"], reason=rule)
    return data


def _lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [("path", data["path"])]
    source = data.get("source")
    if source:
        out.append(("source", f"{source['type']} {source['root']} (id {source['id']})"))
    status = data["status"]
    if data.get("state") and status != "excluded":
        status += f" ({data['state']})"
    out.append(("status", status))
    if data.get("reason"):
        label = "rule" if data["status"] == "excluded" else "reason"
        out.append((label, data["reason"]))
    if data.get("content"):
        out.append(("content", data["content"]))
    if "counts" in data:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(data["counts"].items())) or "nothing"
        out.append(("in catalog", counts))
    meta = data.get("metadata") or {}
    if meta.get("taken_at"):
        out.append(("taken at", f"{meta['taken_at']} (from {meta.get('taken_at_source') or '?'})"))
    if data.get("gps"):
        out.append(("GPS", f"{data['gps']['lat']:.5f}, {data['gps']['lon']:.5f}"))
    elif "gps" in data:
        out.append(("GPS", "none"))
    camera = " ".join(v for v in (meta.get("camera_make"), meta.get("camera_model")) if v)
    if camera:
        out.append(("camera", camera))
    if meta.get("width") and meta.get("height"):
        out.append(("size", f"{meta['width']}x{meta['height']} (as shown, after orientation)"))
    if meta.get("orientation"):
        out.append(("orientation", str(meta["orientation"])))
    if meta.get("format"):
        out.append(("format", meta["format"]))
    if data.get("group"):
        out.append(("group", data["group"]))
    for name, value in (data.get("fields") or {}).items():
        out.append((name, _field_text(value)))
    if "models" in data:
        out.append(("vectors", ", ".join(data["models"]) or "none"))
    return out


def _field_text(value: Any) -> str:
    """A plugin field's JSON value for people: tags joined, GPS as two numbers."""
    if isinstance(value, list):
        return ", ".join(str(tag) for tag in value)
    if isinstance(value, dict):
        return f"{value['lat']:.5f}, {value['lon']:.5f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@click.command()
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the record as one JSON object.")
@library_options
def info(path: str, as_json: bool, config: Config) -> None:
    """Why is PATH (not) found? Its status (indexed, unreadable, unsupported, excluded and by
    which rule), the reason of a failure, and its metadata."""
    data = explain(open_library(config, readonly=True), path)
    if as_json:
        print_json(data)
        return
    lines = _lines(data)
    width = max(len(label) for label, _ in lines) + 1
    for label, value in lines:
        click.echo(f"{label + ':':<{width}} {shown_path(value)}")


def _exclusion(source: Any, record: Any, path: str) -> str | None:
    """Why ``path`` is not a candidate: the ``exclude`` globs the host applies to every
    source first (a source need not know them), then the source's own rules."""
    if source is None:
        return None
    from huisou.core.exclude import ExcludeRules

    rules = ExcludeRules.of_options(source.root, record.options if record else {})
    return rules.rule_for(path) or source.explain_exclusion(path)
