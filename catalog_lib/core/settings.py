"""The product's settings tree: environment variables prefixed `CATALOG_`, `.env`, defaults."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from catalog_lib.core.sizes import parse_size

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
    s3_credentials_block: str | None = Field(
        default=None,
        description=(
            "Prefect block holding the S3 credentials (`aws-credentials/NAME`, "
            "`minio-credentials/NAME` or a bare NAME); excludes CATALOG_S3_ACCESS_KEY_ID/SECRET."
        ),
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
    task_runner: Literal["threads", "processes", "dask"] = Field(
        default="threads",
        description="Where a job's tasks run: `threads` (Prefect's thread pool in the flow's "
        "process; the fastest measured on a 2-core machine), `processes` (Prefect's process "
        "pool, at most one worker per core) or `dask` (prefect-dask's DaskTaskRunner: a local "
        "cluster, or the scheduler at `CATALOG_DASK_ADDRESS`).",
    )
    dask_address: str | None = Field(
        default=None,
        description="Scheduler address for `task_runner=dask` (e.g. `tcp://127.0.0.1:8786`); "
        "unset starts a local cluster per flow run.",
    )
    dask_workers: int = Field(
        default=2, ge=1, description="Worker processes of the local Dask cluster."
    )
    dask_processes: bool = Field(
        default=True,
        description="Local Dask cluster workers are processes (true) or threads of the flow's "
        "process (false).",
    )
    max_header_columns: int = Field(
        default=1024,
        ge=1,
        description="A CSV header with more columns fails the job (`header_too_large`).",
    )
    max_header_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="A CSV header longer than this (bytes, e.g. `1MiB`) fails the job "
        "(`header_too_large`); the planner never buffers more of it.",
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
    sentry_environment: str = Field(
        default="production", description="Sentry environment tag of events."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level of the product's log lines."
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="Log lines on stderr: one JSON object per line, or text."
    )
    retention_days: int = Field(
        default=90, ge=1, description="Rejected rows older than this many days are deleted."
    )
    retention_batch_size: int = Field(
        default=10_000, ge=1, description="Rows deleted per retention batch (one transaction)."
    )
    retention_max_batches: int = Field(
        default=100, ge=1, description="Batches one retention run may delete at most."
    )
    audit_low_price_allowlist: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset({"3vgear", "bioliteenergy", "farmtofeet", "kelty", "darntough"}),
        description="Sources whose low median price is expected (no `low_median` flag).",
    )
    audit_decimal_bug_price: Decimal = Field(
        default=Decimal(10), gt=0, description="`decimal_bug` looks at prices below this."
    )
    audit_low_median_price: Decimal = Field(
        default=Decimal(20), gt=0, description="`low_median` fires below this median price."
    )
    audit_min_fill_rate: float = Field(
        default=0.7, gt=0, le=1, description="`high_null` fires when the fill rate is lower."
    )
    audit_stale_days: int = Field(
        default=30, ge=0, description="`stale` fires after more whole days than this."
    )
    audit_row_drop_pct: float = Field(
        default=50.0,
        gt=0,
        le=100,
        description="`row_drop` fires when valid rows fell by at least this percentage.",
    )
    audit_invalid_spike_points: float = Field(
        default=10.0,
        gt=0,
        le=100,
        description="`invalid_spike` fires when the invalid share rose by at least this many "
        "percentage points.",
    )
    pg_bin_dir: Path | None = Field(
        default=None,
        description="PostgreSQL binaries for the embedded server (default: the pinned package).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret(s) of the scraper webhook's HMAC-SHA256 signatures; "
        "comma-separated to keep several active during a rotation (the first one signs). "
        "Unset: the webhook refuses to start.",
    )
    webhook_max_body_bytes: int = Field(
        default=65_536, ge=1, description="Largest webhook request body accepted (bytes)."
    )
    webhook_host: str = Field(
        default="127.0.0.1", description="Address `catalog-etl webhook` listens on."
    )
    webhook_port: int = Field(
        default=8787, ge=0, le=65_535, description="Port of the webhook (0: a free port)."
    )

    console_host: str = Field(
        default="127.0.0.1",
        description="Address `catalog-etl console` listens on. Without OIDC sign-in, actions "
        "are allowed only on loopback; any other address makes the console read-only.",
    )
    console_port: int = Field(
        default=8501, ge=0, le=65_535, description="Port of the ops console (0: a free port)."
    )
    console_operators: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="Who may act in the console when signed in with OIDC: comma-separated "
        "e-mail addresses and `@domain` entries. Unset: every signed-in identity.",
    )

    @field_validator("audit_low_price_allowlist", mode="before")
    @classmethod
    def _parse_allowlist(cls, value: object) -> object:
        # A comma-separated list in the environment, or a JSON list.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return frozenset(json.loads(value))
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("console_operators", mode="before")
    @classmethod
    def _parse_operators(cls, value: object) -> object:
        # Comma-separated e-mails and @domains (or a JSON list); compared case-insensitively.
        if isinstance(value, str):
            parts = json.loads(value) if value.lstrip().startswith("[") else value.split(",")
            return frozenset(str(part).strip().lower() for part in parts if str(part).strip())
        return value

    @field_validator("chunk_size", "max_header_bytes", mode="before")
    @classmethod
    def _parse_chunk_size(cls, value: object) -> int:
        if isinstance(value, str | int):
            return parse_size(value)
        raise ValueError("must be a size such as 16MiB")  # pydantic validators raise ValueError

    def webhook_secrets(self) -> list[str]:
        """The active webhook secrets, newest (signing) first; empty when unset."""
        if self.webhook_secret is None:
            return []
        return parse_secrets(self.webhook_secret.get_secret_value())

    @property
    def state_dir(self) -> Path:
        """The absolute state folder."""
        return self.home.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (entry points only)."""
    return Settings()


def parse_secrets(value: str) -> list[str]:
    """Split a comma-separated list of secrets (the first one is used for signing)."""
    return [part.strip() for part in value.split(",") if part.strip()]
