"""End to end in a real browser: the local stack, OIDC sign-in, retry of a failed job.

`catalog-etl up` starts embedded PostgreSQL, `serve` (all deployments, against the session's
Prefect test server) and the console, configured for sign-in through a local OIDC provider
(`oidc-provider-mock`) in a temporary `.streamlit/secrets.toml`. Playwright drives Debian's
Chromium: a signed-out browser sees no action button; a signed-in operator retries a failed job
with a reason and sees the new job complete; the operator action names the user. Screenshots of
every page are kept in the test's temp folder (also on failure, as `failure.png`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import JobStatus
from flows.stack.console_process import free_port
from tests.factories import catalog_row, local_runtime, to_csv
from tests.flows.cli.test_database import Home, _make_home, _remove_home, run_cli

# About a minute on an idle 2-core machine; the timeout leaves room for a busy one.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.timeout(900),
]

CHROMIUM = Path("/usr/bin/chromium")
OPERATOR = "ops@example.com"
PAGES = ("health", "jobs", "sources", "landing", "maintenance")
TIMEOUT_MS = 120_000


@pytest.fixture
def oidc_provider() -> Iterator[str]:
    """A real OIDC provider on loopback with one predefined, verified user."""
    from oidc_provider_mock import User, run_server_in_thread

    user = User(sub=OPERATOR, claims={"email": OPERATOR, "email_verified": True, "name": "Ops"})
    with run_server_in_thread(user_claims=[user]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def stack(oidc_provider: str, prefect_api: str) -> Iterator[dict[str, Any]]:
    """`catalog-etl up` with OIDC sign-in configured; `down` and cleanup afterwards.

    The stack uses the session's Prefect test server (a real server process) as its external
    Prefect API, which saves starting a second one; `up` starts PostgreSQL, `serve` (every
    deployment) and the console against it.
    """
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: apt-get install -y chromium (see .ci/run)")
    home: Home = _make_home("catalog-etl-test-browser-")
    port = free_port()
    landing = home.base / "landing"
    landing.mkdir()
    home.env.update(
        {
            "PREFECT_API_URL": prefect_api,
            "CATALOG_CONSOLE_PORT": str(port),
            "CATALOG_LANDING_URL": str(landing),
            "CATALOG_CHUNK_SIZE": "400",
            # serve picks a new run up within ~2 s instead of the default 10 s.
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        }
    )
    secrets = home.base / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{uuid.uuid4().hex}{uuid.uuid4().hex}"\n'
        'client_id = "catalog-console"\n'
        'client_secret = "test-only-secret"\n'
        f'server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"\n'
    )
    secrets.chmod(0o600)
    try:
        result = run_cli(home, "up", "--json")
        assert result.returncode == 0, (result.stdout, result.stderr[-3000:])
        up = json.loads(result.stdout)
        yield {"home": home, "up": up, "landing": landing, "db": home.server.url()}
    finally:
        run_cli(home, "down")
        _remove_home(home)


def _failed_job(db_url: str, landing: Path) -> uuid.UUID:
    """A three-chunk job whose first chunk completed before it failed."""
    rt = local_runtime(db_url, landing, chunk_size=400)
    rt.store.write("trailco/catalog.csv", to_csv([catalog_row(i) for i in range(24)]))
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key="trailco/catalog.csv", scraper_revision="e2e"
    )
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, planned.chunks[0])
    steps.end_job(
        rt, trigger.job_id, JobStatus.FAILED, error_kind="transient", error_message="lost"
    )
    return trigger.job_id


class _Timings:
    """Seconds per phase, written next to the screenshots (to see where a slow run went)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = self.last = time.monotonic()

    def __call__(self, phase: str) -> None:
        now = time.monotonic()
        with self.path.open("a") as handle:
            handle.write(f"{phase}: {now - self.last:.1f}s (total {now - self.start:.1f}s)\n")
        self.last = now


