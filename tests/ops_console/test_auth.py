"""Sign-in rules: signed out, OIDC signed in, local operator on loopback, read-only, allow-list."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from catalog_lib.core.settings import Settings
from ops_console.auth import (
    OidcConfig,
    Operator,
    decide,
    is_allowed,
    is_loopback,
    oidc_config,
)

pytestmark = pytest.mark.console

AUTH: dict[str, Any] = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-that-is-long-enough",
    "client_id": "console",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
JOB = {
    "id": "6f0c1c1e-0000-4000-8000-000000000001",
    "status": "failed",
    "source": "trailco",
    "object_key": "file:///landing/a.csv",
    "source_etag": "etag-1",
    "source_size": 10,
}
ACTION_LABELS = {"Retry", "Repair", "Reconcile"}


def probe() -> None:
    """A page that shows the identity frame and one job's action buttons."""
    import streamlit as st

    from ops_console import actions, auth

    auth.sidebar_identity()
    operator = auth.current_operator()
    st.markdown(f"operator: {operator.actor if operator else 'none'}")
    actions.job_actions(st.session_state["job"], operator)


@pytest.fixture
def bind(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set the console's listen address for the test (Streamlit's server.address option)."""
    monkeypatch.delenv("CATALOG_CONSOLE_OPERATORS", raising=False)
    before = config.get_option("server.address")

    def set_address(address: str | None) -> None:
        config.set_option("server.address", address)

    yield set_address
    config.set_option("server.address", before)


def _app(*, secrets: dict[str, Any] | None = None, user: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_function(probe, default_timeout=30)
    at.session_state["job"] = JOB
    if secrets:
        at.secrets["auth"] = secrets
    if user is not None:
        at.user = user
    return at.run()


def _labels(at: AppTest) -> set[str]:
    return {button.label for button in at.button}


def _sidebar_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.sidebar.info, *at.sidebar.success, *at.sidebar.warning)]
    return " ".join(str(p) for p in parts)


def test_signed_out_user_sees_no_action_buttons_and_can_sign_in(bind: Any) -> None:
    bind("127.0.0.1")
    at = _app(secrets=AUTH, user={"is_logged_in": False})
    assert not at.exception
    assert not ACTION_LABELS & _labels(at)
    assert [b.label for b in at.sidebar.button] == ["Sign in"]
    assert "Signed out" in _sidebar_text(at)
    assert at.markdown[0].value == "operator: none"


def test_signed_in_oidc_user_acts_as_their_email(bind: Any) -> None:
    bind("0.0.0.0")  # with OIDC, any address is fine
    at = _app(secrets=AUTH, user={"is_logged_in": True, "email": "ops@example.com"})
    assert not at.exception
    assert _labels(at) >= ACTION_LABELS
    assert "Sign out" in {b.label for b in at.sidebar.button}
    assert "Signed in as **ops@example.com**" in _sidebar_text(at)
    assert at.markdown[0].value == "operator: ops@example.com"


def test_local_operator_on_loopback_without_oidc(bind: Any) -> None:
    bind("127.0.0.1")
    at = _app()
    assert not at.exception
    assert _labels(at) >= ACTION_LABELS
    assert "Local operator" in _sidebar_text(at)
    assert getpass.getuser() in _sidebar_text(at)
    assert at.markdown[0].value == f"operator: {getpass.getuser()}"
    assert not at.sidebar.button  # nothing to sign in to


def test_read_only_on_all_interfaces_without_oidc_says_why(bind: Any) -> None:
    bind("0.0.0.0")
    at = _app()
    assert not at.exception
    assert not ACTION_LABELS & _labels(at)
    assert "Read-only: listening on 0.0.0.0 without OIDC sign-in" in _sidebar_text(at)
    bind(None)  # Streamlit's default: every interface
    at = _app()
    assert not ACTION_LABELS & _labels(at)
    assert "all interfaces" in _sidebar_text(at)


def test_allow_list_limits_who_may_act(bind: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bind("127.0.0.1")
    monkeypatch.setenv("CATALOG_CONSOLE_OPERATORS", "@example.com, Boss@Other.org")
    allowed = _app(secrets=AUTH, user={"is_logged_in": True, "email": "ops@EXAMPLE.com"})
    assert _labels(allowed) >= ACTION_LABELS
    boss = _app(secrets=AUTH, user={"is_logged_in": True, "email": "boss@other.org"})
    assert _labels(boss) >= ACTION_LABELS
    other = _app(secrets=AUTH, user={"is_logged_in": True, "email": "eve@other.org"})
    assert not ACTION_LABELS & _labels(other)
    assert "not on the operator list" in _sidebar_text(other)
    assert "Sign out" in {b.label for b in other.sidebar.button}


def test_misconfigured_oidc_is_read_only_even_on_loopback(bind: Any) -> None:
    bind("127.0.0.1")
    at = _app(secrets={**AUTH, "redirect_uri": "http://127.0.0.1:8501/callback"})
    assert not ACTION_LABELS & _labels(at)
    assert "misconfigured" in _sidebar_text(at)
    assert "/oauth2callback" in _sidebar_text(at)


def test_named_providers_get_one_sign_in_button_each(bind: Any) -> None:
    bind("127.0.0.1")
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    secrets = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": AUTH["cookie_secret"],
        "google": provider,
        "keycloak": provider,
    }
    at = _app(secrets=secrets, user={"is_logged_in": False})
    assert [b.label for b in at.sidebar.button] == ["Sign in with google", "Sign in with keycloak"]


# ----------------------------------------------------------------- the rules, without Streamlit


def _decide(**overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "oidc": None,
        "user": {},
        "address": "127.0.0.1",
        "proxied": False,
        "allow_list": frozenset(),
        "os_user": "alice",
    }
    return decide(**(arguments | overrides))


def test_proxied_request_without_oidc_is_read_only() -> None:
    assert _decide().operator == Operator(actor="alice", mode="local")
    access = _decide(proxied=True)
    assert access.operator is None
    assert "proxy" in access.badge


def test_identity_without_verified_email_cannot_act() -> None:
    oidc = OidcConfig((None,))
    assert _decide(oidc=oidc, user={"is_logged_in": True}).operator is None
    unverified = {"is_logged_in": True, "email": "a@example.com", "email_verified": False}
    assert _decide(oidc=oidc, user=unverified).operator is None
    verified = {"is_logged_in": True, "email": "a@example.com", "email_verified": True}
    assert _decide(oidc=oidc, user=verified).operator == Operator("a@example.com", "oidc")


def test_signed_out_with_oidc_is_never_local_operator() -> None:
    access = _decide(oidc=OidcConfig((None,)), user={"email": "test@example.com"})
    assert access.operator is None
    assert access.badge.startswith("signed out")


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("", False),
        (None, False),
        ("console.example.com", False),
    ],
)
def test_is_loopback(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_is_allowed_matches_addresses_and_domains() -> None:
    allow = frozenset({"@example.com", "boss@other.org"})
    assert is_allowed("x@example.com", allow)
    assert is_allowed("X@Example.COM", allow)
    assert is_allowed("boss@other.org", allow)
    assert not is_allowed("eve@other.org", allow)
    assert not is_allowed("x@sub.example.com", allow)
    assert not is_allowed("x@example.com.evil.org", allow)
    assert is_allowed("anyone@anywhere.org", frozenset())


def test_oidc_config_validation() -> None:
    assert oidc_config(None) is None
    assert oidc_config({}) is None
    assert oidc_config(AUTH) == OidcConfig((None,))
    assert "cookie_secret" in str(oidc_config({**AUTH, "cookie_secret": ""}).problem)  # type: ignore[union-attr]
    lacking = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x", "entra": {}}
    assert "[auth.entra] lacks client_id" in str(oidc_config(lacking).problem)  # type: ignore[union-attr]
    no_provider = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x"}
    assert not oidc_config(no_provider).usable  # type: ignore[union-attr]


def test_operators_setting_parses_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_CONSOLE_OPERATORS", " A@x.org ,@Example.com,,")
    assert Settings().console_operators == frozenset({"a@x.org", "@example.com"})
    monkeypatch.setenv("CATALOG_CONSOLE_OPERATORS", '["b@y.org"]')
    assert Settings().console_operators == frozenset({"b@y.org"})
    monkeypatch.delenv("CATALOG_CONSOLE_OPERATORS")
    assert Settings().console_operators == frozenset()
