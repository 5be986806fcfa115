"""Output discipline: help without placeholders, `--version`, log format on a TTY vs piped."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from catalog_lib.core.errors import InvalidArgumentError
from flows.cli.app import app, package_version
from flows.cli.output import ExitCode, handle_errors, plural, shown


def _command_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        if path == ("prefect",):
            return  # a pass-through: `prefect --help` is Prefect's own help, from its server
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "root")
def test_help_shows_no_template_placeholders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert not re.search(r"\{[a-z_]+\}", result.stdout), result.stdout


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.stdout.strip()) == (0, f"catalog-etl {package_version()}")
    assert package_version() != "unknown"


def test_plural_and_shown() -> None:
    assert [plural(n, "chunk") for n in (0, 1, 2)] == ["0 chunks", "1 chunk", "2 chunks"]
    assert plural(1, "batch", "batches") == "1 batch"
    assert plural(3, "batch", "batches") == "3 batches"
    assert [shown(v) for v in (None, "", 0, "x")] == ["-", "-", "0", "x"]


_LOG_SCRIPT = (
    "import logging, sys\n"
    "sys.argv = ['catalog-etl', '--version']\n"
    "from flows.cli.app import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    "logging.getLogger('catalog_lib.probe').warning(\n"
    "    'probe', extra={'event': 'probe.seen', 'job_id': 'abc'})\n"
)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env.update(CATALOG_HOME=str(home), **extra)
    return env


def _stderr_on_a_tty(env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-c", _LOG_SCRIPT],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert process.returncode == 0
    return b"".join(chunks).decode()


def test_log_lines_are_text_on_a_terminal(tmp_path: Path) -> None:
    err = _stderr_on_a_tty(_env(tmp_path))
    line = next(x for x in err.splitlines() if "probe.seen" in x)
    assert "WARNING" in line
    assert "job_id=abc" in line
    assert not line.lstrip().startswith("{")


def test_an_explicit_json_format_wins_on_a_terminal(tmp_path: Path) -> None:
    err = _stderr_on_a_tty(_env(tmp_path, CATALOG_LOG_FORMAT="json"))
    line = next(x for x in err.splitlines() if "probe.seen" in x)
    assert json.loads(line)["event"] == "probe.seen"


def test_log_lines_are_json_when_piped(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-c", _LOG_SCRIPT],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    line = next(x for x in process.stderr.splitlines() if "probe.seen" in x)
    assert json.loads(line) | {"ts": None} == {
        "level": "WARN",
        "event": "probe.seen",
        "ts": None,
        "logger": "catalog_lib.probe",
        "job_id": "abc",
    }


def test_cold_start_lines_only_on_a_terminal(
    catalog_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from catalog_lib.core.settings import Settings
    from flows.cli import startup

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    settings = Settings()
    monkeypatch.setattr(startup, "on_terminal", lambda: False)
    startup.announce_database(settings)
    startup.announce_prefect(settings)
    startup.announce("loading Prefect…")
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(startup, "on_terminal", lambda: True)
    startup.announce_database(settings)
    startup.announce_prefect(settings)
    startup.announce("loading Prefect…")
    assert capsys.readouterr().err.splitlines() == [
        f"initialising PostgreSQL in {catalog_env.resolve() / 'pg' / 'data'} "
        "(first start, about 10 s)…",
        "starting the local Prefect server (10–20 s)…",
        "loading Prefect…",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("jobs", "--status", "bogus", "--json"),
        ("jobs", "--limit", "0", "--json"),
        ("job", "rows", "--json"),
        ("jobs", "--no-such-option", "--json"),
    ],
    ids=["bad-choice", "out-of-range", "missing-argument", "unknown-option"],
)
def test_usage_errors_honour_json(catalog_env: Path, args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["error"] == "usage"
    assert document["message"]


def test_usage_errors_without_json_stay_text_on_stderr(catalog_env: Path) -> None:
    result = CliRunner().invoke(app, ["jobs", "--status", "bogus"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--status'" in result.stderr


def test_the_cli_turns_prefects_client_telemetry_off(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.argv = ['catalog-etl', '--version']\n"
        "from flows.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "from prefect._internal.analytics.enabled import is_telemetry_enabled\n"
        "print('telemetry', is_telemetry_enabled())\n"
    )
    env = _env(tmp_path)
    env.pop("DO_NOT_TRACK", None)
    for name in ("CI", "GITHUB_ACTIONS", "BUILDKITE", "GITLAB_CI"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "telemetry False" in result.stdout


def test_an_invalid_argument_is_reported_with_its_kind(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as caught, handle_errors(as_json=True):
        raise InvalidArgumentError("mute_days must be at least 1")
    assert caught.value.exit_code == int(ExitCode.FAILED)
    assert json.loads(capsys.readouterr().out) == {
        "error": "invalid_argument",
        "message": "mute_days must be at least 1",
    }
    with pytest.raises(typer.Exit), handle_errors(as_json=False):
        raise InvalidArgumentError("a reason is required")
    assert "error: a reason is required" in capsys.readouterr().err
