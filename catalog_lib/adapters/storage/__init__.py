"""Object storage adapter: local folders and S3-compatible buckets (S3, R2, MinIO) via fsspec."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
from fsspec.asyn import sync

from catalog_lib.core.errors import (
    CatalogError,
    ConfigurationError,
    InvalidObjectKeyError,
    ObjectNotFoundError,
    SourceChangedError,
    StorageAccessError,
    StorageError,
)

logger = logging.getLogger(__name__)

_HASH_BLOCK = 1024 * 1024
_HASH_CACHE_MAX = 4096
_TEMP_SUFFIX = ".catalog-etl-tmp"

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

# Local ETags are content hashes; re-hashing on every HEAD would read the whole file, so the
# hash is remembered per (path, size, mtime_ns) — a rewrite changes mtime_ns and misses.
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


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
    s3_connect_timeout: float = 5.0
    s3_read_timeout: float = 60.0
    s3_max_attempts: int = 5


@dataclass(frozen=True)
class _S3Location:
    bucket: str
    key: str


class ObjectStore:
    """Reads, lists and writes objects under one landing root, translating storage errors once."""

    def __init__(self, config: StorageConfig) -> None:
        """Parse the landing URL; no connection is opened until the first S3 request."""
        self._config = config
        self._s3fs: fsspec.AbstractFileSystem | None = None
        self._s3fs_lock = threading.Lock()
        landing = config.landing_url.strip()
        if not landing:
            raise ConfigurationError("landing_url is empty")
        if landing.startswith("s3://"):
            bucket, _, prefix = landing[len("s3://") :].partition("/")
            if not bucket:
                raise ConfigurationError("landing_url has no bucket", landing_url=landing)
            self._root_uri = "s3://" + "/".join(p for p in [bucket, prefix.strip("/")] if p)
        elif landing.startswith("file://"):
            self._root_uri = _file_uri(landing[len("file://") :])
        elif "://" in landing:
            raise ConfigurationError("unsupported landing_url scheme", landing_url=landing)
        else:
            self._root_uri = _file_uri(landing)

    @property
    def root_uri(self) -> str:
        """Return the canonical URI of the landing root."""
        return self._root_uri

    def resolve(self, uri_or_key: str) -> str:
        """Return the canonical URI for a local path, file:// or s3:// URL, or a landing key."""
        text = uri_or_key
        if not text or "\x00" in text:
            raise InvalidObjectKeyError("object key is empty or contains NUL", object_key=text)
        if text.startswith("s3://"):
            loc = _split_s3(text)
            return f"s3://{loc.bucket}/{loc.key}"
        if text.startswith("file://"):
            return _file_uri(text[len("file://") :])
        if "://" in text:
            raise InvalidObjectKeyError("unsupported URI scheme", object_key=text)
        if text.startswith("/"):
            # An absolute path names a local file explicitly; under an S3 landing root it can
            # only be an absolute key, which would not be relative to the root.
            if self._is_local_root:
                return _file_uri(text)
            raise InvalidObjectKeyError("absolute keys are not allowed", object_key=text)
        return f"{self._root_uri}/{_clean_key(text)}"

    def head(self, uri: str) -> ObjectVersion:
        """Return the current version of an object (a fresh HEAD, never cached for S3)."""
        canonical = self.resolve(uri)
        with _storage_errors(canonical):
            if canonical.startswith("file://"):
                return _local_head(canonical)
            return self._s3_head(canonical)

    def read_range(
        self,
        uri: str,
        start: int,
        end_inclusive: int,
        *,
        expected: ObjectVersion | None = None,
    ) -> bytes:
        """Return bytes start..end_inclusive (clipped at the object's end) of one object version.

        Raises:
            SourceChangedError: the object no longer matches ``expected``.
        """
        if start < 0 or end_inclusive < start:
            raise ValueError(f"invalid byte range {start}-{end_inclusive}")
        canonical = self.resolve(uri)
        if canonical.startswith("file://"):
            with _storage_errors(canonical):
                return _local_read(canonical, start, end_inclusive, expected)
        etag = expected.etag if expected is not None else None
        return self._s3_get(canonical, start, end_inclusive, etag)

    def iter_bytes(
        self,
        uri: str,
        *,
        block_size: int = 8 * 1024 * 1024,
        expected: ObjectVersion | None = None,
    ) -> Iterator[bytes]:
        """Stream one consistent version of the whole object in blocks of at most block_size."""
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        canonical = self.resolve(uri)
        if canonical.startswith("file://"):
            yield from _local_iter(canonical, block_size, expected)
            return
        version = expected if expected is not None else self.head(canonical)
        for start in range(0, version.size, block_size):
            end = min(start + block_size, version.size) - 1
            # Every block is pinned to the same ETag, so a rewrite mid-stream is detected.
            yield self._s3_get(canonical, start, end, version.etag)

    def list(self, prefix: str = "") -> list[ObjectVersion]:
        """Return every object under the landing root whose key starts with prefix, by URI."""
        clean = _clean_key(prefix) if prefix else ""
        if prefix.endswith("/") and clean:
            clean += "/"
        with _storage_errors(f"{self._root_uri}/{clean}"):
            if self._is_local_root:
                versions = _local_list(self._root_uri, clean)
            else:
                versions = self._s3_list(clean)
        return sorted(versions, key=lambda v: v.uri)

    def write(self, key: str, data: bytes) -> ObjectVersion:
        """Write an object under the landing root (atomically for local files)."""
        canonical = self.resolve(key)
        if not canonical.startswith(self._root_uri + "/"):
            raise InvalidObjectKeyError("writes must stay under the landing root", object_key=key)
        with _storage_errors(canonical):
            if canonical.startswith("file://"):
                _local_write(canonical[len("file://") :], data)
                return _local_head(canonical)
            loc = _split_s3(canonical)
            self._s3().call_s3("put_object", Bucket=loc.bucket, Key=loc.key, Body=data)
            return self._s3_head(canonical)

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """Return the fsspec filesystem and its own path for an object (e.g. for DuckDB)."""
        canonical = self.resolve(uri)
        if canonical.startswith("file://"):
            return fsspec.filesystem("file"), canonical[len("file://") :]
        loc = _split_s3(canonical)
        return self._s3(), f"{loc.bucket}/{loc.key}"

    @property
    def _is_local_root(self) -> bool:
        return self._root_uri.startswith("file://")

    def _s3(self) -> Any:
        with self._s3fs_lock:
            if self._s3fs is None:
                self._s3fs = _make_s3fs(self._config)
            return self._s3fs

    def _s3_head(self, canonical: str) -> ObjectVersion:
        loc = _split_s3(canonical)
        resp = self._s3().call_s3("head_object", Bucket=loc.bucket, Key=loc.key)
        return ObjectVersion(
            uri=canonical,
            size=int(resp["ContentLength"]),
            etag=_strip_etag(resp["ETag"]),
            last_modified=_as_utc(resp["LastModified"]),
        )

    def _s3_get(self, canonical: str, start: int, end_inclusive: int, etag: str | None) -> bytes:
        loc = _split_s3(canonical)
        fs = self._s3()
        with _storage_errors(canonical):
            try:
                body: bytes
                got_etag: str
                body, got_etag = sync(
                    fs.loop, _s3_get_range, fs, loc.bucket, loc.key, start, end_inclusive, etag
                )
            except Exception as exc:
                if _client_error_code(exc) == "InvalidRange":
                    # Consistent with local files: a range starting past the end is empty.
                    return b""
                raise
        if etag is not None and got_etag != etag:
            # Defence in depth for servers that ignore If-Match.
            raise SourceChangedError(
                "object changed since it was planned", object_key=canonical, expected_etag=etag
            )
        return body

    def _s3_list(self, clean_prefix: str) -> builtins.list[ObjectVersion]:
        root = _split_s3(self._root_uri + "/x")
        base = root.key[:-1]  # "" or "prefix/"
        fs = self._s3()
        kwargs: dict[str, Any] = {"Bucket": root.bucket, "Prefix": base + clean_prefix}
        versions: list[ObjectVersion] = []
        while True:
            resp = fs.call_s3("list_objects_v2", **kwargs)
            for item in resp.get("Contents", []):
                key = str(item["Key"])
                if key.endswith("/"):
                    continue
                versions.append(
                    ObjectVersion(
                        uri=f"s3://{root.bucket}/{key}",
                        size=int(item["Size"]),
                        etag=_strip_etag(item["ETag"]),
                        last_modified=_as_utc(item["LastModified"]),
                    )
                )
            if not resp.get("IsTruncated"):
                return versions
            kwargs["ContinuationToken"] = resp["NextContinuationToken"]


