"""Who may act in the console: OIDC sign-in (`st.login`), local operator mode, read-only.

Rules (DESIGN.md §Interfaces "Console"):
- With an OIDC provider configured under `[auth]` in Streamlit secrets, only a signed-in
  identity with an e-mail may act (optionally restricted by `CATALOG_CONSOLE_OPERATORS`);
  signed-out users see no action buttons.
- Without OIDC, actions are allowed only while the console listens on loopback and the
  request did not come through a proxy ("local operator", the actor is the OS user).
- Bound to any other address without OIDC, the console is read-only and says why.

A half-configured `[auth]` section never falls back to local operator mode: it is read-only.
The actor recorded for an action is always the identity's e-mail or the OS user.
"""

from __future__ import annotations

import getpass
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from catalog_lib.core.settings import Settings

SHARED_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
CALLBACK_PATH = "/oauth2callback"
# Headers a reverse proxy adds: a proxied request is not a local operator at the machine.
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "forwarded", "x-real-ip")


@dataclass(frozen=True)
class Operator:
    """The identity allowed to act: an OIDC e-mail or the OS user of a loopback console."""

    actor: str  # e-mail (OIDC) or OS user (local operator)
    mode: Literal["oidc", "local"]


@dataclass(frozen=True)
class OidcConfig:
    """What `[auth]` in Streamlit secrets configures.

    `providers` is `[None]` for one unnamed provider (settings directly under `[auth]`) or the
    names of `[auth.NAME]` sections; `problem` says why the section is unusable.
    """

    providers: tuple[str | None, ...]
    problem: str | None = None

    @property
    def usable(self) -> bool:
        """Whether sign-in can work with this configuration."""
        return self.problem is None and bool(self.providers)


@dataclass(frozen=True)
class Access:
    """The outcome of the sign-in rules for this session."""

    operator: Operator | None
    badge: str
    oidc: OidcConfig | None
    signed_in_as: str | None = None


def oidc_config(auth: Mapping[str, Any] | None) -> OidcConfig | None:
    """Read an `[auth]` section; None when there is none (no OIDC configured)."""
    if not auth:
        return None
    missing = [key for key in SHARED_KEYS if not auth.get(key)]
    if missing:
        return OidcConfig((), problem=f"[auth] lacks {', '.join(missing)}")
    if not str(auth["redirect_uri"]).rstrip("/").endswith(CALLBACK_PATH):
        return OidcConfig((), problem=f"[auth] redirect_uri must end with {CALLBACK_PATH}")
    providers: list[str | None] = []
    if all(auth.get(key) for key in PROVIDER_KEYS):
        providers.append(None)
    for name, section in auth.items():
        if isinstance(section, Mapping):
            lacking = [key for key in PROVIDER_KEYS if not section.get(key)]
            if lacking:
                return OidcConfig((), problem=f"[auth.{name}] lacks {', '.join(lacking)}")
            providers.append(str(name))
    if not providers:
        return OidcConfig((), problem=f"[auth] names no provider ({', '.join(PROVIDER_KEYS)})")
    return OidcConfig(tuple(providers))


def is_loopback(address: str | None) -> bool:
    """Whether `address` only accepts connections from this machine.

    An unset address means all interfaces (Streamlit's default), so it is not loopback.
    """
    if not address:
        return False
    host = address.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_allowed(email: str, allow_list: frozenset[str]) -> bool:
    """Whether an e-mail matches the allow-list (exact addresses or `@domain` entries)."""
    if not allow_list:
        return True
    address = email.strip().lower()
    domain = "@" + address.rpartition("@")[2]
    return address in allow_list or domain in allow_list


def decide(
    *,
    oidc: OidcConfig | None,
    user: Mapping[str, Any],
    address: str | None,
    proxied: bool,
    allow_list: frozenset[str],
    os_user: str,
) -> Access:
    """Apply the sign-in rules to one session (pure: the Streamlit state is passed in)."""
    if oidc is not None:
        if not oidc.usable:
            return Access(None, f"read-only: OIDC sign-in is misconfigured ({oidc.problem})", oidc)
        if user.get("is_logged_in") is not True:
            return Access(None, "signed out: sign in to act", oidc)
        email = str(user.get("email") or "").strip()
        if not email:
            return Access(None, "read-only: the identity has no e-mail address", oidc)
        if user.get("email_verified") is False:
            return Access(None, "read-only: the e-mail is not verified", oidc, email)
        if not is_allowed(email, allow_list):
            return Access(
                None, "read-only: not on the operator list (CATALOG_CONSOLE_OPERATORS)", oidc, email
            )
        return Access(Operator(actor=email, mode="oidc"), f"signed in as {email}", oidc, email)
    if not is_loopback(address):
        where = address or "all interfaces"
        return Access(
            None,
            f"read-only: listening on {where} without OIDC sign-in "
            "(configure [auth] in .streamlit/secrets.toml to allow actions)",
            None,
        )
    if proxied:
        return Access(
            None,
            "read-only: reached through a proxy without OIDC sign-in "
            "(configure [auth] in .streamlit/secrets.toml to allow actions)",
            None,
        )
    return Access(Operator(actor=os_user, mode="local"), f"local operator ({os_user})", None)


def _auth_section() -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, KeyError):
        return None
    return section if isinstance(section, Mapping) else None


def _user() -> Mapping[str, Any]:
    try:
        return dict(st.user.to_dict())
    except (AttributeError, KeyError):
        return {}


def _proxied() -> bool:
    headers = st.context.headers
    return any(headers.get(name) for name in PROXY_HEADERS)


def current_access() -> Access:
    """The sign-in decision for the current session."""
    settings = Settings()
    return decide(
        oidc=oidc_config(_auth_section()),
        user=_user(),
        address=st.get_option("server.address"),
        proxied=_proxied(),
        allow_list=settings.console_operators,
        os_user=getpass.getuser(),
    )


def current_operator() -> Operator | None:
    """The operator of this session, or None: then no action button may be shown."""
    return current_access().operator


def sidebar_identity() -> None:
    """Render the sign-in state in the sidebar: badge, and sign-in / sign-out buttons."""
    access = current_access()
    lock = ":material/lock:"
    with st.sidebar:
        if access.operator is not None and access.operator.mode == "local":
            actor = access.operator.actor
            st.info(f"**Local operator** — OS user `{actor}`", icon=":material/computer:")
        elif access.operator is not None:
            actor = access.operator.actor
            st.success(f"Signed in as **{actor}**", icon=":material/check_circle:")
        elif access.signed_in_as is not None:
            st.warning(f"Signed in as **{access.signed_in_as}** — {access.badge}", icon=lock)
        else:
            st.warning(access.badge[:1].upper() + access.badge[1:], icon=lock)
        oidc = access.oidc
        if oidc is None or not oidc.usable:
            return
        if _user().get("is_logged_in") is True:
            if st.button("Sign out", key="auth_sign_out", use_container_width=True):
                st.logout()
            return
        for provider in oidc.providers:
            label = "Sign in" if provider is None else f"Sign in with {provider}"
            if st.button(label, key=f"auth_sign_in_{provider or 'default'}", type="primary"):
                st.login(provider) if provider is not None else st.login()
