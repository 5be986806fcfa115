"""Every ```sh block of docs/ and README.md runs as written after the demo, or says why not.

Each block is one of:

- **run** (no marker): executed as one `sh -e` script, in document order, on one shared demo
  state (`demo` once, then every block; a test database, a local landing folder, a fresh
  `CATALOG_HOME` and Prefect's test server — no cloud credentials). `uv run CMD` is this
  environment's `CMD` (a `uv` shim on PATH), `psql` the packaged one when none is installed.
- `<!-- synopsis -->` right before the block: a usage line (`[--option]`, `SOURCE`, …). Each
  line's command must exist and every `--option` it names must appear in its `--help`.
- `<!-- not-run: REASON -->`: cloud credentials, a long-running foreground server, another
  machine, or the test suite itself; the reason is required.
- `<!-- run-by: tests/FILE.py::TEST -->`: run as written by that test (it must exist).

Placeholders are filled from the demo's state (the same rule for every block):

- `JOB_ID` — an 8-character job id prefix (as Prefect's run names show it): in a block that
  runs `retry`, a job the block's story prepares (a failed job whose first chunk completed; for
  a block that runs `sweep` first, a `running` job whose runner is gone, which the sweep
  closes); elsewhere the demo's completed trailco job.
- `FLAG_ID` — the id of an open audit flag (`catalog-etl audit --json`).

An unmarked block that fails, or a block with an unknown marker, fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog_lib.adapters.embedded_postgres import default_bin_dir
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobStatus
from flows.cli.app import app
from flows.runtime import get_runtime
from tests.factories import partly_loaded_job

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^(?P<indent>[ \t]*)```sh\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"^<!--\s*(?P<kind>[a-z-]+)(?::\s*(?P<note>.*?))?\s*-->$")
KINDS = ("not-run", "synopsis", "run-by")


@dataclass(frozen=True)
class Block:
    """One ```sh block of a docs page and the marker right before it (None: run it)."""

    page: str
    line: int
    body: str
    kind: str | None
    note: str

    @property
    def name(self) -> str:
        """`page.md:LINE`, the block's id in test output."""
        return f"{self.page}:{self.line}"


def doc_blocks() -> list[Block]:
    """Every ```sh block of README.md and docs/*.md, with its marker (the line before it)."""
    blocks = []
    for page in DOCS:
        text = page.read_text()
        for fence in FENCE.finditer(text):
            before = [ln.strip() for ln in text[: fence.start()].splitlines() if ln.strip()]
            marker = MARKER.match(before[-1]) if before else None
            blocks.append(
                Block(
                    page=page.name,
                    line=text[: fence.start()].count("\n") + 1,
                    body=textwrap.dedent(fence.group("body")),
                    kind=marker.group("kind") if marker else None,
                    note=(marker.group("note") or "") if marker else "",
                )
            )
    return blocks


BLOCKS = doc_blocks()
SYNOPSES = [b for b in BLOCKS if b.kind == "synopsis"]


def test_every_docs_block_is_run_or_says_why_not() -> None:
    assert len(BLOCKS) >= 50, "the fence pattern no longer finds the docs' blocks"
    for block in BLOCKS:
        assert block.kind in (None, *KINDS), f"{block.name}: unknown marker {block.kind!r}"
        if block.kind == "not-run":
            assert len(block.note.split()) >= 3, f"{block.name}: say why it is not run"
        if block.kind == "run-by":
            path, _, test = block.note.partition("::")
            assert f"def {test}(" in (ROOT / path).read_text(), f"{block.name}: no {block.note}"
        if block.kind == "synopsis":
            for line in _lines(block):
                assert line.startswith("uv run catalog-etl "), f"{block.name}: {line}"
    runnable = [b.name for b in BLOCKS if b.kind is None]
    assert len(runnable) >= 12, runnable


def test_files_the_blocks_name_exist() -> None:
    """Even a block that is not run must not name a file that is gone (a moved test, a script)."""
    for block in BLOCKS:
        for path in re.findall(
            r"(?<![\w/.-])((?:tests|bench|deploy|flows|sql)/[\w./-]+\.\w+)", block.body
        ):
            assert (ROOT / path).exists(), f"{block.name}: {path} does not exist"


def test_an_unmarked_comment_does_not_count_as_a_marker() -> None:
    assert MARKER.match("<!-- not-run: a server in the foreground -->")
    assert not MARKER.match("<!-- the next block is not run -->")


def _lines(block: Block) -> list[str]:
    """The block's command lines, without comment-only lines and trailing comments."""
    lines = []
    for raw in block.body.splitlines():
        line = raw.split("  #", 1)[0].rstrip()
        if line and not line.lstrip().startswith("#"):
            lines.append(line)
    return lines


@pytest.mark.parametrize("block", SYNOPSES, ids=lambda b: b.name)
def test_synopsis_names_a_command_and_its_real_options(block: Block) -> None:
    for line in _lines(block):
        words = line.split()[3:]
        path = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            path.append(word)
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, (line, shown.output)
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line):
            assert option in shown.output, f"{block.name}: {line}: {option} is not an option"


# -- running the blocks ---------------------------------------------------------------------


def _shim_bin(tmp: Path) -> Path:
    """A PATH folder where `uv run CMD` is this environment's CMD, and `psql` exists."""
    shims = tmp / "shim-bin"
    shims.mkdir()
    uv = shims / "uv"
    uv.write_text(
        "#!/bin/sh\n"
        '[ "$1" = run ] || { echo "uv shim: only uv run" >&2; exit 2; }\n'
        "shift\n"
        f'cmd="$1"; shift; exec {shlex.quote(str(BIN))}/"$cmd" "$@"\n'
    )
    uv.chmod(0o755)
    if shutil.which("psql") is None:
        (shims / "psql").symlink_to(default_bin_dir() / "psql")
    return shims


def _failed_job(n: int) -> str:
    """A failed job whose first chunk completed before it failed (what `retry` is for)."""
    job_id = partly_loaded_job(get_runtime(), f"v2/trailco/trailco_2026-12-0{n}T00-00-00.csv")
    steps.end_job(get_runtime(), job_id, JobStatus.FAILED, error_kind="crashed", error_message="x")
    return str(job_id)


SHELL_SYNTAX = re.compile(r"[$|<>;&`(){}*?]")


def _in_process(script: str) -> list[list[str]] | None:
    """The argument lists of a block that is only `uv run catalog-etl …` lines, else None.

    Such a block runs in this process through CliRunner with the words `sh` would pass (shlex
    splits them the same way), which spares a ~3 s interpreter start per line; anything with
    shell syntax (pipes, redirections, substitutions, loops, other programs) runs in `sh`.
    """
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[:3] != ["uv", "run", "catalog-etl"] or SHELL_SYNTAX.search(" ".join(words)):
            return None
        commands.append(words[3:])
    return commands


@pytest.mark.slow
@pytest.mark.flow
@pytest.mark.postgres
@pytest.mark.xdist_group("docs_commands")
@pytest.mark.timeout(1800)
def test_docs_blocks_run_as_written(
    flow_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_CONSOLE_PORT", "0")  # never collide with a real console
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("PATH", f"{_shim_bin(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    workdir = flow_env.parent
    monkeypatch.chdir(workdir)  # files a block writes (body.json, false-failed.txt) land here

    def run(script: str) -> tuple[int, str, str]:
        commands = _in_process(script)
        if commands is None:
            done = subprocess.run(
                ["sh", "-ec", script],
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            return done.returncode, done.stdout, done.stderr
        out, err = [], []
        for args in commands:
            result = CliRunner().invoke(app, args)
            out.append(result.stdout)
            err.append(result.stderr)
            if result.exit_code != 0:
                return result.exit_code, "".join(out), "".join(err) + repr(result.exception)
        return 0, "".join(out), "".join(err)

    code, out, err = run("uv run catalog-etl demo --json")
    assert code == 0, err[-3000:]
    trailco = next(j for j in json.loads(out)["jobs"] if j["source"] == "trailco")
    code, out, err = run("uv run catalog-etl audit --json")
    assert code == 0, err[-2000:]
    flags = [f for f in _flags(json.loads(out)) if f.get("state") == "open"]
    assert flags, "the demo raises no open audit flag to ack"
    failures = []
    prepared = 0
    for block in (b for b in BLOCKS if b.kind is None):
        script = block.body
        job = trailco["job_id"]
        if re.search(r"\bretry JOB_ID\b", script):
            prepared += 1
            if re.search(r"catalog-etl sweep\b", script):  # the killed-runner story
                job = str(
                    partly_loaded_job(get_runtime(), f"v2/trailco/trailco_2026-12-1{prepared}.csv")
                )
            else:
                job = _failed_job(prepared)
        if "false-failed.txt" in script and "jq" in script:  # the batch-recovery story
            prepared += 1
            job = _failed_job(prepared)
        script = script.replace("JOB_ID", job[:8]).replace("FLAG_ID", str(flags[0]["id"]))
        code, out, err = run(script)
        if code != 0:
            failures.append((block.name, out[-1500:], err[-2500:]))
        elif re.search(r"catalog-etl (retry|repair|reconcile) JOB_ID", block.body):
            assert ": succeeded" in out, (block.name, out[-1500:])
        if "catalog-etl sweep" in block.body and "retry JOB_ID" in block.body:
            assert job in out, (block.name, "the sweep does not print the job it closed")
        if "false-failed.txt" in block.body and "jq" in block.body:
            assert job in (workdir / "false-failed.txt").read_text().split()
        if "recovery.jsonl" in block.body:
            outcomes = [
                json.loads(ln)["outcome"]
                for ln in (workdir / "recovery.jsonl").read_text().splitlines()
            ]
            assert outcomes, "the recovery loop retried nothing"
            assert set(outcomes) == {"succeeded"}, outcomes
    assert not failures, "\n\n".join(map(str, failures))


def _flags(report: object) -> list[dict[str, object]]:
    """Every `flag_details` entry of an `audit --json` document, wherever it is nested."""
    found: list[dict[str, object]] = []
    if isinstance(report, dict):
        for key, value in report.items():
            if key == "flag_details" and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(_flags(value))
    elif isinstance(report, list):
        for value in report:
            found.extend(_flags(value))
    return found