def _make_s3fs(config: StorageConfig) -> Any:
    import s3fs  # imported lazily: local-only installs never pay for aiobotocore

    client_kwargs: dict[str, Any] = {}
    if config.s3_region:
        client_kwargs["region_name"] = config.s3_region
    fs = s3fs.S3FileSystem(
        key=config.s3_access_key_id,
        secret=config.s3_secret_access_key,
        endpoint_url=config.s3_endpoint_url,
        client_kwargs=client_kwargs,
        config_kwargs={
            "connect_timeout": config.s3_connect_timeout,
            "read_timeout": config.s3_read_timeout,
            "retries": {"max_attempts": config.s3_max_attempts, "mode": "standard"},
        },
        # A HEAD must always reach the server: no shared instances, no listing cache.
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = max(1, config.s3_max_attempts)
    return fs


async def _s3_get_range(
    fs: Any, bucket: str, key: str, start: int, end_inclusive: int, etag: str | None
) -> tuple[bytes, str]:
    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Range": f"bytes={start}-{end_inclusive}",
    }
    if etag is not None:
        kwargs["IfMatch"] = f'"{etag}"'
    resp = await fs._call_s3("get_object", **kwargs)
    try:
        body = await resp["Body"].read()
    finally:
        resp["Body"].close()
    return bytes(body), _strip_etag(resp.get("ETag", ""))


