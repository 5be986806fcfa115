"""S3-compatible object storage (AWS S3, Cloudflare R2, MinIO) through s3fs.

Keys are used verbatim: `v2//a.csv` and `v2/a.csv` are different S3 objects, so nothing
collapses empty segments. Keys with `.` or `..` segments are refused, because HTTP layers
may rewrite dot segments in a request path and so reach a different object than was named.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.asyn import sync

from catalog_lib.adapters.storage.base import (
    ObjectVersion,
    StorageConfig,
    as_utc,
    changed,
    check_block_size,
    check_key_text,
    check_range,
    client_error_code,
    storage_errors,
)
from catalog_lib.core.errors import ConfigurationError, InvalidObjectKeyError

S3_SCHEME = "s3://"


@dataclass(frozen=True)
class _S3Location:
    bucket: str
    key: str


def s3_root_uri(landing_url: str) -> str:
    """Return the canonical root URI of an s3:// landing URL (no trailing slash)."""
    bucket, _, prefix = landing_url[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise ConfigurationError("landing_url has no bucket", landing_url=landing_url)
    return S3_SCHEME + "/".join(p for p in [bucket, prefix.strip("/")] if p)


class S3Store:
    """Objects in an S3-compatible bucket, optionally under a landing prefix."""

    def __init__(self, config: StorageConfig, root_uri: str | None) -> None:
        """Keep the settings; no connection is opened until the first request.

        Args:
            config: Endpoint, region, credentials and timeouts.
            root_uri: The canonical landing root (`s3://bucket[/prefix]`), or None when this
                store only reads objects named by full s3:// URIs.
        """
        self._config = config
        self._root = root_uri
        self._fs: Any = None
        self._fs_lock = threading.Lock()

    @property
    def root_uri(self) -> str:
        """Return the canonical URI of the landing root."""
        return self._landing()

    def resolve(self, uri_or_key: str) -> str:
        """Return the s3:// URI of a landing key or an s3:// URL, keys kept verbatim.

        Raises:
            InvalidObjectKeyError: malformed key, absolute key, `.` segment or other scheme.
            ObjectOutsideLandingError: a `..` segment.
        """
        text = uri_or_key
        if text.startswith(S3_SCHEME):
            loc = _split(text)
            _check_segments(loc.key, shown=text)
            return f"{S3_SCHEME}{loc.bucket}/{loc.key}"
        if not text or "\x00" in text:
            raise InvalidObjectKeyError("object key is empty or contains NUL", object_key=text)
        if "://" in text:
            raise InvalidObjectKeyError("unsupported URI scheme", object_key=text)
        if text.startswith("/"):
            raise InvalidObjectKeyError("absolute keys are not allowed", object_key=text)
        _check_segments(text, shown=text)
        return f"{self._landing()}/{text}"

    def head(self, uri: str) -> ObjectVersion:
        """Return the current version of an object (a fresh HEAD, never cached)."""
        canonical = self.resolve(uri)
        loc = _split(canonical)
        with storage_errors(self._shown(canonical)):
            resp = self._s3().call_s3("head_object", Bucket=loc.bucket, Key=loc.key)
        return ObjectVersion(
            uri=canonical,
            size=int(resp["ContentLength"]),
            etag=strip_etag(resp["ETag"]),
            last_modified=as_utc(resp["LastModified"]),
        )

    def read_range(
        self,
        uri: str,
        start: int,
        end_inclusive: int,
        *,
        expected: ObjectVersion | None = None,
    ) -> bytes:
        """Return bytes start..end_inclusive, pinned to ``expected``'s ETag (If-Match).

        Raises:
            SourceChangedError: the object no longer matches ``expected``.
        """
        check_range(start, end_inclusive)
        canonical = self.resolve(uri)
        etag = expected.etag if expected is not None else None
        return self._get(canonical, start, end_inclusive, etag)

    def iter_bytes(
        self,
        uri: str,
        *,
        block_size: int = 8 * 1024 * 1024,
        expected: ObjectVersion | None = None,
    ) -> Iterator[bytes]:
        """Stream one version of the object; every block is pinned to the same ETag."""
        check_block_size(block_size)
        canonical = self.resolve(uri)
        version = expected if expected is not None else self.head(canonical)
        for start in range(0, version.size, block_size):
            end = min(start + block_size, version.size) - 1
            yield self._get(canonical, start, end, version.etag)

    def list(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        """Return every object under the landing prefix whose key starts with prefix."""
        if prefix:
            check_key_text(prefix)
            _check_segments(prefix.rstrip("/") or prefix, shown=prefix)
        root = _split(self._landing() + "/x")
        base = root.key[:-1]  # "" or "prefix/"
        kwargs: dict[str, Any] = {"Bucket": root.bucket, "Prefix": base + prefix}
        versions: builtins.list[ObjectVersion] = []
        with storage_errors(prefix or "."):
            fs = self._s3()
            while True:
                resp = fs.call_s3("list_objects_v2", **kwargs)
                for item in resp.get("Contents", []):
                    key = str(item["Key"])
                    if key.endswith("/"):
                        continue
                    versions.append(
                        ObjectVersion(
                            uri=f"{S3_SCHEME}{root.bucket}/{key}",
                            size=int(item["Size"]),
                            etag=strip_etag(item["ETag"]),
                            last_modified=as_utc(item["LastModified"]),
                        )
                    )
                if not resp.get("IsTruncated"):
                    break
                kwargs["ContinuationToken"] = resp["NextContinuationToken"]
        return sorted(versions, key=lambda v: v.uri)

    def write(self, key: str, data: bytes) -> ObjectVersion:
        """Put an object under the landing prefix."""
        canonical = self.resolve(key)
        if not canonical.startswith(self._landing() + "/"):
            raise InvalidObjectKeyError("writes must stay under the landing root", object_key=key)
        loc = _split(canonical)
        with storage_errors(self._shown(canonical)):
            self._s3().call_s3("put_object", Bucket=loc.bucket, Key=loc.key, Body=data)
        return self.head(canonical)

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """Return the s3fs filesystem and its `bucket/key` path."""
        loc = _split(self.resolve(uri))
        fs: fsspec.AbstractFileSystem = self._s3()
        return fs, f"{loc.bucket}/{loc.key}"

    def _landing(self) -> str:
        if self._root is None:
            raise ConfigurationError("no s3:// landing root is configured")
        return self._root

    def _shown(self, canonical: str) -> str:
        if self._root is not None and canonical.startswith(self._root + "/"):
            return canonical[len(self._root) + 1 :]
        return canonical

    def _s3(self) -> Any:
        with self._fs_lock:
            if self._fs is None:
                self._fs = _make_s3fs(self._config)
            return self._fs

    def _get(self, canonical: str, start: int, end_inclusive: int, etag: str | None) -> bytes:
        loc = _split(canonical)
        shown = self._shown(canonical)
        with storage_errors(shown):
            fs = self._s3()
            try:
                body: bytes
                got_etag: str
                body, got_etag = sync(
                    fs.loop, _get_range, fs, loc.bucket, loc.key, start, end_inclusive, etag
                )
            except Exception as exc:
                if client_error_code(exc) == "InvalidRange":
                    # Consistent with local files: a range starting past the end is empty.
                    return b""
                raise
        if etag is not None and got_etag != etag:
            # Defence in depth for servers that ignore If-Match.
            raise changed(shown, etag)
        return body


def strip_etag(etag: str) -> str:
    """Return an ETag without quotes and weak marker."""
    return etag.strip().removeprefix("W/").strip('"')


def _split(uri: str) -> _S3Location:
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if not bucket or not key:
        raise InvalidObjectKeyError("an S3 URI needs a bucket and a key", object_key=uri)
    return _S3Location(bucket=bucket, key=key)


def _check_segments(key: str, *, shown: str) -> None:
    check_key_text(key)
    if "." in key.split("/"):
        raise InvalidObjectKeyError("'.' segments are not allowed in S3 keys", object_key=shown)


def _make_s3fs(config: StorageConfig) -> Any:
    import s3fs  # imported lazily: local-only installs never pay for aiobotocore

    client_kwargs: dict[str, Any] = {}
    if config.s3_region:
        client_kwargs["region_name"] = config.s3_region
    fs = s3fs.S3FileSystem(
        key=config.s3_access_key_id,
        secret=config.s3_secret_access_key,
        token=config.s3_session_token,
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


async def _get_range(
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
    return bytes(body), strip_etag(resp.get("ETag", ""))
