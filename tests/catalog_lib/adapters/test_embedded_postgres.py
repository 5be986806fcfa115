"""The embedded PostgreSQL server: start, reuse, stop, restart, concurrency and root handling."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from catalog_lib.adapters.embedded_postgres import (
    DATABASE,
    SERVICE_USER,
    EmbeddedPostgres,
    hba_is_secure,
)
from catalog_lib.core.errors import ConfigurationError

pytestmark = pytest.mark.postgres


def _traversable_tempdir(prefix: str) -> Path:
    # As root the server runs as a service user that must be able to enter this folder.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A traversable folder; every server started under `<it>/*/` or `<it>/pg` is stopped."""
    base = _traversable_tempdir("catalog-etl-test-pgserver-")
    try:
        yield base
    finally:
        for root in [base / "pg", *base.glob("*/pg")]:
            if root.is_dir():
                EmbeddedPostgres(root).stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def server(base_dir: Path) -> EmbeddedPostgres:
    """A server object on a fresh root that has never been started."""
    return EmbeddedPostgres(base_dir / "pg")


@pytest.fixture(scope="module")
def running_server() -> Iterator[EmbeddedPostgres]:
    """One started server shared by the read-only tests of this module."""
    base = _traversable_tempdir("catalog-etl-test-pgserver-shared-")
    shared = EmbeddedPostgres(base / "pg")
    shared.start()
    try:
        yield shared
    finally:
        shared.stop()
        shutil.rmtree(base, ignore_errors=True)


