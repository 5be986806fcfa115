"""Build the pipeline's runtime (database URL, object store, embedding provider) from settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr

from catalog_lib.db import resolve_database
from catalog_lib.embeddings import build_provider
from catalog_lib.pipeline import Runtime
from catalog_lib.settings import Settings, get_settings
from catalog_lib.storage import ObjectStore, StorageConfig


def secret_value(value: SecretStr | None) -> str | None:
    """Unwrap an optional secret at the point where an adapter needs it."""
    return value.get_secret_value() if value is not None else None


def storage_config(settings: Settings) -> StorageConfig:
    """The storage adapter's configuration, secrets unwrapped only here."""
    return StorageConfig(
        landing_url=settings.landing_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        s3_access_key_id=secret_value(settings.s3_access_key_id),
        s3_secret_access_key=secret_value(settings.s3_secret_access_key),
    )


def build_runtime(settings: Settings) -> Runtime:
    """Resolve the database (starting the embedded server if needed) and open the adapters."""
    target = resolve_database(
        secret_value(settings.database_url), settings.state_dir, settings.pg_bin_dir
    )
    provider = build_provider(
        settings.embedding_provider,
        model=settings.embedding_model,
        base_url=settings.embedding_base_url,
        api_key=secret_value(settings.embedding_api_key),
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
