"""``EmbeddingBackendContract``: the clauses of :class:`~huisou.core.interfaces.EmbeddingBackend`.

Subclass it and provide a ``backend`` fixture returning a fresh instance (nothing loaded yet)::

    class TestMyBackend(EmbeddingBackendContract):
        @pytest.fixture
        def backend(self, tmp_path):
            return MyBackend(model="tiny")

Lazy loading ("``embed_images`` must not load the text encoder") is only observable if the
suite can ask which encoders are loaded: override :meth:`loaded_encoders` to return a subset of
``{"image", "text"}``. By default it understands a ``sessions_loaded()`` method or
``image_encoder_loaded``/``text_encoder_loaded`` attributes; otherwise those tests are skipped
with a reason (shown by ``pytest -ra``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from huisou.core.errors import HuisouError
from huisou.core.interfaces import EmbeddingBackend

#: Characters allowed in a model fingerprint: it names tables and files.
FINGERPRINT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def sample_images(size: int = 96) -> list[Any]:
    """A few distinct RGB images (solid colours with a pattern), made with Pillow."""
    from PIL import Image, ImageDraw

    images = []
    for i, colour in enumerate([(220, 20, 20), (20, 160, 20), (20, 20, 220), (240, 240, 240)]):
        image = Image.new("RGB", (size + 16 * i, size), colour)
        draw = ImageDraw.Draw(image)
        draw.ellipse((size // 4, size // 4, size // 2 + 8 * i, size // 2), fill=(0, 0, 0))
        images.append(image)
    return images


class EmbeddingBackendContract:
    """Contract tests for an embedding backend; the subclass provides ``backend``."""

    #: Queries used by the text tests.
    texts = ("a red square", "a photo of a dog on a beach", "蓝色的天空")
    #: Tolerance for unit norm and for repeat/batch consistency.
    tolerance = 1e-4

    @pytest.fixture
    def backend(self) -> EmbeddingBackend:
        raise NotImplementedError("provide a 'backend' fixture returning an EmbeddingBackend")

    @pytest.fixture
    def images(self) -> list[Any]:
        return sample_images()

    def loaded_encoders(self, backend: EmbeddingBackend) -> set[str] | None:
        """Which encoders are loaded (``{"image", "text"}`` subset), or None if unobservable."""
        if callable(getattr(backend, "sessions_loaded", None)):
            return set(backend.sessions_loaded())
        if hasattr(backend, "image_encoder_loaded") and hasattr(backend, "text_encoder_loaded"):
            loaded = set()
            if backend.image_encoder_loaded:
                loaded.add("image")
            if backend.text_encoder_loaded:
                loaded.add("text")
            return loaded
        return None

    def _loaded(self, backend: EmbeddingBackend) -> set[str]:
        loaded = self.loaded_encoders(backend)
        if loaded is None:
            pytest.skip(f"{type(backend).__name__} does not say which encoders are loaded; "
                        "override loaded_encoders() to check lazy loading")
        return loaded

    def _embed_images(self, backend: EmbeddingBackend, images: list[Any]) -> Any:
        return backend.embed_images([backend.prepare_image(image) for image in images])

    def _check_output(self, backend: EmbeddingBackend, vectors: Any, n: int) -> None:
        import numpy as np

        assert isinstance(vectors, np.ndarray), f"got {type(vectors).__name__}, not ndarray"
        assert vectors.dtype == np.float32, f"dtype {vectors.dtype}, not float32"
        assert vectors.shape == (n, backend.dimensions)
        assert np.all(np.isfinite(vectors))
        norms = np.linalg.norm(vectors, axis=1)
        assert np.allclose(norms, 1.0, atol=self.tolerance), f"not L2-normalised: {norms}"

    def test_is_an_embedding_backend(self, backend: EmbeddingBackend) -> None:
        assert isinstance(backend, EmbeddingBackend)
        assert isinstance(type(backend).backend_id, str) and type(backend).backend_id
        assert isinstance(backend.dimensions, int) and backend.dimensions > 0
        assert isinstance(backend.image_size, int) and backend.image_size > 0

    def test_model_fingerprint_is_stable_and_name_safe(self, backend: EmbeddingBackend) -> None:
        fingerprint = backend.model_fingerprint
        assert isinstance(fingerprint, str) and fingerprint
        assert set(fingerprint) <= FINGERPRINT_CHARS, f"unsafe characters in {fingerprint!r}"
        assert backend.model_fingerprint == fingerprint
        twin = type(backend)(backend.model, **backend.config)
        assert twin.model_fingerprint == fingerprint, "same model and options, other fingerprint"

    def test_nothing_is_loaded_before_use(self, backend: EmbeddingBackend) -> None:
        backend.dimensions, backend.model_fingerprint, backend.describe()  # noqa: B018
        assert self._loaded(backend) == set()

    def test_embed_images_returns_unit_float32(self, backend: EmbeddingBackend, images: list[Any]) -> None:
        self._check_output(backend, self._embed_images(backend, images), len(images))

    def test_embed_texts_returns_unit_float32(self, backend: EmbeddingBackend) -> None:
        self._check_output(backend, backend.embed_texts(list(self.texts)), len(self.texts))

    def test_embed_images_does_not_load_the_text_encoder(
        self, backend: EmbeddingBackend, images: list[Any]
    ) -> None:
        self._embed_images(backend, images[:1])
        loaded = self._loaded(backend)
        assert "text" not in loaded and "image" in loaded, loaded

    def test_embed_texts_does_not_load_the_image_encoder(self, backend: EmbeddingBackend) -> None:
        backend.embed_texts(["a cat"])
        loaded = self._loaded(backend)
        assert "image" not in loaded and "text" in loaded, loaded

    def test_release_frees_and_embedding_works_again(
        self, backend: EmbeddingBackend, images: list[Any]
    ) -> None:
        import numpy as np

        first = self._embed_images(backend, images[:2])
        backend.embed_texts(["a cat"])
        backend.release()
        loaded = self.loaded_encoders(backend)
        assert loaded is None or loaded == set(), f"still loaded after release: {loaded}"
        again = self._embed_images(backend, images[:2])
        assert np.allclose(first, again, atol=self.tolerance)

    def test_outputs_are_deterministic(self, backend: EmbeddingBackend, images: list[Any]) -> None:
        import numpy as np

        a = backend.embed_texts(list(self.texts))
        b = backend.embed_texts(list(self.texts))
        assert np.allclose(a, b, atol=self.tolerance)
        assert np.allclose(
            self._embed_images(backend, images), self._embed_images(backend, images),
            atol=self.tolerance,
        )

    def test_a_row_does_not_depend_on_its_batch(
        self, backend: EmbeddingBackend, images: list[Any]
    ) -> None:
        import numpy as np

        batch = self._embed_images(backend, images)
        alone = self._embed_images(backend, images[1:2])
        assert np.allclose(batch[1], alone[0], atol=self.tolerance * 10)
        texts = backend.embed_texts(list(self.texts))
        text_alone = backend.embed_texts([self.texts[1]])
        assert np.allclose(texts[1], text_alone[0], atol=self.tolerance * 10)

    def test_different_inputs_give_different_vectors(
        self, backend: EmbeddingBackend, images: list[Any]
    ) -> None:
        import numpy as np

        vectors = self._embed_images(backend, images)
        assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
        texts = backend.embed_texts(list(self.texts[:2]))
        assert not np.allclose(texts[0], texts[1], atol=1e-3)

    def test_prepare_image_is_thread_safe(self, backend: EmbeddingBackend, images: list[Any]) -> None:
        import numpy as np

        serial = [np.asarray(backend.prepare_image(image)) for image in images * 3]
        with ThreadPoolExecutor(4) as pool:
            parallel = list(pool.map(lambda im: np.asarray(backend.prepare_image(im)), images * 3))
        for a, b in zip(serial, parallel, strict=True):
            assert np.array_equal(a, b)
        assert self.loaded_encoders(backend) in (None, set()), "prepare_image loaded a model"

    def test_empty_text_raises_a_huisou_error(self, backend: EmbeddingBackend) -> None:
        with pytest.raises(HuisouError):
            backend.embed_texts([""])
        with pytest.raises(HuisouError):
            backend.embed_texts(["   "])

    def test_describe_names_the_backend(self, backend: EmbeddingBackend) -> None:
        info = backend.describe()
        assert isinstance(info, dict) and info.get("backend") == type(backend).backend_id
