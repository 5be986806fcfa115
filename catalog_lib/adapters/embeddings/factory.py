"""Build the configured embedding provider from settings values."""

from __future__ import annotations

from pydantic import SecretStr

from catalog_lib.adapters.embeddings.base import (
    DEFAULT_OPENAI_BASE_URL,
    PROVIDER_KINDS,
    EmbeddingProvider,
    NoEmbeddings,
)
from catalog_lib.adapters.embeddings.local import SentenceTransformersEmbeddings
from catalog_lib.adapters.embeddings.openai_compatible import OpenAICompatibleEmbeddings
from catalog_lib.core.errors import ConfigurationError


def build_provider(
    kind: str,
    *,
    model: str | None,
    base_url: str | None,
    api_key: str | SecretStr | None,
    dimensions: int | None,
    batch_size: int = 96,
    timeout_s: float = 30.0,
    max_attempts: int = 3,
) -> EmbeddingProvider:
    """Build the configured embedding provider.

    Args:
        kind: One of ``none``, ``openai`` (any OpenAI-compatible server) or
            ``sentence-transformers``.
        model: Model identifier; required unless ``kind`` is ``none``.
        base_url: OpenAI-compatible server root; None means the OpenAI API.
        api_key: Bearer token for the OpenAI-compatible server.
        dimensions: Requested vector size, or None for the model's own.
        batch_size: Texts per request / encode batch.
        timeout_s: Per-request timeout of the OpenAI-compatible provider.
        max_attempts: Attempts per batch of the OpenAI-compatible provider.

    Raises:
        ConfigurationError: Unknown kind, missing model, or a setting out of range.
    """
    normalized = kind.strip().lower()
    if normalized == "none":
        return NoEmbeddings()
    if normalized not in PROVIDER_KINDS:
        raise ConfigurationError(
            "unknown embedding provider kind", kind=kind, allowed=", ".join(PROVIDER_KINDS)
        )
    if not model:
        raise ConfigurationError("an embedding model is required", kind=normalized)
    if normalized == "openai":
        return OpenAICompatibleEmbeddings(
            model=model,
            base_url=base_url or DEFAULT_OPENAI_BASE_URL,
            api_key=api_key,
            dimensions=dimensions,
            batch_size=batch_size,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
        )
    return SentenceTransformersEmbeddings(model, dimensions=dimensions, batch_size=batch_size)
