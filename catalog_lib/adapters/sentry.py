"""Sentry reporting: SDK set-up, the scrubbers that keep row data and secrets in, log → event.

Only structured records (a `logging` record with an `event` extra) reach Sentry, through
`SentryEventHandler`: ERROR and above, and the warnings in `IMPORTANT_EVENTS`, become events
tagged with `event`, `job_id` and `source`; other records become breadcrumbs. Whatever the
SDK sends passes `scrub_event` / `scrub_breadcrumb` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from catalog_lib.core.errors import CatalogError
from catalog_lib.core.logs import event_name, record_fields

# Warnings that matter enough to be Sentry events, not just breadcrumbs (domain-spec §9.8).
IMPORTANT_EVENTS = frozenset(
    {
        "etl.embedding.fallback",
        "etl.reconcile.mismatch",
        "etl.reconcile.unverified",
        "etl.etag.refused",
        "retention.capped",
        "etl.sweeper.closed",
    }
)
# An operator action refused because the source's ETag changed (catalog_lib.ops.actions).
ETAG_REFUSAL = ("etl.action.refused", "code", "ETL_ETAG_MISMATCH")
TAG_KEYS = ("event", "job_id", "source", "error_kind", "flow_run_id", "code")
# Keys whose string values are identifiers or labels, never row content.
ID_KEYS = frozenset(
    {
        *TAG_KEYS,
        "task_run_id",
        "chunk_index",
        "phase",
        "partition",
        "kind",
        "status",
        "error_name",
        "error_message",
        "sqlstate",
        "provider",
        "run_id",
        "maintenance_run_id",
        "flag_id",
        "snapshot_id",
        "code",
        "method",
        "action",
        "actor",
        "logger",
        "level",
        "reason",
    }
)
# SDK-provided contexts that describe the process, not the data.
SAFE_CONTEXTS = frozenset({"runtime", "os", "trace", "device", "app", "culture", "cloud_resource"})
MAX_ID_LENGTH = 200
MAX_TEXT_LENGTH = 500
SCRUBBED = "[scrubbed]"

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@]+@")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|signature|"
    r"authorization|credential|dsn|sig|x-amz-[a-z-]+)\b(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_KNOWN_KEYS = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bsk-[A-Za-z0-9_-]{16,}")
# Long tokens mixing upper case, lower case and digits look like keys; lower-case hex hashes
# and UUIDs (identifiers) do not match.
_OPAQUE_TOKEN = re.compile(
    r"(?=[A-Za-z0-9+/_=-]*[A-Z])(?=[A-Za-z0-9+/_=-]*[a-z])(?=[A-Za-z0-9+/_=-]*\d)"
    r"[A-Za-z0-9+/_=-]{32,}"
)


def redact_secrets(text: str) -> str:
    """The text with URL credentials, DSNs, key=value secrets and key-like tokens replaced."""
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _SECRET_ASSIGNMENT.sub(r"\1\2***", text)
    text = _KNOWN_KEYS.sub("***", text)
    return _OPAQUE_TOKEN.sub("***", text)


def scrub_value(key: str, value: Any) -> Any:
    """A value kept under `key`: counters as they are, id-like strings redacted, else None."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if key in ID_KEYS and isinstance(value, str):
        limit = MAX_TEXT_LENGTH if key == "error_message" else MAX_ID_LENGTH
        return redact_secrets(value)[:limit]
    return None


