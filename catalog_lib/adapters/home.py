"""The product's state folder (`$CATALOG_HOME`): private to the user who runs the product.

Every file in it is 0600 and every folder 0700: processes the product starts run with umask
077, and `secure_home` removes group and other bits from anything older (or made by another
tool). One exception: started as root with the embedded PostgreSQL server, `$CATALOG_HOME`
itself is 0710 with group `embedded_postgres`, so the server's system user can traverse it to
reach its own (0700) data folder; nothing inside is readable by that group.
"""

from __future__ import annotations

import grp
import os
import secrets
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalog_lib.adapters.embedded_host import SERVICE_USER, write_private_file

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Make files this process (and its children) create readable by the owner only."""
    os.umask(PRIVATE_UMASK)


def _service_gid() -> int | None:
    try:
        return grp.getgrnam(SERVICE_USER).gr_gid
    except KeyError:
        return None


def secure_home(home: Path) -> int:
    """Remove group and other permission bits under `home`; returns how many entries changed.

    Symlinks are left alone (their target is not ours to change). A missing `home` is fine; a
    shared folder (sticky or world-writable, or `/`) is left alone entirely.
    """
    try:
        top = home.lstat()
    except FileNotFoundError:
        return 0
    if top.st_mode & (stat.S_ISVTX | stat.S_IWOTH) or home.resolve() == Path("/"):
        # A shared folder (/tmp, /) was configured as CATALOG_HOME: never lock others out.
        return 0
    changed = 0
    keep = 0o700
    if top.st_gid != 0 and top.st_gid == _service_gid():
        keep = 0o710  # the embedded server's system user traverses it (see module docstring)
    if stat.S_IMODE(top.st_mode) & 0o077 & ~keep:
        home.chmod(stat.S_IMODE(top.st_mode) & keep)
        changed += 1
    for folder, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue  # removed while we walked (a log rotated, a run record replaced)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                path.chmod(mode & ~0o077)
                changed += 1
    return changed


def ensure_secret_file(path: Path, *, prefix: str = "") -> str:
    """The secret stored in `path`, generated once (random, mode 0600) if missing or empty."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = prefix + secrets.token_hex(24)
        write_private_file(path, value + "\n")
    path.chmod(0o600)
    return value


def prune_old_files(folder: Path, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete regular files under `folder` last modified before `now - older_than`.

    Used for Prefect's persisted task results: past the cache expiration a result can no
    longer be reused, so keeping it only keeps data on disk. Returns how many were deleted.
    """
    if not folder.is_dir():
        return 0
    cutoff = ((now or datetime.now(UTC)) - older_than).timestamp()
    deleted = 0
    for path in folder.rglob("*"):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
