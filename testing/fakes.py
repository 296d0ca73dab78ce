"""Deterministic stand-ins for the heavy plugins, for tests of the host and of other plugins.

``FakeEmbeddingBackend`` embeds an image by its colours (a 2x2 grid of mean RGB values plus the
overall mean) and a text by the colour names it mentions, so "red" finds red photos without any
model. ``MemoryVectorStore`` keeps vectors in a dict and searches them exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

from huisou import hookimpl
from huisou.core.errors import HuisouError
from huisou.core.interfaces import EmbeddingBackend, StoreLocation, VectorStore

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 0.6, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "white": (1.0, 1.0, 1.0),
    "black": (0.0, 0.0, 0.0),
    "grey": (0.5, 0.5, 0.5),
    "gray": (0.5, 0.5, 0.5),
    "orange": (1.0, 0.55, 0.0),
    "purple": (0.5, 0.0, 0.5),
}

FAKE_DIMENSIONS = 16


class FakeEmbeddingBackend(EmbeddingBackend):
    """Colour embeddings: 15 colour features + 1 constant, unit length, float32.

    Counts its calls (``image_batches``, ``text_batches``) and which "encoders" are loaded so
    tests can check lazy loading and release without a real model.
    """

    backend_id: ClassVar[str] = "fake"

    def __init__(self, model: str | None = None, **options: Any) -> None:
        super().__init__(model or "fake-colours", **options)
        self.image_batches = 0
        self.text_batches = 0
        self.image_encoder_loaded = False
        self.text_encoder_loaded = False

    @property
    def dimensions(self) -> int:
        return FAKE_DIMENSIONS

    @property
    def model_fingerprint(self) -> str:
        return "fake-colours-v1"

    @property
    def image_size(self) -> int:
        return 32

    def prepare_image(self, image: Any) -> Any:
        import numpy as np

        rgb = image.convert("RGB").resize((2, 2), resample=3)  # BICUBIC, deterministic
        cells = np.asarray(rgb, dtype=np.float32).reshape(4, 3) / 255.0
        return np.concatenate([cells.mean(axis=0), cells.reshape(-1)])

    def embed_images(self, prepared: Sequence[Any]) -> Any:
        import numpy as np

        self.image_encoder_loaded = True
        self.image_batches += 1
        if not prepared:
            return np.zeros((0, FAKE_DIMENSIONS), dtype=np.float32)
        features = np.stack([np.asarray(p, dtype=np.float32) for p in prepared])
        return self._finish(features)

    def embed_texts(self, texts: Sequence[str]) -> Any:
        import numpy as np

        self.text_encoder_loaded = True
        self.text_batches += 1
        rows = []
        for text in texts:
            if not text or not text.strip():
                raise HuisouError("empty query: type what the photo shows")
            words = [w.strip(".,!?").lower() for w in text.split()]
            colours = [COLOURS[w] for w in words if w in COLOURS]
            if colours:
                mean = np.asarray(colours, dtype=np.float32).mean(axis=0)
            else:  # unknown words: a stable pseudo-colour so every text embeds
                digest = hashlib.sha256(text.encode()).digest()
                mean = np.frombuffer(digest[:3], dtype=np.uint8).astype(np.float32) / 255.0
            rows.append(np.concatenate([mean, np.tile(mean, 4)]))
        return self._finish(np.stack(rows))

    @staticmethod
    def _finish(features: Any) -> Any:
        import numpy as np

        # centre colours so that "more red" and "less red" point in different directions
        centred = features - 0.5
        out = np.concatenate([centred, np.full((len(features), 1), 0.05, dtype=np.float32)], axis=1)
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def release(self) -> None:
        self.image_encoder_loaded = False
        self.text_encoder_loaded = False


class MemoryVectorStore(VectorStore):
    """Exact search over a dict; not persistent. Shared per ``(db_path, namespace)``."""

    store_id: ClassVar[str] = "memory"
    _spaces: ClassVar[dict[tuple[str, str], dict[int, Any]]] = {}

    def __init__(self, location: StoreLocation) -> None:
        super().__init__(location)
        self.vectors = self._spaces.setdefault((location.db_path, location.namespace), {})

    def upsert(self, ids: Sequence[int], vectors: Any) -> None:
        import numpy as np

        for item_id, vector in zip(ids, vectors, strict=True):
            self.vectors[int(item_id)] = np.asarray(vector, dtype=np.float32)

    def delete(self, ids: Sequence[int]) -> None:
        for item_id in ids:
            self.vectors.pop(int(item_id), None)

    def search(
        self, vector: Any, k: int, candidates: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        import numpy as np

        keys = list(self.vectors) if candidates is None else [
            c for c in candidates if c in self.vectors
        ]
        if not keys:
            return []
        matrix = np.stack([self.vectors[key] for key in keys])
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores)[:k]
        return [(keys[i], float(scores[i])) for i in order]

    def fetch(self, ids: Sequence[int]) -> tuple[Any, Any]:
        import numpy as np

        found = sorted({int(i) for i in ids if int(i) in self.vectors})
        matrix = np.zeros((len(found), self.location.dimensions), dtype=np.float32)
        for row, item_id in enumerate(found):
            matrix[row] = self.vectors[item_id]
        return np.asarray(found, dtype=np.int64), matrix

    def count(self) -> int:
        return len(self.vectors)

    def ids(self) -> set[int]:
        return set(self.vectors)


# Module-level hooks: register this module as a plugin (``host.register(fakes)``) or put
# ``from huisou.testing.fakes import *`` in a file of the ``plugins_dir`` for CLI tests.


@hookimpl
def register_embedding_backends(register: Any) -> None:
    register(FakeEmbeddingBackend)


@hookimpl
def register_vector_stores(register: Any) -> None:
    register(MemoryVectorStore)
