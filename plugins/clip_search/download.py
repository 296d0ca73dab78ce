"""Verified, resumable model downloads from Hugging Face (or the ``HF_ENDPOINT`` mirror).

Rules, because a half-written 350 MB tower must never be mistaken for a model:

- every file is written to ``<name>.part`` and renamed into place (``os.replace``, atomic on
  one filesystem) only after its size and sha256 match the catalog (size alone where the
  catalog has no digest; JSON files must parse; digests of unverified files are recorded in
  ``download.json`` so later runs can tell if they change);
- an interrupted transfer keeps the ``.part`` for the next run, which resumes with
  ``Range: bytes=N-`` (a ``206`` appends, a ``200`` starts again from 0); a ``.part`` longer
  than the expected size, or one whose digest is wrong, is deleted;
- every failure is one line naming the files, the URL and the directory where files fetched
  by other means can be put by hand.

Stdlib only (``urllib``): redirects to the LFS CDN are followed and keep the Range header.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError
from huisou.plugins.clip_search.model_catalog import CatalogEntry, FileSpec, hf_endpoint
from huisou.plugins.clip_search.modeldir import sha256_file

#: ``progress(relative_path, bytes_done, bytes_total_or_None)``
Progress = Callable[[str, int, "int | None"], None]
CHUNK = 1 << 16
RECORD = "download.json"
USER_AGENT = "huisou-model-download/1"


class DownloadError(HuisouError):
    """A model file could not be fetched or verified; the message says what to do."""


class VerifyError(DownloadError):
    """A complete download does not match its expected size or digest (it was deleted)."""


def verify_file(path: Path, spec: FileSpec) -> str:
    """Check size, sha256 and (for JSON) syntax; return the sha256 or raise VerifyError."""
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        raise VerifyError(f"{spec.path}: size {size} bytes, expected {spec.size}")
    digest = sha256_file(path)
    if spec.sha256 and digest != spec.sha256.lower():
        raise VerifyError(f"{spec.path}: sha256 {digest} does not match the catalog's {spec.sha256}")
    if spec.path.endswith(".json"):
        try:
            json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise VerifyError(f"{spec.path}: not valid JSON ({exc})") from None
    return digest


def fetch_file(
    url: str,
    dest: Path,
    spec: FileSpec,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> str:
    """Download ``url`` to ``dest`` via ``dest.part``, verified; return its sha256.

    Raises DownloadError (network; the ``.part`` is kept when its bytes may be resumed) or
    VerifyError (wrong size or digest; the ``.part`` is deleted).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if spec.size is not None and have > spec.size:
        part.unlink()  # longer than the file can be: not a prefix of it
        have = 0
    if spec.size is None or have < spec.size:
        _transfer(url, part, have, spec, progress, timeout)
    try:
        digest = verify_file(part, spec)
    except VerifyError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return digest


def _transfer(
    url: str, part: Path, have: int, spec: FileSpec, progress: Progress | None, timeout: float
) -> None:
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - https/http only
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Range not satisfiable: our .part is not a prefix the server knows; start over.
            part.unlink(missing_ok=True)
            return _transfer(url, part, 0, spec, progress, timeout)
        raise DownloadError(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {url}: {reason}") from None
    with response:
        if response.status == 206 and have:
            mode = "ab"
        else:  # 200: the server ignored the Range (or none was sent): start from 0
            mode, have = "wb", 0
        length = response.headers.get("Content-Length")
        total = spec.size or (have + int(length) if length and length.isdigit() else None)
        done = have
        last = 0.0
        try:
            with open(part, mode) as out:
                while block := response.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    now = time.monotonic()
                    if progress and (now - last > 0.1 or (total and done >= total)):
                        progress(spec.path, done, total)
                        last = now
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(
                f"connection lost after {done} bytes of {url} ({type(exc).__name__}); "
                f"run the command again to resume"
            ) from None
        if length and length.isdigit() and done - have < int(length):
            raise DownloadError(
                f"connection closed after {done} bytes of {url}; run the command again to resume"
            )
        if progress:
            progress(spec.path, done, total)
    return None


def _manual_hint(entry: CatalogEntry, target: Path, files: list[str], endpoint: str) -> str:
    base = f"{endpoint}/{entry.repo}/tree/{entry.revision}"
    return (
        f"to install by hand, fetch {', '.join(files)} from {base} (any machine, or a mirror "
        f"via HF_ENDPOINT) into {target}, or copy a whole model directory and run "
        f"`huisou models install DIR --name {entry.name}`"
    )


def download_model(
    entry: CatalogEntry,
    models_dir: str | os.PathLike[str],
    progress: Progress | None = None,
    endpoint: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch every file of a catalog entry into ``models_dir/NAME``; return the directory.

    Files already present and matching the catalog are kept (a re-run finishes an
    interrupted download). Raises DownloadError naming the failed files and the manual route.
    """
    endpoint = (endpoint or hf_endpoint()).rstrip("/")
    target = Path(models_dir).expanduser() / entry.name
    target.mkdir(parents=True, exist_ok=True)
    record_path = target / RECORD
    record: dict[str, Any] = {}
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
    files_record: dict[str, Any] = record.get("files", {})
    for spec in entry.files:
        dest = target / spec.path
        if dest.is_file():
            try:
                digest = verify_file(dest, spec)
            except VerifyError:
                dest.unlink()  # a stale or damaged file: fetch it again
            else:
                known = files_record.get(spec.path, {}).get("sha256")
                if spec.sha256 or spec.size is not None or known in (None, digest):
                    files_record[spec.path] = {"sha256": digest, "verified": spec.verify}
                    continue
                dest.unlink()  # an unverified file changed since it was recorded
        url = entry.url(spec.path, endpoint)
        try:
            digest = fetch_file(url, dest, spec, progress, timeout)
        except DownloadError as exc:
            missing = [s.path for s in entry.files if not (target / s.path).is_file()]
            raise type(exc)(
                f"cannot download model {entry.name!r}: {exc}; "
                + _manual_hint(entry, target, missing, endpoint)
            ) from None
        files_record[spec.path] = {
            "sha256": digest,
            "verified": spec.verify if spec.verify != "none" else "recorded on first download",
        }
    record = {
        "name": entry.name,
        "repo": entry.repo,
        "revision": entry.revision,
        "endpoint": endpoint,
        "files": files_record,
    }
    tmp = record_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, record_path)
    return target
