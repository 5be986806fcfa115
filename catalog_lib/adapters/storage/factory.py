"""Build the object store for a configuration: the landing backend plus readers of other URLs.

`open_store(config)` is the one place that looks at a URL's scheme. The store it returns
reads and writes landing keys through the landing backend (a local folder or an S3 prefix)
and still reads an object named by a full URL of the other kind (an operator's
`catalog-etl ingest s3://…` while the landing folder is local, or a job recorded before the
landing root moved), with the same credentials and the same error translation.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator

import fsspec
from pydantic import SecretStr

from catalog_lib.adapters.storage.base import ObjectStore, ObjectVersion, StorageConfig
from catalog_lib.adapters.storage.local import FILE_SCHEME, LocalStore
from catalog_lib.adapters.storage.s3 import S3_SCHEME, S3Store, s3_root_uri
from catalog_lib.core.errors import ConfigurationError, InvalidObjectKeyError
from catalog_lib.core.settings import Settings


def open_store(config: StorageConfig) -> ObjectStore:
    """Return the object store for ``config.landing_url`` (a folder, file:// or s3:// URL).

    Raises:
        ConfigurationError: the landing URL is empty, has no bucket or an unknown scheme.
    """
    landing = config.landing_url.strip()
    if not landing:
        raise ConfigurationError("landing_url is empty")
    if landing.startswith(S3_SCHEME):
        s3 = S3Store(config, s3_root_uri(landing))
        return LandingStore(landing=s3, local=LocalStore(None), s3=s3)
    if landing.startswith(FILE_SCHEME):
        landing = landing[len(FILE_SCHEME) :]
    elif "://" in landing:
        raise ConfigurationError("unsupported landing_url scheme", landing_url=landing)
    local = LocalStore(landing)
    return LandingStore(landing=local, local=local, s3=S3Store(config, None))


class LandingStore:
    """An `ObjectStore` whose landing backend is one of its two backends, chosen by scheme."""

    def __init__(self, *, landing: ObjectStore, local: LocalStore, s3: S3Store) -> None:
        """Route landing keys to ``landing`` and full URLs to the backend of their scheme."""
        self._landing = landing
        self._local = local
        self._s3 = s3

    @property
    def root_uri(self) -> str:
        """Return the canonical URI of the landing root."""
        return self._landing.root_uri

    def resolve(self, uri_or_key: str) -> str:
        """Return the canonical URI of a landing key or of a URL/path of either backend."""
        return self._backend(uri_or_key).resolve(uri_or_key)

    def head(self, uri: str) -> ObjectVersion:
        """Return the current version of an object."""
        return self._backend(uri).head(uri)

    def read_range(
        self,
        uri: str,
        start: int,
        end_inclusive: int,
        *,
        expected: ObjectVersion | None = None,
    ) -> bytes:
        """Return bytes start..end_inclusive of one object version."""
        return self._backend(uri).read_range(uri, start, end_inclusive, expected=expected)

    def iter_bytes(
        self,
        uri: str,
        *,
        block_size: int = 8 * 1024 * 1024,
        expected: ObjectVersion | None = None,
    ) -> Iterator[bytes]:
        """Stream one consistent version of the whole object."""
        return self._backend(uri).iter_bytes(uri, block_size=block_size, expected=expected)

    def list(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        """Return every landing object whose key starts with prefix, by URI."""
        return self._landing.list(prefix)

    def write(self, key: str, data: bytes) -> ObjectVersion:
        """Write an object under the landing root."""
        return self._landing.write(key, data)

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """Return the fsspec filesystem and its own path for an object."""
        return self._backend(uri).filesystem(uri)

    def _backend(self, text: str) -> ObjectStore:
        if text.startswith(S3_SCHEME):
            return self._s3
        if text.startswith(FILE_SCHEME):
            return self._local
        if text.startswith("/") and self._landing is self._s3:
            # Under an S3 landing root an absolute path can only be an absolute key.
            raise InvalidObjectKeyError("absolute keys are not allowed", object_key=text)
        return self._landing


def storage_config_from_settings(settings: Settings) -> StorageConfig:
    """The storage configuration the `CATALOG_*` settings give; secrets are unwrapped here only.

    Credentials kept in a Prefect block (`CATALOG_S3_CREDENTIALS_BLOCK`) are read by the entry
    points that may import prefect (`flows.runtime`), which call this for everything else.
    """

    def unwrap(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return StorageConfig(
        landing_url=settings.landing_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        s3_access_key_id=unwrap(settings.s3_access_key_id),
        s3_secret_access_key=unwrap(settings.s3_secret_access_key),
    )