def _split_s3(uri: str) -> _S3Location:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise InvalidObjectKeyError("an S3 URI needs a bucket and a key", object_key=uri)
    return _S3Location(bucket=bucket, key=key)


def _clean_key(key: str) -> str:
    """Validate a landing-relative key and drop empty and '.' segments."""
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidObjectKeyError("invalid object key", object_key=key)
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidObjectKeyError("object key escapes the landing root", object_key=key)
    if not parts:
        raise InvalidObjectKeyError("object key is empty", object_key=key)
    return "/".join(parts)


def _file_uri(path: str) -> str:
    return "file://" + os.path.abspath(path)


def _strip_etag(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _local_head(canonical: str) -> ObjectVersion:
    path = canonical[len("file://") :]
    st = os.stat(path)
    if not _is_regular(st):
        raise ObjectNotFoundError("not a regular file", object_key=canonical)
    return ObjectVersion(
        uri=canonical,
        size=st.st_size,
        etag=_local_etag(path, st),
        last_modified=datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC),
    )


def _is_regular(st: os.stat_result) -> bool:
    import stat

    return stat.S_ISREG(st.st_mode)


def _local_etag(path: str, st: os.stat_result) -> str:
    cache_key = (path, st.st_size, st.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(cache_key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
        after = os.fstat(fh.fileno())
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        raise StorageError("file changed while it was being hashed", object_key=path)
    etag = "sha256:" + digest.hexdigest()
    with _hash_lock:
        if len(_hash_cache) >= _HASH_CACHE_MAX:
            _hash_cache.pop(next(iter(_hash_cache)))
        _hash_cache[cache_key] = etag
    return etag


def _check_local_version(canonical: str, expected: ObjectVersion) -> os.stat_result:
    current = _local_head(canonical)
    if (current.etag, current.size) != (expected.etag, expected.size):
        raise SourceChangedError(
            "object changed since it was planned", object_key=canonical, expected_etag=expected.etag
        )
    return os.stat(canonical[len("file://") :])


def _same_stat(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ino) == (b.st_size, b.st_mtime_ns, b.st_ino)


def _local_read(
    canonical: str, start: int, end_inclusive: int, expected: ObjectVersion | None
) -> bytes:
    path = canonical[len("file://") :]
    before = _check_local_version(canonical, expected) if expected else None
    with open(path, "rb") as fh:
        opened = os.fstat(fh.fileno())
        fh.seek(start)
        data = fh.read(end_inclusive - start + 1)
        after = os.fstat(fh.fileno())
    # Same inode, size and mtime before and after the read: the bytes belong to one version.
    if before is not None and not (_same_stat(before, opened) and _same_stat(opened, after)):
        raise SourceChangedError("object changed during the read", object_key=canonical)
    return data


def _local_iter(canonical: str, block_size: int, expected: ObjectVersion | None) -> Iterator[bytes]:
    path = canonical[len("file://") :]
    with _storage_errors(canonical):
        before = _check_local_version(canonical, expected) if expected else os.stat(path)
        fh = open(path, "rb")  # noqa: SIM115 — closed in the finally below, across yields
    try:
        while True:
            with _storage_errors(canonical):
                block = fh.read(block_size)
                current = os.fstat(fh.fileno())
            if not _same_stat(before, current):
                raise SourceChangedError("object changed during the read", object_key=canonical)
            if not block:
                return
            yield block
    finally:
        fh.close()


def _local_list(root_uri: str, clean_prefix: str) -> list[ObjectVersion]:
    root = root_uri[len("file://") :]
    versions: list[ObjectVersion] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name.endswith(_TEMP_SUFFIX):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if not rel.startswith(clean_prefix):
                continue
            try:
                versions.append(_local_head(f"{root_uri}/{rel}"))
            except (FileNotFoundError, ObjectNotFoundError):
                continue  # deleted (or replaced by a non-file) between walk and stat
    return versions


def _local_write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # Readers see either the old or the new file, never a partial one.
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _client_error_code(exc: BaseException) -> str | None:
    client_error = _find_client_error(exc)
    if client_error is None:
        return None
    return str(client_error.response.get("Error", {}).get("Code", ""))


def _find_client_error(exc: BaseException) -> Any:
    from botocore.exceptions import ClientError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ClientError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _translate_error(exc: BaseException, uri: str) -> CatalogError | None:
    """Map a driver exception to the product's error tree; None means "not ours"."""
    client_error = _find_client_error(exc)
    if client_error is not None:
        return _translate_client_error(client_error.response, uri)
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return ObjectNotFoundError("object not found", object_key=uri)
    if isinstance(exc, PermissionError):
        return StorageAccessError("access to the object was denied", object_key=uri)
    if _is_credentials_error(exc):
        return StorageAccessError("no usable storage credentials", object_key=uri)
    if _is_transport_error(exc):
        return StorageError(
            "object storage unreachable", object_key=uri, error_name=type(exc).__name__
        )
    return None


def _translate_client_error(response: dict[str, Any], uri: str) -> CatalogError:
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    # Server messages are left out on purpose: they may echo request details.
    if code in _NOT_FOUND_CODES or status == 404:
        return ObjectNotFoundError("object not found", object_key=uri)
    if code == "PreconditionFailed" or status == 412:
        return SourceChangedError("object changed since it was planned", object_key=uri)
    if code in _ACCESS_CODES or status in (401, 403):
        return StorageAccessError(
            "object storage denied access", object_key=uri, error_code=code, http_status=status
        )
    if code in _THROTTLE_CODES or status == 429 or status >= 500:
        return StorageError(
            "object storage throttled or failed",
            object_key=uri,
            error_code=code,
            http_status=status,
        )
    return ConfigurationError(
        "object storage rejected the request", object_key=uri, error_code=code, http_status=status
    )


def _is_credentials_error(exc: BaseException) -> bool:
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    return isinstance(exc, NoCredentialsError | PartialCredentialsError)


def _is_transport_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError

    transport: tuple[type[BaseException], ...] = (
        BotoCoreError,
        ConnectionError,
        TimeoutError,
        asyncio.TimeoutError,
        OSError,
    )
    with contextlib.suppress(ImportError):  # aiohttp ships with s3fs; absent without S3 use
        import aiohttp

        transport += (aiohttp.ClientError,)
    return isinstance(exc, transport)


@contextmanager
def _storage_errors(uri: str) -> Iterator[None]:
    """Translate driver errors raised inside the block into the product's error tree."""
    try:
        yield
    except CatalogError:
        raise
    except Exception as exc:
        translated = _translate_error(exc, uri)
        if translated is None:
            raise
        logger.debug(
            "storage.error_translated",
            extra={"object_key": uri, "error_name": type(exc).__name__, "kind": translated.kind},
        )
        raise translated from exc
