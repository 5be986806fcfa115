"""What every object store offers (the `ObjectStore` protocol), its value types and its errors.

The driver-error translation lives here once: every backend wraps its calls in
`storage_errors()`, which maps botocore and OS exceptions onto the product's error tree.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import fsspec

from catalog_lib.core.errors import (
    CatalogError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidObjectKeyError,
    ObjectNotFoundError,
    ObjectOutsideLandingError,
    SourceChangedError,
    StorageAccessError,
    StorageError,
)

logger = logging.getLogger(__name__)

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "InvalidSecurity",
        "AccountProblem",
        "403",
    }
)
_THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "503",
    }
)


@dataclass(frozen=True)
class ObjectVersion:
    """Identity of one version of an object: URI, size, ETag and last-modified time."""

    uri: str
    size: int
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class StorageConfig:
    """Where the landing area is and how to reach S3-compatible storage."""

    landing_url: str
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    s3_session_token: str | None = field(default=None, repr=False)
    s3_connect_timeout: float = 5.0
    s3_read_timeout: float = 60.0
    s3_max_attempts: int = 5


class ObjectStore(Protocol):
    """Reads, lists and writes objects under one landing root; errors are the product's own.

    Keys are relative to the landing root. Errors name an object by its landing-relative key
    when it lies under the root (never the absolute landing path), by its URI otherwise.
    """

    @property
    def root_uri(self) -> str:
        """Return the canonical URI of the landing root."""
        ...

    def resolve(self, uri_or_key: str) -> str:
        """Return the canonical URI for a landing key, a local path or a URL this store reads.

        Raises:
            InvalidObjectKeyError: the key is malformed or names an unsupported scheme.
            ObjectOutsideLandingError: a landing key or landing path leads outside the root.
        """
        ...

    def head(self, uri: str) -> ObjectVersion:
        """Return the current version of an object (a fresh look, never a cached one)."""
        ...

    def read_range(
        self,
        uri: str,
        start: int,
        end_inclusive: int,
        *,
        expected: ObjectVersion | None = None,
    ) -> bytes:
        """Return bytes start..end_inclusive (clipped at the end) of one object version.

        Raises:
            SourceChangedError: the object no longer matches ``expected``.
        """
        ...

    def iter_bytes(
        self,
        uri: str,
        *,
        block_size: int = 8 * 1024 * 1024,
        expected: ObjectVersion | None = None,
    ) -> Iterator[bytes]:
        """Stream one consistent version of the whole object in blocks of at most block_size."""
        ...

    def list(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        """Return every object under the landing root whose key starts with prefix, by URI."""
        ...

    def write(self, key: str, data: bytes) -> ObjectVersion:
        """Write an object under the landing root (atomically where the backend allows)."""
        ...

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """Return the fsspec filesystem and its own path for an object (e.g. for DuckDB)."""
        ...


def check_range(start: int, end_inclusive: int) -> None:
    """Refuse a negative or reversed byte range (a programming error, not a storage one)."""
    if start < 0 or end_inclusive < start:
        raise InvalidArgumentError(f"invalid byte range {start}-{end_inclusive}")


def check_block_size(block_size: int) -> None:
    """Refuse a block size that is not positive."""
    if block_size <= 0:
        raise InvalidArgumentError("block_size must be positive")


def check_key_text(key: str) -> None:
    """Refuse what no backend accepts as a landing-relative key.

    Empty, NUL, a leading slash, a backslash and `..` segments are refused everywhere; a
    `..` segment is reported as an attempt to leave the landing root.
    """
    if not key or "\x00" in key:
        raise InvalidObjectKeyError("object key is empty or contains NUL", object_key=key)
    if key.startswith("/") or "\\" in key:
        raise InvalidObjectKeyError("invalid object key", object_key=key)
    if ".." in key.split("/"):
        raise ObjectOutsideLandingError("object key escapes the landing root", object_key=key)


def not_found(shown: str) -> ObjectNotFoundError:
    """The error for an object that does not exist (or is not a regular object)."""
    return ObjectNotFoundError("object not found", object_key=shown)


def changed(shown: str, expected_etag: str | None = None) -> SourceChangedError:
    """The error for an object whose version is not the one a read was pinned to."""
    return SourceChangedError(
        "object changed since it was planned", object_key=shown, expected_etag=expected_etag
    )


def as_utc(value: datetime) -> datetime:
    """Return an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def client_error_code(exc: BaseException) -> str | None:
    """Return the S3 error code of a botocore ClientError in exc's chain, if any."""
    client_error = _find_client_error(exc)
    if client_error is None:
        return None
    return str(client_error.response.get("Error", {}).get("Code", ""))


def _find_client_error(exc: BaseException) -> Any:
    try:
        from botocore.exceptions import ClientError
    except ImportError:  # pragma: no cover — botocore ships with s3fs
        return None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ClientError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def translate_error(exc: BaseException, shown: str) -> CatalogError | None:
    """Map a driver exception to the product's error tree; None means "not ours"."""
    client_error = _find_client_error(exc)
    if client_error is not None:
        return _translate_client_error(client_error.response, shown)
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return not_found(shown)
    if isinstance(exc, PermissionError):
        return StorageAccessError("access to the object was denied", object_key=shown)
    if _is_credentials_error(exc):
        return StorageAccessError("no usable storage credentials", object_key=shown)
    if _is_transport_error(exc):
        return StorageError(
            "object storage unreachable", object_key=shown, error_name=type(exc).__name__
        )
    return None


def _translate_client_error(response: dict[str, Any], shown: str) -> CatalogError:
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    # Server messages are left out on purpose: they may echo request details.
    if code in _NOT_FOUND_CODES or status == 404:
        return not_found(shown)
    if code == "PreconditionFailed" or status == 412:
        return changed(shown)
    if code in _ACCESS_CODES or status in (401, 403):
        return StorageAccessError(
            "object storage denied access", object_key=shown, error_code=code, http_status=status
        )
    if code in _THROTTLE_CODES or status == 429 or status >= 500:
        return StorageError(
            "object storage throttled or failed",
            object_key=shown,
            error_code=code,
            http_status=status,
        )
    return ConfigurationError(
        "object storage rejected the request",
        object_key=shown,
        error_code=code,
        http_status=status,
    )


def _is_credentials_error(exc: BaseException) -> bool:
    try:
        from botocore.exceptions import NoCredentialsError, PartialCredentialsError
    except ImportError:  # pragma: no cover — botocore ships with s3fs
        return False
    return isinstance(exc, NoCredentialsError | PartialCredentialsError)


def _is_transport_error(exc: BaseException) -> bool:
    transport: tuple[type[BaseException], ...] = (
        ConnectionError,
        TimeoutError,
        asyncio.TimeoutError,
        OSError,
    )
    with contextlib.suppress(ImportError):
        from botocore.exceptions import BotoCoreError

        transport += (BotoCoreError,)
    with contextlib.suppress(ImportError):  # aiohttp ships with s3fs; absent without S3 use
        import aiohttp

        transport += (aiohttp.ClientError,)
    return isinstance(exc, transport)


@contextmanager
def storage_errors(shown: str) -> Iterator[None]:
    """Translate driver errors raised inside the block into the product's error tree.

    ``shown`` is how the object is named in the error: its landing-relative key when it is
    under the landing root, so no message reveals where the landing folder is.
    """
    try:
        yield
    except CatalogError:
        raise
    except Exception as exc:
        translated = translate_error(exc, shown)
        if translated is None:
            raise
        logger.debug(
            "storage.error_translated",
            extra={"object_key": shown, "error_name": type(exc).__name__, "kind": translated.kind},
        )
        raise translated from exc
