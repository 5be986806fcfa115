"""The embedding provider protocol, the no-op provider, and the checks every provider shares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from catalog_lib.core.errors import ConfigurationError

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
PROVIDER_KINDS = ("none", "openai", "sentence-transformers")
LOCAL_EMBEDDINGS_HINT = "run `uv sync --extra local-embeddings` to install sentence-transformers"


class EmbeddingProvider(Protocol):
    """Turns texts into vectors, one per text, in the same order."""

    name: str
    dimensions: int | None
    enabled: bool

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in order; raises EmbeddingError on provider failure."""
        ...


class NoEmbeddings:
    """The disabled provider: items are loaded without vectors and embed() must not be called."""

    def __init__(self) -> None:
        self.name = "none"
        self.dimensions: int | None = None
        self.enabled = False

    def embed(self, texts: Sequence[str]) -> list[list[float]]:  # noqa: ARG002 - the protocol's signature
        """Refuse: callers must check `enabled` before embedding.

        Raises:
            ConfigurationError: Always.
        """
        raise ConfigurationError("embeddings are disabled (provider 'none'); check `enabled` first")


def _require_positive_int(setting: str, value: int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError("embedding setting must be a positive integer", setting=setting)


def _as_vector(value: object) -> list[float] | None:
    if not isinstance(value, list) or not value:
        return None
    vector: list[float] = []
    for component in value:
        if isinstance(component, bool) or not isinstance(component, int | float):
            return None
        number = float(component)
        if not math.isfinite(number):
            return None
        vector.append(number)
    return vector
