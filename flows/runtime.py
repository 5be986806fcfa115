"""Entry-point wiring: logging and Sentry, and the runtime (database, object store, embeddings)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr

from catalog_lib.adapters.embeddings import build_provider
from catalog_lib.adapters.postgres import resolve_database
from catalog_lib.adapters.sentry import init_sentry
from catalog_lib.adapters.storage import StorageConfig, open_store, storage_config_from_settings
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.core.logs import configure_logging
from catalog_lib.core.settings import Settings, get_settings
from catalog_lib.ingest.steps import Runtime
from flows.s3_blocks import load_s3_credentials, one_source
from flows.stack.prefect_server import use_prefect_server


def secret_value(value: SecretStr | None) -> str | None:
    """Unwrap an optional secret at the point where an adapter needs it."""
    return value.get_secret_value() if value is not None else None


def storage_config(settings: Settings) -> StorageConfig:
    """The storage adapter's configuration, secrets unwrapped only here.

    Credentials come from the Prefect block named by CATALOG_S3_CREDENTIALS_BLOCK, or from
    CATALOG_S3_ACCESS_KEY_ID/SECRET, never from both (see `flows.s3_blocks` for the rule).

    Raises:
        ConfigurationError: both sources are set, or the block is missing or unusable.
    """
    name = settings.s3_credentials_block
    if not name:
        return storage_config_from_settings(settings)
    if settings.s3_access_key_id is not None or settings.s3_secret_access_key is not None:
        raise ConfigurationError(
            "CATALOG_S3_CREDENTIALS_BLOCK and CATALOG_S3_ACCESS_KEY_ID/SECRET are both set; "
            "keep the credentials in one place (unset the variables to use the block)",
            block=name,
        )
    # The block lives on the Prefect server: PREFECT_API_URL, else the local one.
    use_prefect_server(settings.state_dir)
    credentials = load_s3_credentials(name)
    return StorageConfig(
        landing_url=settings.landing_url,
        s3_endpoint_url=one_source(
            "s3_endpoint_url", credentials.endpoint_url, settings.s3_endpoint_url, name
        ),
        s3_region=one_source("s3_region", credentials.region, settings.s3_region, name),
        s3_access_key_id=credentials.access_key_id,
        s3_secret_access_key=credentials.secret_access_key,
        s3_session_token=credentials.session_token,
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
        store=open_store(storage_config(settings)),
        provider=provider,
        chunk_size=settings.chunk_size,
        apply_partitions=settings.apply_partitions,
        max_header_columns=settings.max_header_columns,
        max_header_bytes=settings.max_header_bytes,
    )


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The process-wide runtime, built from the process settings on first use."""
    return build_runtime(get_settings())


# What the process's entry point decided: a flow run inside `catalog-etl ingest` at a terminal
# configures logging again, and must keep the terminal's format and level.
_session = {"interactive": False}


def configure_observability(settings: Settings, *, interactive: bool | None = None) -> bool:
    """JSON (or text) log lines on stderr, and Sentry when `CATALOG_SENTRY_DSN` is set.

    `interactive` (a person at a terminal): unless set explicitly, CATALOG_LOG_FORMAT is
    `text` (JSON stays the default for services and piped output) and only warnings and errors
    are written to stderr (the loggers, hence Sentry and Prefect run logs, keep
    CATALOG_LOG_LEVEL), so event lines do not drown the command's own output or its progress
    bar. `None` (flows) keeps what the entry point chose earlier in this process (not
    interactive when nothing did). Safe to call more than once per process. Returns whether
    Sentry is active.
    """
    if interactive is None:
        interactive = _session["interactive"]
    else:
        _session["interactive"] = interactive
    explicit = settings.model_fields_set
    quiet = interactive and "log_level" not in explicit
    text = settings.log_format == "text" or (interactive and "log_format" not in explicit)
    configure_logging(
        json=not text,
        level=settings.log_level,
        console_level="WARNING" if quiet else None,
    )
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None
    return init_sentry(dsn, environment=settings.sentry_environment)