def _postmasters(data_dir: Path) -> list[int]:
    """Pids of processes whose command line names `data_dir` (the postmaster, not children)."""
    needle = str(data_dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and b"postgres" in cmdline.split(b"\0")[0]:
            pids.append(int(entry.name))
    return pids


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _write_pid_file(data_dir: Path, pid: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = data_dir / "postmaster.pid"
    pid_file.write_text(f"{pid}\n{data_dir}\n0\n5432\n\n127.0.0.1\n")
    owner = data_dir.stat()
    os.chown(pid_file, owner.st_uid, owner.st_gid)


def test_never_started_root_is_not_running(server: EmbeddedPostgres) -> None:
    status = server.status()

    assert status.running is False
    assert status.pid is None
    assert status.port is None
    assert status.url is None
    assert status.data_dir == server.root / "data"


def test_url_before_first_start_raises(server: EmbeddedPostgres) -> None:
    with pytest.raises(ConfigurationError, match="never been started"):
        server.url()


def test_stop_of_never_started_server_returns_false(server: EmbeddedPostgres) -> None:
    assert server.stop() is False


def test_started_server_reports_running(running_server: EmbeddedPostgres) -> None:
    status = running_server.status()

    assert status.running is True
    assert status.pid is not None
    assert status.pid in _postmasters(running_server.data_dir)
    assert status.port is not None
    assert status.url == running_server.url()
    password = running_server.password()
    assert status.url == f"postgresql://postgres:{password}@127.0.0.1:{status.port}/{DATABASE}"
    assert status.run_as == (SERVICE_USER if os.geteuid() == 0 else None)


def test_url_connects_with_psycopg(running_server: EmbeddedPostgres) -> None:
    with psycopg.connect(running_server.url(), connect_timeout=10) as conn:
        row = conn.execute("SELECT current_database(), current_setting('server_version_num')")
        dbname, version = row.fetchone()

    assert dbname == DATABASE
    assert int(version) >= 180000


def test_pgvector_extension_is_available(running_server: EmbeddedPostgres) -> None:
    with psycopg.connect(running_server.url(), connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()

    assert row == (1,)


def test_url_works_with_packaged_psql(running_server: EmbeddedPostgres) -> None:
    psql = running_server.bin_dir / "psql"

    result = subprocess.run(
        [str(psql), running_server.url(), "-tAc", "SELECT 40 + 2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"


def test_connection_without_password_is_refused(running_server: EmbeddedPostgres) -> None:
    port = running_server.status().port

    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host="127.0.0.1", port=port, user="postgres", dbname=DATABASE, connect_timeout=10
        )


def test_connection_with_a_wrong_password_is_refused(running_server: EmbeddedPostgres) -> None:
    port = running_server.status().port

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password="not-" + running_server.password(),
            dbname=DATABASE,
            connect_timeout=10,
        )


def test_pg_hba_trusts_nobody(running_server: EmbeddedPostgres) -> None:
    hba = (running_server.data_dir / "pg_hba.conf").read_text()
    lines = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]

    host_lines = [fields for fields in lines if fields[0].startswith("host")]
    assert host_lines
    assert all(fields[-1] == "scram-sha-256" for fields in host_lines)
    assert "trust" not in hba


def test_password_file_is_private_and_long(running_server: EmbeddedPostgres) -> None:
    info = running_server.password_file.stat()

    assert info.st_mode & 0o777 == 0o600
    assert info.st_uid == os.geteuid()
    assert len(running_server.password()) >= 32


def test_password_is_not_written_to_the_command_log(running_server: EmbeddedPostgres) -> None:
    for log in (running_server.root / "commands.log", running_server.log_file):
        assert running_server.password() not in log.read_text(errors="replace")


def _ids(pid: int) -> tuple[int, int, set[int]]:
    """Effective uid, effective gid and supplementary groups of a process."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (
        int(fields["Uid"].split()[1]),
        int(fields["Gid"].split()[1]),
        {int(g) for g in fields["Groups"].split()},
    )


def _server_processes(postmaster: int) -> list[int]:
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *(int(c) for c in children)]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts the server as a service user")
def test_server_runs_with_the_service_users_own_group_only(
    running_server: EmbeddedPostgres,
) -> None:
    import pwd

    service = pwd.getpwnam(SERVICE_USER)
    pid = running_server.status().pid
    assert pid is not None
    processes = _server_processes(pid)

    assert len(processes) > 1  # the postmaster and its background workers
    for process in processes:
        uid, gid, groups = _ids(process)
        assert uid == service.pw_uid
        assert gid == service.pw_gid != 0
        assert 0 not in groups
        assert groups <= {service.pw_gid}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts the server as a service user")
def test_home_is_traversable_by_the_service_group_only(running_server: EmbeddedPostgres) -> None:
    import pwd

    home = running_server.root.parent.stat()

    assert home.st_mode & 0o777 == 0o710
    assert home.st_gid == pwd.getpwnam(SERVICE_USER).pw_gid


def _make_trusting(server: EmbeddedPostgres) -> None:
    """Turn a data folder into what older versions made: trust on TCP, no password file."""
    hba = server.data_dir / "pg_hba.conf"
    owner = hba.stat()
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    os.chown(hba, owner.st_uid, owner.st_gid)
    server.password_file.unlink()


@pytest.mark.parametrize("running", [False, True], ids=["stopped", "running"])
def test_trusting_data_folder_from_an_older_version_is_secured_on_next_start(
    server: EmbeddedPostgres, running: bool
) -> None:
    server.start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v int)")
    if not running:
        server.stop()
    _make_trusting(server)
    assert server.is_secured() is False

    status = server.start()

    assert status.running is True
    assert server.is_secured() is True
    assert "trust" not in (server.data_dir / "pg_hba.conf").read_text()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1", port=status.port, user="postgres", dbname=DATABASE, connect_timeout=5
        )
    with psycopg.connect(server.url()) as conn:
        assert conn.execute("SELECT to_regclass('kept')::text").fetchone() == ("kept",)


@pytest.mark.parametrize(
    ("hba", "secure"),
    [
        ("host all all 127.0.0.1/32 scram-sha-256\n", True),
        ("# host all all 127.0.0.1/32 trust\nhost all all ::1/128 scram-sha-256\n", True),
        ("host all all 127.0.0.1/32 trust\n", False),
        ("hostssl all all 127.0.0.1 255.255.255.255 trust\n", False),
        ("host all all localhost trust # old\n", False),
        ("local all all trust\n", False),
        ("host all all 127.0.0.1/32 md5\nlocal all all peer\n", True),
    ],
)
def test_hba_is_secure_rejects_any_trust_line(hba: str, secure: bool) -> None:
    assert hba_is_secure(hba) is secure


def test_second_start_reuses_the_running_server(
    running_server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = running_server.status()

    def must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("a running server must be reused, not started again")

    monkeypatch.setattr(EmbeddedPostgres, "_pg_ctl_start", must_not_run)
    monkeypatch.setattr(EmbeddedPostgres, "_initdb", must_not_run)
    again = running_server.start()

    assert again.running is True
    assert again.pid == before.pid
    assert again.port == before.port
    assert _postmasters(running_server.data_dir) == [before.pid]


def test_another_object_on_the_same_root_sees_it_running(
    running_server: EmbeddedPostgres,
) -> None:
    other = EmbeddedPostgres(running_server.root)

    status = other.status()

    assert status.running is True
    assert status.pid == running_server.status().pid
    assert other.url() == running_server.url()


def test_stop_stops_and_second_stop_returns_false(server: EmbeddedPostgres) -> None:
    pid = server.start().pid
    assert pid is not None

    assert server.stop() is True

    status = server.status()
    assert status.running is False
    assert status.pid is None
    assert _postmasters(server.data_dir) == []
    assert server.stop() is False


def test_stop_from_another_object_stops_the_server(server: EmbeddedPostgres) -> None:
    server.start()

    assert EmbeddedPostgres(server.root).stop() is True
    assert server.status().running is False


def test_restart_keeps_data_and_port(server: EmbeddedPostgres) -> None:
    first = server.start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE survivor (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO survivor VALUES (1, 'kept')")
    server.stop()

    second = server.start()

    assert second.running is True
    assert second.port == first.port
    assert second.pid != first.pid
    with psycopg.connect(server.url()) as conn:
        assert conn.execute("SELECT note FROM survivor WHERE id = 1").fetchone() == ("kept",)


def test_restart_picks_a_new_port_when_the_old_one_is_taken(server: EmbeddedPostgres) -> None:
    old_port = server.start().port
    assert old_port is not None
    server.stop()

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        # SO_REUSEADDR: the old server's closed connections may leave the port in TIME_WAIT.
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            blocker.bind(("127.0.0.1", old_port))
            blocker.listen()
        except OSError:
            pass  # another process holds the port already: it is taken either way
        restarted = server.start()

    assert restarted.running is True
    assert restarted.port is not None
    assert restarted.port != old_port
    assert server.url().endswith(f":{restarted.port}/{DATABASE}")
    with psycopg.connect(server.url(), connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_concurrent_starts_produce_one_postmaster(server: EmbeddedPostgres) -> None:
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres\n"
        "status = EmbeddedPostgres(Path(sys.argv[1])).start()\n"
        "print(json.dumps({'pid': status.pid, 'port': status.port}))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(server.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    pids = {r["pid"] for r in results}
    ports = {r["port"] for r in results}
    assert len(pids) == 1
    assert len(ports) == 1
    assert None not in pids
    assert _postmasters(server.data_dir) == [pids.pop()]
    assert server.status().running is True


def test_stale_pid_file_with_dead_pid_is_not_running(server: EmbeddedPostgres) -> None:
    _write_pid_file(server.data_dir, _dead_pid())

    status = server.status()

    assert status.running is False
    assert status.pid is None


def test_pid_file_naming_an_unrelated_process_is_not_running(server: EmbeddedPostgres) -> None:
    unrelated = subprocess.Popen(["sleep", "30"])
    try:
        _write_pid_file(server.data_dir, unrelated.pid)

        assert server.status().running is False
    finally:
        unrelated.kill()
        unrelated.wait()


def test_start_recovers_from_a_stale_pid_file(server: EmbeddedPostgres) -> None:
    server.start()
    server.stop()
    _write_pid_file(server.data_dir, _dead_pid())
    assert server.status().running is False

    status = server.start()

    assert status.running is True
    with psycopg.connect(server.url(), connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="only root runs the server as a service user that needs traversable parents",
)
def test_untraversable_parent_is_a_configuration_error_with_advice(base_dir: Path) -> None:
    blocked = base_dir / "private"
    (blocked / "home").mkdir(parents=True)
    blocked.chmod(0o700)
    server = EmbeddedPostgres(blocked / "home" / "pg")

    with pytest.raises(ConfigurationError) as excinfo:
        server.start()

    message = str(excinfo.value)
    assert str(blocked) in message
    assert "CATALOG_HOME" in message
    assert f"chmod o+x {blocked}" in message
    assert server.status().running is False
    assert not (server.data_dir / "PG_VERSION").exists()
