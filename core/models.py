"""Models as a host concept: what the CLI and the TUI may know about any backend's models.

An embedding backend that has models to manage returns a :class:`ModelManager` from its
``model_manager`` classmethod; the host (:class:`ModelHost`, mixed into the plugin host) finds
it by backend id. The ``huisou models`` commands and the TUI's Models screen use only this
module, so a third-party backend gets them for free and neither imports a plugin.

Languages are ISO 639-1 codes (``en``, ``zh``...) plus ``multilingual``. A query's *script*
(Han, kana, Hangul, Cyrillic...) says which language it needs; Latin text is not judged (it is
English as often as anything else), so only a non-Latin query on a model that does not list
its language gets a notice (:func:`language_notice`).
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from huisou.core.errors import HuisouError, PluginError

if TYPE_CHECKING:  # pragma: no cover - types only
    import os

#: ``progress(file, bytes_done, bytes_total_or_None)`` while a model downloads.
Progress = Callable[[str, int, "int | None"], None]

#: Unicode script prefix (first word of the character name) -> the language it implies.
SCRIPT_LANGUAGES: dict[str, str] = {
    "CJK": "zh",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "HANGUL": "ko",
    "CYRILLIC": "ru",
    "ARABIC": "ar",
    "HEBREW": "he",
    "GREEK": "el",
    "THAI": "th",
    "DEVANAGARI": "hi",
}
LANGUAGE_NAMES: dict[str, str] = {
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "ar": "Arabic",
    "he": "Hebrew", "el": "Greek", "th": "Thai", "hi": "Hindi", "en": "English",
}


@dataclass(frozen=True)
class ModelInfo:
    """One model as ``huisou models list`` and the Models screen show it.

    ``size`` is exact when every file's size is known, else None with ``size_at_least`` a
    lower bound. ``unverified`` names files with no published digest: their sha256 is recorded
    on first download (trust on first use) and checked on every later one.
    """

    name: str
    backend: str
    description: str = ""
    languages: tuple[str, ...] = ()
    licence: str = ""
    size: int | None = None
    size_at_least: int = 0
    installed: bool = False
    int8: bool = False
    catalog: bool = False
    pinned: bool | None = None
    unverified: tuple[str, ...] = ()
    tier: str = ""
    path: str | None = None

    def covers(self, language: str) -> bool:
        return language in self.languages or "multilingual" in self.languages

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages)
        data["unverified"] = list(self.unverified)
        return data


class ModelManager(ABC):
    """Lists, fetches, imports, installs, quantizes and removes one backend's models.

    Every method raises :class:`~huisou.core.errors.HuisouError` with one line naming the
    model, file or value and what to do. Long work (downloads, imports, quantization) runs on
    the caller's thread; ``progress`` callbacks may raise to cancel a download.
    """

    backend_id: ClassVar[str]

    def __init__(self, models_dir: str | os.PathLike[str]) -> None:
        self.models_dir = Path(models_dir).expanduser()

    @abstractmethod
    def list_models(self) -> list[ModelInfo]:
        """Catalog models and installed ones (installed-only models last)."""

    def info(self, name: str) -> ModelInfo | None:
        return next((m for m in self.list_models() if m.name == name), None)

    @abstractmethod
    def download(self, name: str, progress: Progress | None = None, endpoint: str | None = None,
                 timeout: float = 30.0) -> Path:
        """Fetch a catalog model, verified, into the models directory; return its directory."""

    def import_formats(self) -> tuple[str, ...]:
        """Upstream layouts :meth:`import_model` understands (none by default)."""
        return ()

    def import_model(self, fmt: str, directory: str | os.PathLike[str], name: str | None = None,
                     force: bool = False) -> Path:
        """Turn an upstream project's files into an installed model; return its directory."""
        raise HuisouError(f"backend {self.backend_id!r} cannot import models (format {fmt!r})")

    @abstractmethod
    def install(self, directory: str | os.PathLike[str], name: str | None = None,
                link: bool = False, force: bool = False) -> Path:
        """Validate a ready model directory and register it (copied, or linked)."""

    def quantize(self, name: str, **options: Any) -> dict[str, Any]:
        """Write smaller weights and measure them; return the measurement record."""
        raise HuisouError(f"backend {self.backend_id!r} cannot quantize models")

    @abstractmethod
    def remove(self, name: str, int8_only: bool = False) -> None:
        """Delete an installed model (or only its quantized files)."""

    def languages(self, name: str) -> tuple[str, ...]:
        found = self.info(name)
        return found.languages if found else ()

    def licence(self, name: str) -> str:
        found = self.info(name)
        return found.licence if found else ""


def query_languages(text: str) -> list[str]:
    """Languages a text's non-Latin scripts imply, in order of first appearance."""
    found: list[str] = []
    for char in text:
        if ord(char) < 0x0370:  # ASCII, Latin-1, Latin Extended, IPA: not judged
            continue
        script = unicodedata.name(char, "").split(" ", 1)[0]
        language = SCRIPT_LANGUAGES.get(script)
        if language and language not in found:
            found.append(language)
    return found


def language_notice(text: str, model: ModelInfo | None, others: list[ModelInfo]) -> str | None:
    """One line when ``model`` does not cover a language the query is written in, naming a
    model that does (installed ones first); None when the model covers it or is unknown."""
    if model is None or not model.languages:
        return None
    missing = [lang for lang in query_languages(text) if not model.covers(lang)]
    if not missing:
        return None
    language = missing[0]
    label = LANGUAGE_NAMES.get(language, language)
    covering = sorted((m for m in others if m.covers(language) and m.name != model.name),
                      key=lambda m: (not m.installed, "multilingual" in m.languages, m.name))
    advice = "no installed or catalog model covers it"
    if covering:
        best = covering[0]
        advice = (f"use --model {best.name} (installed)" if best.installed else
                  f"`huisou models download {best.name}` covers it")
    langs = ",".join(model.languages)
    return f"note: the query is in {label} but model {model.name} knows {langs}; {advice}"


class ModelHost:
    """The host's model facade (mixed into :class:`~huisou.core.plugins.PluginHost`)."""

    def embedding_backends(self) -> dict[str, type]:  # pragma: no cover - PluginHost's
        raise NotImplementedError

    def model_manager(self, backend_id: str, models_dir: str | os.PathLike[str]) -> ModelManager:
        """The manager of a backend's models; PluginError when it has none."""
        backends = self.embedding_backends()
        if backend_id not in backends:
            known = ", ".join(sorted(backends)) or "none"
            raise PluginError(f"unknown embedding backend {backend_id!r} (known: {known})")
        manager = backends[backend_id].model_manager(models_dir)
        if manager is None:
            raise PluginError(f"backend {backend_id!r} has no models to manage")
        return manager

    def model_managers(self, models_dir: str | os.PathLike[str]) -> list[ModelManager]:
        """Every backend's manager (backends without models are left out)."""
        found = [cls.model_manager(models_dir) for cls in self.embedding_backends().values()]
        return [manager for manager in found if manager is not None]

    def language_notice(self, text: str, backend_id: str, model: str,
                        models_dir: str | os.PathLike[str]) -> str | None:
        """The notice for a query on ``model`` (see :func:`language_notice`); None when the
        backend manages no models or the query's languages are covered."""
        try:
            manager = self.model_manager(backend_id, models_dir)
            models = manager.list_models()
        except HuisouError:
            return None
        current = next((m for m in models if m.name == model), None)
        return language_notice(text, current, models)
