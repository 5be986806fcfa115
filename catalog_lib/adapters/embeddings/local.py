"""Local embeddings with sentence-transformers (the optional `local-embeddings` extra)."""

from __future__ import annotations

from collections.abc import Sequence

from catalog_lib.adapters.embeddings.base import LOCAL_EMBEDDINGS_HINT, _require_positive_int
from catalog_lib.core.errors import ConfigurationError, EmbeddingError


class SentenceTransformersEmbeddings:
    """Embeds locally with a sentence-transformers model (optional extra ``local-embeddings``)."""

    def __init__(
        self,
        model: str,
        *,
        dimensions: int | None = None,
        batch_size: int = 96,
        device: str | None = None,
    ) -> None:
        """Load the model; the library is imported here so the base install does not need it.

        Raises:
            ConfigurationError: sentence-transformers is not installed, or the model cannot load.
        """
        if not model or not model.strip():
            raise ConfigurationError("the sentence-transformers provider needs a model name")
        _require_positive_int("dimensions", dimensions, allow_none=True)
        _require_positive_int("batch_size", batch_size)
        try:
            import sentence_transformers
        except ImportError as exc:
            raise ConfigurationError(
                f"the sentence-transformers provider is not available: {LOCAL_EMBEDDINGS_HINT}",
                error_name=type(exc).__name__,
            ) from exc
        self.model = model.strip()
        try:
            self._model = sentence_transformers.SentenceTransformer(
                self.model, device=device, truncate_dim=dimensions
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise ConfigurationError(
                "could not load the sentence-transformers model",
                model=self.model,
                error_name=type(exc).__name__,
            ) from exc
        native = self._model.get_sentence_embedding_dimension()
        self.dimensions: int | None = dimensions or (int(native) if native else None)
        suffix = f"@{dimensions}" if dimensions is not None else ""
        self.name = f"sentence-transformers:{self.model}{suffix}"
        self.enabled = True
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit-length vector per text, in input order.

        Raises:
            EmbeddingError: The model failed or returned the wrong number of vectors.
        """
        if isinstance(texts, str):
            # A wrong argument type (a programming error), not a domain failure.
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if not texts:
            return []
        try:
            array = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise EmbeddingError(
                "local embedding model failed", provider=self.name, error_name=type(exc).__name__
            ) from exc
        vectors = [[float(x) for x in row] for row in array.tolist()]
        if len(vectors) != len(texts):
            raise EmbeddingError(
                "local embedding model returned the wrong number of vectors",
                provider=self.name,
                expected=len(texts),
                received=len(vectors),
            )
        return vectors