def scrub_mapping(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep counters and id-like fields of a mapping; drop everything else."""
    kept: dict[str, Any] = {}
    for key, value in (data or {}).items():
        scrubbed = scrub_value(str(key), value)
        if scrubbed is not None or value is None:
            kept[str(key)] = scrubbed
    return kept


def scrub_text(text: Any) -> str:
    """Free text (messages, exception values): secrets redacted, long text withheld."""
    if not isinstance(text, str):
        return SCRUBBED
    if len(text) > MAX_ID_LENGTH:
        return SCRUBBED
    return redact_secrets(text)


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any] | None:
    """`before_send`: strip request bodies, locals, non-id extras and secrets from an event."""
    request = event.get("request")
    if isinstance(request, dict):
        url = request.get("url")
        event["request"] = {"method": request.get("method")}
        if isinstance(url, str):
            event["request"]["url"] = redact_secrets(url.split("?", 1)[0])
    event.pop("user", None)
    event["extra"] = scrub_mapping(event.get("extra"))
    event["tags"] = {
        k: v for k, v in scrub_mapping(event.get("tags")).items() if v is not None and k in ID_KEYS
    }
    contexts = event.get("contexts") or {}
    event["contexts"] = {
        name: (_scrub_safe_context(ctx) if name in SAFE_CONTEXTS else scrub_mapping(ctx))
        for name, ctx in contexts.items()
        if isinstance(ctx, dict)
    }
    _scrub_message(event)
    _scrub_exceptions(event, hint)
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict):
        values = [scrub_breadcrumb(c, {}) for c in crumbs.get("values") or []]
        crumbs["values"] = [c for c in values if c is not None]
    scrubbed: dict[str, Any] = _redact_everywhere(event)
    return scrubbed


def scrub_breadcrumb(
    crumb: dict[str, Any],
    hint: dict[str, Any] | None = None,  # noqa: ARG001 - sentry-sdk's before_send signature
) -> dict[str, Any] | None:
    """`before_breadcrumb`: keep the category, level and id-like data; scrub the message."""
    kept: dict[str, Any] = {
        k: crumb[k] for k in ("type", "category", "level", "timestamp") if k in crumb
    }
    if "message" in crumb:
        kept["message"] = scrub_text(crumb["message"])
    data = crumb.get("data")
    if isinstance(data, dict):
        kept["data"] = scrub_mapping(data)
        if isinstance(data.get("url"), str):
            kept["data"]["url"] = redact_secrets(data["url"].split("?", 1)[0])
    redacted: dict[str, Any] = _redact_everywhere(kept)
    return redacted


def _scrub_safe_context(ctx: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (redact_secrets(v)[:MAX_ID_LENGTH] if isinstance(v, str) else v)
        for k, v in ctx.items()
        if v is None or isinstance(v, str | bool | int | float)
    }


def _scrub_message(event: dict[str, Any]) -> None:
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        event["logentry"] = {"message": scrub_text(logentry.get("message"))}
    if "message" in event:
        event["message"] = scrub_text(event["message"])


def _scrub_exceptions(event: dict[str, Any], hint: dict[str, Any] | None) -> None:
    exc_info = (hint or {}).get("exc_info")
    original = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) == 3 else None
    trusted = isinstance(original, CatalogError)
    exceptions = event.get("exception")
    for value in (exceptions or {}).get("values") or []:
        # Only our own errors build their message from vetted fields; any other exception's
        # text (a database's "Failing row contains …") may quote row data.
        text = str(original) if trusted else None
        if text is not None and len(text) <= MAX_TEXT_LENGTH:
            value["value"] = redact_secrets(text)
        else:
            value["value"] = f"{value.get('type', 'error')} (message withheld)"
        trusted = False  # chained causes are not vetted
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)


def _redact_everywhere(value: Any) -> Any:
    """A last pass: no string anywhere in the payload may carry a DSN or credentials."""
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, dict):
        return {k: _redact_everywhere(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_everywhere(v) for v in value]
    return value


class SentryEventHandler(logging.Handler):
    """Turns structured log records into Sentry events or breadcrumbs.

    Failures and important warnings become events, the rest breadcrumbs; records without an
    `event` extra are ignored.
    """

    catalog_etl_sentry = True

    def emit(self, record: logging.LogRecord) -> None:
        """Forward one record; best effort, never raises into the caller."""
        if not isinstance(getattr(record, "event", None), str):
            return
        try:
            event = event_name(record)
            fields = record_fields(record)
            is_event = record.levelno >= logging.ERROR or (
                record.levelno >= logging.WARNING and is_important(event, fields)
            )
            if is_event:
                capture_event(
                    event,
                    level=_sentry_level(record.levelno),
                    tags={k: fields[k] for k in TAG_KEYS if fields.get(k) is not None},
                    extra=fields,
                )
            else:
                sentry_sdk.add_breadcrumb(
                    category=event,
                    level=_sentry_level(record.levelno),
                    message=event,
                    data=fields,
                )
        except Exception:  # noqa: BLE001 - reporting must never break the caller
            self.handleError(record)


def is_important(event: str, fields: dict[str, Any]) -> bool:
    """Whether a warning must be a Sentry event rather than a breadcrumb."""
    name, key, value = ETAG_REFUSAL
    return event in IMPORTANT_EVENTS or (event == name and fields.get(key) == value)


def _sentry_level(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


def capture_event(
    event: str,
    *,
    level: str = "warning",
    tags: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str | None:
    """Send one Sentry event named `event` with tags (no-op without an initialised SDK).

    Returns:
        The Sentry event id, or None when nothing was sent.
    """
    if not sentry_sdk.is_initialized():
        return None
    payload: dict[str, Any] = {
        "message": event,
        "level": level,
        "tags": {"event": event, **{k: str(v) for k, v in (tags or {}).items()}},
        "extra": dict(extra or {}),
        "fingerprint": [event, str((tags or {}).get("source", ""))],
    }
    return sentry_sdk.capture_event(payload)  # type: ignore[arg-type]


def init_sentry(
    dsn: str | None,
    *,
    environment: str = "production",
    release: str | None = None,
    transport: Any = None,
) -> bool:
    """Initialise sentry-sdk with the scrubbers and the record → event handler.

    A no-op without a DSN, and when the SDK already runs with the same DSN (entry points may
    call this more than once per process). `transport` replaces the HTTP transport (tests).

    Returns:
        Whether Sentry is active.
    """
    if not dsn:
        return False
    client = sentry_sdk.get_client()
    if client.is_active() and str(client.options.get("dsn")) == dsn:
        _install_handler()
        return True
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        transport=transport,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,
        include_local_variables=False,
        max_request_body_size="never",
        # Records reach Sentry through SentryEventHandler only, never as raw log messages.
        integrations=[LoggingIntegration(level=None, event_level=None, sentry_logs_level=None)],
    )
    _install_handler()
    return True


def _install_handler() -> None:
    root = logging.getLogger()
    if not any(getattr(h, "catalog_etl_sentry", False) for h in root.handlers):
        root.addHandler(SentryEventHandler(level=logging.INFO))


def shutdown_sentry() -> None:
    """Flush and close the SDK and remove the handler (tests, process exit)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "catalog_etl_sentry", False):
            root.removeHandler(handler)
    client = sentry_sdk.get_client()
    if client.is_active():
        client.flush(timeout=2)
        client.close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)
