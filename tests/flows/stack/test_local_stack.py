"""The local Prefect server (started once, reused) and `catalog-etl status | down`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from catalog_lib.adapters.prefect_rest import api_headers
from flows.stack.prefect_server import (
    auth_string_path,
    ensure_prefect_server,
    is_healthy,
    read_managed_server,
)
from tests.flows.cli.test_database import Home, _make_home, _remove_home, run_cli

# Under pytest-xdist (`--dist loadgroup`) these run on one worker, one after the other: each
# starts a whole local stack (embedded PostgreSQL, Prefect server, serve), and two at once on a
# shared two-core machine starve each other's start-up.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("local_stack")]


@pytest.fixture
def stack_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    home = _make_home("catalog-etl-test-stack-")
    home.env.pop("PREFECT_API_URL", None)
    home.env["CATALOG_CONSOLE_PORT"] = "0"  # a free port: never collide with a real console
    try:
        yield home
    finally:
        run_cli(home, "down")
        _remove_home(home)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text()


def test_prefect_server_is_started_once_reused_and_stopped(stack_home: Home) -> None:
    state = Path(stack_home.env["CATALOG_HOME"]).resolve()
    first = ensure_prefect_server(state)
    assert first.managed
    assert first.pid is not None
    assert is_healthy(first.api_url)
    assert first.api_url.startswith("http://127.0.0.1:")
    again = ensure_prefect_server(state)
    assert again.pid == first.pid
    assert first.auth_string
    assert again.auth_string == first.auth_string
    assert first.auth_string not in repr(first)
    auth_file = auth_string_path(state)
    assert auth_file.read_text().strip() == first.auth_string
    assert auth_file.stat().st_mode & 0o777 == 0o600
    _assert_api_requires_the_auth_string(first.api_url, first.auth_string)
    assert run_cli(stack_home, "db", "start").returncode == 0

    status = json.loads(run_cli(stack_home, "status", "--json").stdout)
    assert status["prefect"]["running"]
    assert status["prefect"]["healthy"]
    assert status["prefect"]["pid"] == first.pid
    assert status["postgres"]["running"]
    assert not status["postgres"]["external"]

    down = run_cli(stack_home, "down", "--json")
    assert json.loads(down.stdout) == {
        "console_stopped": False,
        "serve_stopped": False,
        "prefect_stopped": True,
        "postgres_stopped": True,
    }
    assert not _alive(first.pid)
    assert read_managed_server(state) is None
    after = json.loads(run_cli(stack_home, "status", "--json").stdout)
    assert not after["prefect"]["running"]
    assert not after["postgres"]["running"]
    again_down = json.loads(run_cli(stack_home, "down", "--json").stdout)
    assert again_down == {
        "console_stopped": False,
        "serve_stopped": False,
        "prefect_stopped": False,
        "postgres_stopped": False,
    }


def _assert_api_requires_the_auth_string(api_url: str, auth_string: str) -> None:
    flows = f"{api_url}/flows/filter"
    assert httpx.post(flows, json={}, timeout=10).status_code == 401
    wrong = api_headers("catalog-etl:" + "0" * 48)
    assert httpx.post(flows, json={}, headers=wrong, timeout=10).status_code == 401
    right = api_headers(auth_string)
    assert httpx.post(flows, json={}, headers=right, timeout=10).status_code == 200
    # Only the health probe answers without credentials.
    assert httpx.get(f"{api_url}/health", timeout=10).status_code == 200


def _group_or_world_accessible(home: Path) -> list[str]:
    return [
        f"{path} {path.stat().st_mode & 0o777:o}"
        for path in home.rglob("*")
        if not path.is_symlink() and path.stat().st_mode & 0o077
    ]


def test_external_prefect_api_is_used_as_is(
    stack_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api/")
    server = ensure_prefect_server(Path(stack_home.env["CATALOG_HOME"]))
    assert (server.api_url, server.managed, server.pid) == ("http://127.0.0.1:9/api", False, None)
    assert read_managed_server(Path(stack_home.env["CATALOG_HOME"])) is None


def _processes_of(home: Path) -> list[int]:
    """Live processes (not zombies) whose command line or environment mentions `home`."""
    needle = str(home).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in seen:
            found.append(int(entry.name))
    return found


def test_up_then_down_leaves_no_process(stack_home: Home) -> None:
    home = Path(stack_home.env["CATALOG_HOME"]).resolve()
    result = run_cli(stack_home, "up", "--json")
    assert result.returncode == 0, (result.stdout, result.stderr[-3000:])
    up = json.loads(result.stdout)
    for key in ("prefect_api", "prefect_ui", "webhook", "console"):
        assert up[key].startswith("http://127.0.0.1:"), up
    assert httpx.get(f"{up['webhook']}/healthz", timeout=5).status_code == 200
    assert httpx.get(f"{up['console']}/_stcore/health", timeout=5).status_code == 200
    assert not up["reused"]
    assert (home / "run" / "serve.json").is_file()
    assert (home / "logs" / "serve.log").is_file()
    assert up["prefect_auth_file"] == str(auth_string_path(home))
    auth_string = auth_string_path(home).read_text().strip()
    _assert_api_requires_the_auth_string(up["prefect_api"], auth_string)
    assert (home / "prefect" / "prefect.db").is_file()
    assert _group_or_world_accessible(home) == []
    for private in (home / "run" / "console.json", home / "logs" / "console.log"):
        assert private.stat().st_mode & 0o777 == 0o600, private

    again = json.loads(run_cli(stack_home, "up", "--json").stdout)
    assert again["reused"]
    assert again["serve_pid"] == up["serve_pid"]
    assert again["webhook"] == up["webhook"]
    assert again["console"] == up["console"]

    status = json.loads(run_cli(stack_home, "status", "--json").stdout)
    assert status["serve"]["running"]
    assert status["serve"]["webhook_healthy"]
    assert status["serve"]["pid"] == up["serve_pid"]
    assert status["prefect"]["healthy"]
    assert status["postgres"]["running"]
    assert status["console"]["running"]
    assert status["console"]["healthy"]
    assert status["console"]["url"] == up["console"]
    pids = [
        up["serve_pid"],
        status["prefect"]["pid"],
        status["postgres"]["pid"],
        status["console"]["pid"],
    ]
    assert set(_processes_of(home)) >= set(pids)

    down = json.loads(run_cli(stack_home, "down", "--json").stdout)
    assert down == {
        "console_stopped": True,
        "serve_stopped": True,
        "prefect_stopped": True,
        "postgres_stopped": True,
    }
    assert [pid for pid in pids if _alive(pid)] == []
    assert _processes_of(home) == []
    after = json.loads(run_cli(stack_home, "status", "--json").stdout)
    assert not any(after[name]["running"] for name in ("console", "serve", "prefect", "postgres"))
