"""Embedding providers: none, an OpenAI-compatible /v1/embeddings server, sentence-transformers.

One protocol and one module per implementation, like the object stores: `base` (the
`EmbeddingProvider` protocol, `NoEmbeddings`), `openai_compatible`, `local` (sentence-
transformers), `factory` (`build_provider` from settings).
"""

from __future__ import annotations

from catalog_lib.adapters.embeddings.base import (
    DEFAULT_OPENAI_BASE_URL,
    LOCAL_EMBEDDINGS_HINT,
    PROVIDER_KINDS,
    EmbeddingProvider,
    NoEmbeddings,
)
from catalog_lib.adapters.embeddings.factory import build_provider
from catalog_lib.adapters.embeddings.local import SentenceTransformersEmbeddings
from catalog_lib.adapters.embeddings.openai_compatible import OpenAICompatibleEmbeddings

__all__ = [
    "DEFAULT_OPENAI_BASE_URL",
    "LOCAL_EMBEDDINGS_HINT",
    "PROVIDER_KINDS",
    "EmbeddingProvider",
    "NoEmbeddings",
    "OpenAICompatibleEmbeddings",
    "SentenceTransformersEmbeddings",
    "build_provider",
]
