"""Build the pipeline's runtime (database URL, object store, embedding provider) from settings."""

from __future__ import annotations

from functools import lru_cache

from catalog_lib.db import resolve_database
from catalog_lib.embeddings import build_provider
from catalog_lib.pipeline import Runtime
from catalog_lib.settings import Settings, get_settings
from catalog_lib.storage import ObjectStore, StorageConfig


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter is not None else None


def storage_config(settings: Settings) -> StorageConfig:
    """The storage adapter's configuration, secrets unwrapped only here."""
    return StorageConfig(
        landing_url=settings.landing_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        s3_access_key_id=_secret(settings.s3_access_key_id),
        s3_secret_access_key=_secret(settings.s3_secret_access_key),
    )


def build_runtime(settings: Settings) -> Runtime:
    """Resolve the database (starting the embedded server if needed) and open the adapters."""
    target = resolve_database(
        _secret(settings.database_url), settings.state_dir, settings.pg_bin_dir
    )
    provider = build_provider(
        settings.embedding_provider,
        model=settings.embedding_model,
        base_url=settings.embedding_base_url,
        api_key=_secret(settings.embedding_api_key),
        dimensions=settings.embedding_dimensions,
    )
    return Runtime(
        database_url=target.url,
        store=ObjectStore(storage_config(settings)),
        provider=provider,
        chunk_size=settings.chunk_size,
        apply_partitions=settings.apply_partitions,
    )


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The process-wide runtime, built from the process settings on first use."""
    return build_runtime(get_settings())
