"""The product's settings tree: environment variables prefixed `CATALOG_`, `.env`, defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog_lib.chunking import parse_size

DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024


class Settings(BaseSettings):
    """Everything configurable; read only by entry points, which pass values down."""

    model_config = SettingsConfigDict(
        env_prefix="CATALOG_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    home: Path = Field(
        default=Path(".catalog-etl"),
        description="State folder: embedded PostgreSQL data, local Prefect server, logs, PIDs.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL (>= 16). Unset: the embedded server under $CATALOG_HOME/pg.",
    )
    landing_url: str = Field(
        default="landing",
        description="Where scrapers drop CSV files: a local folder or s3://bucket/prefix.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (R2, MinIO); unset for AWS S3."
    )
    s3_region: str | None = Field(default=None, description="S3 region (R2: `auto`).")
    s3_access_key_id: SecretStr | None = Field(default=None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key."
    )
    chunk_size: int = Field(
        default=DEFAULT_CHUNK_SIZE,
        description="Target chunk size in bytes; accepts `4KiB`, `16MiB`, ...",
    )
    chunk_concurrency: int = Field(
        default=4, ge=1, description="How many chunk tasks of one job run at once."
    )
    apply_partitions: int = Field(
        default=4, ge=1, le=256, description="SKU-hash partitions of the apply phase."
    )
    task_retries: int = Field(
        default=3, ge=0, description="Retries of a chunk task after a transient error."
    )
    task_retry_delay_s: float = Field(
        default=2.0, ge=0, description="Base of the exponential backoff between task retries."
    )
    embedding_provider: Literal["none", "openai", "sentence-transformers"] = Field(
        default="none", description="Embedding provider; `none` loads rows without vectors."
    )
    embedding_model: str = Field(
        default="text-embedding-3-small", description="Embedding model name."
    )
    embedding_dimensions: int = Field(
        default=1536, ge=1, description="Vector dimension of catalog_items.embedding."
    )
    embedding_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible /v1/embeddings endpoint."
    )
    embedding_api_key: SecretStr | None = Field(default=None, description="Embedding API key.")
    sentry_dsn: SecretStr | None = Field(default=None, description="Sentry DSN; unset: off.")
    pg_bin_dir: Path | None = Field(
        default=None,
        description="PostgreSQL binaries for the embedded server (default: the pinned package).",
    )

    @field_validator("chunk_size", mode="before")
    @classmethod
    def _parse_chunk_size(cls, value: object) -> int:
        if isinstance(value, str | int):
            return parse_size(value)
        raise ValueError("chunk_size must be a size such as 16MiB")

    @property
    def state_dir(self) -> Path:
        """The absolute state folder."""
        return self.home.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (entry points only)."""
    return Settings()
