"""The README's set-up and "Everyday use" commands run as written, on a fresh state folder.

Each line of the block is run by `sh` in a fresh working directory, after the set-up's `demo`:
`uv run catalog-etl` becomes this environment's `catalog-etl` script, `psql` the packaged one
when none is on PATH, and the `JOB_ID` placeholder a real job (a failed one for `retry`, a
completed one otherwise, given by an 8-character prefix as Prefect's run names show it).
The database and the Prefect API are the test session's (no cloud credentials are needed).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from catalog_lib.adapters.embedded_postgres import default_bin_dir
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobStatus
from flows.runtime import get_runtime
from tests.factories import catalog_row, partly_loaded_job, to_csv

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "catalog-etl"
# docs/webhook.md's "let the CLI do it" block: run against the stack `up` started.
WEBHOOK_ANCHOR = "Or let the CLI do it"


def sh_block(markdown: str, anchor: str) -> list[str]:
    """The command lines of the first ```sh block after `anchor` (comment-only lines dropped)."""
    section = markdown.split(anchor, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"no sh block after {anchor}"
    return [
        line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")
    ]


def test_the_everyday_block_is_found() -> None:
    readme = (ROOT / "README.md").read_text()
    lines = sh_block(readme, "## Everyday use")
    assert lines[0].startswith("uv run catalog-etl db upgrade")
    assert any(" retry JOB_ID" in line for line in lines)
    assert sh_block(
        readme,
        "## Set up (a fresh machine needs only Python ≥ 3.11 and [uv](https://docs.astral.sh/uv/))",
    ) == ["uv run catalog-etl demo"]


def _failed_job() -> str:
    """A job whose first chunks completed before it failed (what `retry` is for)."""
    rt = get_runtime()
    job_id = partly_loaded_job(rt, "v2/trailco/trailco_2026-12-01T00-00-00.csv")
    steps.end_job(rt, job_id, JobStatus.FAILED, error_kind="crashed", error_message="x")
    return str(job_id)


def _command(line: str, *, failed_job: str, job: str) -> str:
    command = line.replace("uv run catalog-etl", shlex.quote(str(CLI)))
    if command.startswith("psql ") and shutil.which("psql") is None:
        command = shlex.quote(str(default_bin_dir() / "psql")) + command[len("psql") :]
    target = failed_job if re.search(r"\bretry JOB_ID\b", line) else job
    return command.replace("JOB_ID", target)


@pytest.mark.slow
@pytest.mark.flow
@pytest.mark.postgres
@pytest.mark.timeout(1200)
def test_the_readme_commands_run_as_written(flow_env: Path, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    everyday = sh_block(readme, "## Everyday use")
    webhook = sh_block((ROOT / "docs" / "webhook.md").read_text(), WEBHOOK_ANCHOR)
    env = {**os.environ, "CATALOG_CONSOLE_PORT": "0"}  # never collide with a real console

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", command],
            cwd=flow_env.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    demo = run(f"{shlex.quote(str(CLI))} demo --json")
    assert demo.returncode == 0, demo.stderr[-3000:]
    trailco = next(j for j in json.loads(demo.stdout)["jobs"] if j["source"] == "trailco")
    failed = _failed_job()
    try:
        for line in everyday:
            if line.startswith("uv run catalog-etl down"):
                _run_webhook_block(webhook, run)
            command = _command(line, failed_job=failed[:8], job=trailco["job_id"][:8])
            result = run(command)
            assert result.returncode == 0, (line, result.stdout[-2000:], result.stderr[-3000:])
            if line.startswith("uv run catalog-etl ingest "):
                assert "duplicate" in result.stdout
            if line.startswith("uv run catalog-etl retry "):
                assert ": succeeded" in result.stdout
    finally:
        run(f"{shlex.quote(str(CLI))} down")


def _run_webhook_block(
    lines: list[str], run: Callable[[str], subprocess.CompletedProcess[str]]
) -> None:
    """docs/webhook.md's CLI block, signed with the secret `up` generated, sent to its webhook."""
    assert any(line.endswith("--send   # posts it and prints the response") for line in lines)
    for line in lines:
        result = run(line.replace("uv run catalog-etl", shlex.quote(str(CLI))))
        assert result.returncode == 0, (line, result.stdout[-2000:], result.stderr[-3000:])
        if "--send" in line:
            assert result.stdout.startswith("HTTP 20"), result.stdout


@pytest.mark.flow
@pytest.mark.postgres
def test_the_runbooks_inspect_block_runs_as_written(flow_env: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli.app import app

    lines = sh_block((ROOT / "docs" / "runbook.md").read_text(), "## Inspect")
    assert len(lines) == 5
    (flow_env / "a.csv").write_bytes(to_csv([catalog_row(i) for i in range(12)]))
    ingested = CliRunner().invoke(app, ["ingest", "trailco", "a.csv", "--json"])
    assert ingested.exit_code == 0, ingested.output
    job = json.loads(ingested.stdout)["job_id"][:8]
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[:3] == ["uv", "run", "catalog-etl"], line
        args = [job if w == "JOB_ID" else w for w in words[3:]]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (line, result.stdout, result.stderr)