def _settle(page: Any) -> None:
    """Wait until Streamlit has rendered and finished running the script."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)


def test_sign_in_and_retry_a_failed_job_in_the_browser(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    console = stack["up"]["console"]
    assert console.startswith("http://127.0.0.1:")
    job_id = _failed_job(stack["db"], stack["landing"])
    shots = tmp_path / "screenshots"
    shots.mkdir()
    expect.set_options(timeout=TIMEOUT_MS)
    phase = _Timings(tmp_path / "timings.txt")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            # Signed out: the job's drill-down shows no action button, and a way to sign in.
            anonymous = browser.new_page(viewport={"width": 1400, "height": 1000})
            anonymous.goto(f"{console}/jobs?job={job_id}")
            _settle(anonymous)
            expect(anonymous.get_by_text(f"Job {str(job_id)[:8]}")).to_be_visible()
            expect(anonymous.get_by_role("button", name="Sign in")).to_be_visible()
            assert anonymous.get_by_role("button", name="Retry", exact=True).count() == 0
            assert anonymous.get_by_role("button", name="Repair", exact=True).count() == 0
            anonymous.screenshot(path=shots / "signed-out-job.png", full_page=True)
            anonymous.close()
            phase("signed-out page")

            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(console)
            _settle(page)
            page.get_by_role("button", name="Sign in").click()
            # The provider's consent page: pick the predefined user.
            page.get_by_role("button", name=OPERATOR).click()
            page.wait_for_url(f"{console}/**", timeout=TIMEOUT_MS)
            _settle(page)
            expect(page.get_by_text(f"Signed in as {OPERATOR}")).to_be_visible()
            phase("sign-in")

            for name in PAGES:
                page.goto(f"{console}/{name}")
                _settle(page)
                page.screenshot(path=shots / f"{name}.png", full_page=True)
                phase(f"page {name}")

            page.goto(f"{console}/jobs?job={job_id}")
            _settle(page)
            page.get_by_role("button", name="Retry", exact=True).click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("stored (job)")).to_be_visible(timeout=TIMEOUT_MS)
            confirm = dialog.get_by_role("button", name="Confirm retry")
            expect(confirm).to_be_disabled()
            reason = dialog.get_by_label("Reason (required)")
            reason.fill("the database restarted during apply")
            reason.press("Control+Enter")
            expect(confirm).to_be_enabled(timeout=TIMEOUT_MS)
            page.screenshot(path=shots / "retry-dialog.png", full_page=True)
            phase("retry dialog")
            confirm.click()
            expect(dialog.get_by_text("is completed")).to_be_visible(timeout=TIMEOUT_MS)
            page.screenshot(path=shots / "retry-completed.png", full_page=True)
            phase("retry completed")
        except Exception:
            for index, open_page in enumerate(
                browser.contexts[-1].pages if browser.contexts else []
            ):
                open_page.screenshot(path=tmp_path / f"failure-{index}.png", full_page=True)
            raise
        finally:
            browser.close()

    with connect(stack["db"]) as conn:
        actions = conn.execute(
            "SELECT actor, action, outcome, reason, parameters, result_job_id "
            "FROM operator_actions WHERE target_job_id = %s",
            (job_id,),
        ).fetchall()
        (action,) = actions
        new_job = conn.execute(
            "SELECT status, supersedes_job_id FROM etl_jobs WHERE id = %s",
            (action["result_job_id"],),
        ).fetchone()
    assert (action["actor"], action["action"], action["outcome"]) == (
        OPERATOR,
        "retry",
        "succeeded",
    )
    assert action["reason"] == "the database restarted during apply"
    assert action["parameters"]["channel"] == "console"
    assert new_job == {"status": "completed", "supersedes_job_id": job_id}
    taken = sorted(p.name for p in shots.iterdir())
    assert taken == sorted(
        [f"{name}.png" for name in PAGES]
        + ["signed-out-job.png", "retry-dialog.png", "retry-completed.png"]
    )
    assert all((shots / name).stat().st_size > 10_000 for name in taken)
