"""Content hashes: how the indexer recognises a moved photo, or a touched one with the same bytes.

Why a whole-file hash and not rclip's first-1-MB-plus-last-1-KB: an in-place edit that keeps
the size (a retouched region, a same-length tag rewrite) must re-embed the photo, not keep a
stale vector. Why XXH3-128 rather than SHA-256: the hash guards against accidents, not
attackers, and on 12 MP JPEGs it costs 0.15 ms instead of 2.0 ms per photo (3.7 MB, SHA-NI
CPU; ``benchmarks/RESULTS.md``) — 2 % of the CPU that indexing spends per photo.

Stored values name their algorithm (``"xxh3-128:<32 hex>"``), so a library written by an
older huisou (bare SHA-256 hex) or on a platform without the ``xxhash`` wheel (Termux, which
falls back to ``"sha256:<64 hex>"``) keeps working: a file is hashed with whichever
algorithms the values it is compared against use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

XXH3 = "xxh3-128"
SHA256 = "sha256"


def _xxh3_hex(data: Any) -> str:
    import xxhash

    return xxhash.xxh3_128_hexdigest(data)


def _sha256_hex(data: Any) -> str:
    return hashlib.sha256(data).hexdigest()


_HEX_DIGESTS = {XXH3: _xxh3_hex, SHA256: _sha256_hex}


def _preferred() -> str:
    try:
        import xxhash  # noqa: F401
    except ImportError:  # no wheel for this platform (Termux): stay correct, just slower
        return SHA256
    return XXH3


#: The algorithm new hashes are written with.
PREFERRED = _preferred()


def algorithm_of(value: str) -> str:
    """The algorithm of a stored hash; a bare hex value is the SHA-256 of older libraries."""
    name, sep, _ = value.partition(":")
    return name if sep else SHA256


def canonical(value: str) -> str:
    """``algorithm:hex`` for any stored value, so old and new spellings compare equal."""
    return value if ":" in value else f"{SHA256}:{value}"


def content_hash(data: Any, algorithm: str | None = None) -> str:
    """The stored form of ``data``'s hash (``data``: bytes or any buffer); ``algorithm``
    defaults to :data:`PREFERRED`."""
    algorithm = algorithm or PREFERRED
    try:
        hex_digest = _HEX_DIGESTS[algorithm]
    except KeyError:
        raise ValueError(f"unknown content hash algorithm {algorithm!r}") from None
    return f"{algorithm}:{hex_digest(data)}"


def content_hashes(data: Any, algorithms: Iterable[str] = ()) -> dict[str, str]:
    """``algorithm -> stored-form hash`` of ``data`` for the preferred algorithm and each of
    ``algorithms`` (those of the values it will be compared with) that this install can
    compute.

    Why skip rather than fail: a value written with XXH3 before ``xxhash`` went away (a Termux
    ``pkg upgrade`` drops pip packages), or by a future algorithm, can then only fail to match,
    so its photo is re-embedded — instead of every photo that is compared with it failing.
    """
    out = {PREFERRED: content_hash(data, PREFERRED)}
    for name in sorted(set(algorithms) - {PREFERRED}):
        try:
            out[name] = content_hash(data, name)
        except (ImportError, ValueError):
            continue
    return out


class HashLookup:
    """Stored hash -> item id, for recognising moved photos across hash algorithms.

    Built once per run from the vanished items' hashes; ``algorithms`` says which hashes a
    new file needs so that :meth:`find` can match it (usually just the preferred one).
    """

    def __init__(self, hashes_by_id: dict[int, str]) -> None:
        # Items with equal contents collapse to one id: a second moved copy is then
        # re-embedded (as a copy), never given another item's vector.
        self._ids = {canonical(value): item_id for item_id, value in hashes_by_id.items()}
        self.algorithms = frozenset(algorithm_of(value) for value in self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)

    def find(self, hashes: dict[str, str]) -> int | None:
        """The id of a stored item with one of these hashes (``content_hashes`` output)."""
        for value in hashes.values():
            item_id = self._ids.get(value)
            if item_id is not None:
                return item_id
        return None
