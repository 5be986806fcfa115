"""A local folder as object storage, and the landing folder as a jail.

A key (or a path) that names something in the landing folder must really be in the landing
folder: it is resolved to its real path (symbolic links followed) and refused with
`ObjectOutsideLandingError` when that real path is outside the landing root. A symbolic link
whose target stays inside the root is followed, and the object is known by its target's URI.
Files in the landing folder are then opened one path component at a time with `O_NOFOLLOW`
from the root, so a link swapped in after the check is refused rather than followed. Paths
outside the landing root (given explicitly, e.g. on the command line) are read as they are.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import fsspec

from catalog_lib.adapters.storage.base import (
    ObjectVersion,
    changed,
    check_block_size,
    check_key_text,
    check_range,
    not_found,
    storage_errors,
)
from catalog_lib.core.errors import (
    ConfigurationError,
    InvalidObjectKeyError,
    ObjectNotFoundError,
    ObjectOutsideLandingError,
    StorageError,
)

FILE_SCHEME = "file://"
TEMP_SUFFIX = ".catalog-etl-tmp"

_HASH_BLOCK = 1024 * 1024
_HASH_CACHE_MAX = 4096
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted in the landing folder must not hang the worker.
_FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC

# Local ETags are content hashes; re-hashing on every HEAD would read the whole file, so the
# hash is remembered per (path, inode, size, mtime_ns) — a rewrite changes mtime_ns and misses.
_hash_cache: dict[tuple[str, int, int, int], str] = {}
_hash_lock = threading.Lock()


class LocalStore:
    """Objects in a local folder; a landing-relative key can never leave the folder."""

    def __init__(self, root: str | None) -> None:
        """Use `root` as the landing folder (None: no landing, explicit paths only)."""
        self._root = os.path.realpath(root) if root is not None else None
        self._alias = os.path.abspath(root) if root is not None else None

    @property
    def root_uri(self) -> str:
        """Return the canonical URI of the landing folder (its real path)."""
        return FILE_SCHEME + self._landing()

    def resolve(self, uri_or_key: str) -> str:
        """Return the file:// URI of a landing key, a local path or a file:// URL.

        Raises:
            InvalidObjectKeyError: malformed key or another scheme.
            ObjectOutsideLandingError: the key, or a path in the landing folder, really
                leads outside the landing folder (`..`, a symbolic link).
        """
        text = uri_or_key
        if not text or "\x00" in text:
            raise InvalidObjectKeyError("object key is empty or contains NUL", object_key=text)
        if text.startswith(FILE_SCHEME) or text.startswith("/"):
            path = os.path.abspath(text.removeprefix(FILE_SCHEME) or "/")
            relative = self._relative(path)
            if relative is None:
                return FILE_SCHEME + path  # named explicitly, outside the landing folder
            return FILE_SCHEME + self._jailed(relative, shown=relative)
        if "://" in text:
            raise InvalidObjectKeyError("unsupported URI scheme", object_key=text)
        check_key_text(text)
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if not parts:
            raise InvalidObjectKeyError("object key is empty", object_key=text)
        return FILE_SCHEME + self._jailed("/".join(parts), shown=text)

    def head(self, uri: str) -> ObjectVersion:
        """Return the current version of a file (its ETag is the SHA-256 of its content)."""
        path = self._path(uri)
        shown = self._shown(path)
        with storage_errors(shown):
            fd = self._open(path)
            try:
                return _version(path, fd, shown)
            finally:
                os.close(fd)

    def read_range(
        self,
        uri: str,
        start: int,
        end_inclusive: int,
        *,
        expected: ObjectVersion | None = None,
    ) -> bytes:
        """Return bytes start..end_inclusive of the file, pinned to ``expected`` when given.

        Raises:
            SourceChangedError: the file is not (or stops being) the ``expected`` version.
        """
        check_range(start, end_inclusive)
        path = self._path(uri)
        shown = self._shown(path)
        with storage_errors(shown):
            fd = self._open(path)
            try:
                before = _regular_stat(fd, shown)
                if expected is not None:
                    _check_expected(path, fd, before, expected, shown)
                data = _pread_all(fd, end_inclusive - start + 1, start)
                # Same inode, size and mtime before and after: the bytes are one version.
                if expected is not None and not _same_stat(before, os.fstat(fd)):
                    raise changed(shown, expected.etag)
                return data
            finally:
                os.close(fd)

    def iter_bytes(
        self,
        uri: str,
        *,
        block_size: int = 8 * 1024 * 1024,
        expected: ObjectVersion | None = None,
    ) -> Iterator[bytes]:
        """Stream one consistent version of the whole file in blocks of at most block_size."""
        check_block_size(block_size)
        path = self._path(uri)
        shown = self._shown(path)
        with storage_errors(shown):
            fd = self._open(path)
        try:
            with storage_errors(shown):
                before = _regular_stat(fd, shown)
                if expected is not None:
                    _check_expected(path, fd, before, expected, shown)
            while True:
                with storage_errors(shown):
                    block = os.read(fd, block_size)
                    current = os.fstat(fd)
                if not _same_stat(before, current):
                    raise changed(shown, expected.etag if expected is not None else None)
                if not block:
                    return
                yield block
        finally:
            os.close(fd)

    def list(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        """Return every regular file under the landing folder whose key starts with prefix.

        Symbolic links are not listed: an object is listed once, under its real path.
        """
        root = self._landing()
        clean = ""
        if prefix:
            check_key_text(prefix)
            clean = "/".join(p for p in prefix.split("/") if p not in ("", "."))
            if prefix.endswith("/") and clean:
                clean += "/"
        versions: builtins.list[ObjectVersion] = []
        with storage_errors(clean or "."):
            for dirpath, _dirnames, filenames in os.walk(root):
                for name in filenames:
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, root).replace(os.sep, "/")
                    if name.endswith(TEMP_SUFFIX) or not rel.startswith(clean):
                        continue
                    if os.path.islink(full):
                        continue
                    version = self._head_if_present(rel)
                    if version is not None:
                        versions.append(version)
        return sorted(versions, key=lambda v: v.uri)

    def write(self, key: str, data: bytes) -> ObjectVersion:
        """Write a file under the landing folder atomically (readers see old or new, not half)."""
        canonical = self.resolve(key)
        path = canonical.removeprefix(FILE_SCHEME)
        if self._relative(path) is None:
            raise InvalidObjectKeyError("writes must stay under the landing root", object_key=key)
        with storage_errors(self._shown(path)):
            _atomic_write(path, data)
        return self.head(canonical)

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """Return fsspec's local filesystem and the file's real path."""
        return fsspec.filesystem("file"), self._path(uri)

    def _landing(self) -> str:
        if self._root is None:
            raise ConfigurationError("no local landing folder is configured")
        return self._root

    def _relative(self, path: str) -> str | None:
        """The landing-relative key of an absolute path in the landing folder, else None."""
        for base in (self._root, self._alias):
            if base is not None and path.startswith(base.rstrip("/") + "/"):
                return path[len(base.rstrip("/")) + 1 :]
        return None

    def _jailed(self, relative: str, *, shown: str) -> str:
        root = self._landing()
        real = os.path.realpath(os.path.join(root, relative))
        if not real.startswith(root.rstrip("/") + "/"):
            raise ObjectOutsideLandingError(
                "object resolves outside the landing root", object_key=shown
            )
        return real

    def _path(self, uri: str) -> str:
        return self.resolve(uri).removeprefix(FILE_SCHEME)

    def _shown(self, path: str) -> str:
        relative = self._relative(path)
        return relative if relative is not None else FILE_SCHEME + path

    def _open(self, path: str) -> int:
        relative = self._relative(path)
        if relative is None or self._root is None:
            return os.open(path, _FILE_FLAGS)
        return _open_beneath(self._root, relative)

    def _head_if_present(self, relative: str) -> ObjectVersion | None:
        try:
            return self.head(relative)
        except (ObjectNotFoundError, InvalidObjectKeyError):
            return None  # deleted, replaced by a non-file or by a link between walk and look


def _open_beneath(root: str, relative: str) -> int:
    """Open root/relative without following any symbolic link on the way (race-free jail)."""
    parts = relative.split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            nxt = _open_at(fd, part, _DIR_FLAGS, relative)
            os.close(fd)
            fd = nxt
        return _open_at(fd, parts[-1], _FILE_FLAGS | os.O_NOFOLLOW, relative)
    finally:
        os.close(fd)


def _open_at(dir_fd: int, name: str, flags: int, relative: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(dir_fd, name):
            raise ObjectOutsideLandingError(
                "object is reached through a symbolic link that changed after it was resolved",
                object_key=relative,
            ) from exc
        raise


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _regular_stat(fd: int, shown: str) -> os.stat_result:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise not_found(shown)
    return st


def _version(path: str, fd: int, shown: str) -> ObjectVersion:
    st = _regular_stat(fd, shown)
    return ObjectVersion(
        uri=FILE_SCHEME + path,
        size=st.st_size,
        etag=_etag(path, fd, st, shown),
        last_modified=datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC),
    )


def _etag(path: str, fd: int, st: os.stat_result, shown: str) -> str:
    cache_key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(cache_key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, _HASH_BLOCK, offset):
        digest.update(block)
        offset += len(block)
    if not _same_stat(st, os.fstat(fd)):
        raise StorageError("file changed while it was being hashed", object_key=shown)
    etag = "sha256:" + digest.hexdigest()
    with _hash_lock:
        if len(_hash_cache) >= _HASH_CACHE_MAX:
            _hash_cache.pop(next(iter(_hash_cache)))
        _hash_cache[cache_key] = etag
    return etag


def _check_expected(
    path: str, fd: int, st: os.stat_result, expected: ObjectVersion, shown: str
) -> None:
    if st.st_size != expected.size or _etag(path, fd, st, shown) != expected.etag:
        raise changed(shown, expected.etag)


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    chunks: builtins.list[bytes] = []
    while length > 0:
        block = os.pread(fd, length, offset)
        if not block:
            break
        chunks.append(block)
        length -= len(block)
        offset += len(block)
    return b"".join(chunks)


def _same_stat(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ino) == (b.st_size, b.st_mtime_ns, b.st_ino)


def _atomic_write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
