"""The gate's memory per model: its anchor vectors and the photos read so far, beside the library.

Why a file and not the catalog: plugins never create tables, and both are derived data (losing
them costs one more calibration, never a result). One JSON file per model fingerprint in the
folder ``<library>.ocr/``: the anchors are encoded with the model's text encoder once (loading
it costs memory and seconds, so never again while indexing), the samples are ``(gate score,
carries text)`` of the photos read in full, which :func:`gate.decide` calibrates from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError
from huisou.core.regular_files import open_regular
from huisou.core.tempfiles import locked_temp

from . import gate

#: Samples kept per class (text / plain), the newest: enough for a stable 95th percentile,
#: small enough to decide on every photo.
MAX_SAMPLES = 400
#: A state file is ~150 KB (two anchor matrices and the samples); a bigger one is not ours.
MAX_FILE_BYTES = 8 << 20


def anchors_key() -> str:
    """Changes when the anchor prompts change, so old anchor vectors are not reused."""
    texts = "\n".join(gate.TEXT_ANCHORS + ("--",) + gate.PLAIN_ANCHORS)
    return hashlib.blake2b(texts.encode("utf-8"), digest_size=6).hexdigest()


def state_path(db_path: str, fingerprint: str) -> Path:
    """``<library>.ocr/<model fingerprint>.json``."""
    db = Path(db_path)
    return db.with_name(db.name + ".ocr") / f"{fingerprint}.json"


class GateState:
    """Anchor vectors and calibration samples of one model in one library (thread-safe)."""

    def __init__(self, path: Path | None, text_anchors: Any, plain_anchors: Any,
                 samples: Sequence[tuple[float, bool]] = ()) -> None:
        self.path = path
        self.text_anchors = text_anchors
        self.plain_anchors = plain_anchors
        self._text = [s for s, has_text in samples if has_text][-MAX_SAMPLES:]
        self._plain = [s for s, has_text in samples if not has_text][-MAX_SAMPLES:]
        self._lock = threading.Lock()
        self._decision = gate.decide(self.samples())

    @classmethod
    def load(cls, db_path: str, backend: Any) -> GateState:
        """The stored state of ``backend``'s model, or a new one with the anchors encoded now
        (the text encoder is released again: indexing needs only the image encoder)."""
        path = state_path(db_path, backend.model_fingerprint)
        stored = _read(path)
        if stored is not None:
            import numpy as np

            return cls(path, np.asarray(stored["text"], dtype=np.float32),
                       np.asarray(stored["plain"], dtype=np.float32),
                       [(float(s), bool(t)) for s, t in stored["samples"]])
        vectors = backend.embed_texts([*gate.TEXT_ANCHORS, *gate.PLAIN_ANCHORS])
        backend.release()
        split = len(gate.TEXT_ANCHORS)
        state = cls(path, vectors[:split], vectors[split:])
        state.save()
        return state

    def score(self, vector: Any) -> float | None:
        """The photo's gate score (see :func:`gate.gate_scores`), None without a vector."""
        if vector is None:
            return None
        row = vector.reshape(1, -1)
        if row.shape[1] != self.text_anchors.shape[1]:
            return None  # a vector of another model: no opinion, so the photo is read
        return float(gate.gate_scores(row @ self.text_anchors.T, row @ self.plain_anchors.T)[0])

    def decision(self) -> gate.GateDecision:
        with self._lock:
            return self._decision

    def add(self, score: float | None, has_text: bool) -> None:
        """Remember a photo read in full (its score unknown: nothing to learn)."""
        if score is None:
            return
        with self._lock:
            kept = self._text if has_text else self._plain
            kept.append(score)
            del kept[:-MAX_SAMPLES]
            self._decision = gate.decide(self._samples())

    def samples(self) -> list[tuple[float, bool]]:
        with self._lock:
            return self._samples()

    def _samples(self) -> list[tuple[float, bool]]:
        return [(s, True) for s in self._text] + [(s, False) for s in self._plain]

    def save(self) -> None:
        """Write the state atomically; a library folder that cannot be written keeps it in
        memory for this run only (the next run calibrates again)."""
        if self.path is None:
            return
        data = {
            "anchors": anchors_key(),
            "text": self.text_anchors.tolist(),
            "plain": self.plain_anchors.tolist(),
            "samples": [[round(s, 6), t] for s, t in self.samples()],
        }
        try:
            self.path.parent.mkdir(exist_ok=True)
            fd, tmp = locked_temp(str(self.path.parent), ".gate-", ".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return


def _read(path: Path) -> dict[str, Any] | None:
    """The stored state, or None when absent, damaged, or made with other anchor prompts."""
    try:
        with open_regular(path) as fh:  # never a FIFO left in its place
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            return None
        data = json.loads(raw.decode("utf-8"))
        if data.get("anchors") != anchors_key():
            return None
        if not (data["text"] and data["plain"] and isinstance(data["samples"], list)):
            return None
        return data
    except (OSError, HuisouError, ValueError, KeyError, TypeError, AttributeError):
        return None
