"""The project's exception tree: transient (a retry may help) versus terminal errors.

Every exception builds its own message from structured fields. Messages never contain raw CSV
row content, secrets or connection strings.
"""

from __future__ import annotations

from typing import Any


class CatalogError(Exception):
    """Base of every error this product raises on purpose."""

    kind: str = "catalog_error"

    def __init__(self, message: str, **fields: Any) -> None:
        self.fields = {k: v for k, v in fields.items() if v is not None}
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.fields:
            return self.message
        detail = ", ".join(f"{k}={v}" for k, v in sorted(self.fields.items()))
        return f"{self.message} ({detail})"


class TransientError(CatalogError):
    """A failure that may go away when retried: connection lost, throttling, serialization."""

    kind = "transient"


class TerminalError(CatalogError):
    """A failure that a retry cannot fix: bad input, missing object, configuration."""

    kind = "terminal"


class ConfigurationError(TerminalError):
    """Settings or the local environment do not allow the requested operation."""

    kind = "configuration"


class StorageError(TransientError):
    """Object storage could not be reached or throttled the request."""

    kind = "storage_unavailable"


class ObjectNotFoundError(TerminalError):
    """The source object does not exist."""

    kind = "source_missing"


class EmptyObjectError(TerminalError):
    """The source object has zero bytes and cannot be a CSV file."""

    kind = "empty_source"


class MalformedCsvError(TerminalError):
    """The CSV bytes cannot be split into records (e.g. an unterminated quote)."""

    kind = "malformed_csv"


class HeaderTooLargeError(TerminalError):
    """The CSV header has more columns or bytes than any real catalog (a hostile or broken file)."""

    kind = "header_too_large"


class UnsupportedEncodingError(TerminalError):
    """The object is not UTF-8 text (e.g. UTF-16 with a byte-order mark, or NULs in the header)."""

    kind = "encoding"


class SourceChangedError(TerminalError):
    """The source object's version differs from the one a job was planned against."""

    kind = "etag_mismatch"


class JobLeaseHeldError(TerminalError):
    """Another live process holds the job's liveness lease: it is running the job."""

    kind = "job_leased"


class DatabaseError(TransientError):
    """The database connection failed or a transaction had to be rolled back and may be retried."""

    kind = "database_unavailable"


class DatabaseConnectionError(DatabaseError):
    """The connection to PostgreSQL could not be opened or was lost (e.g. the backend ended)."""


class DatabaseConflictError(DatabaseError):
    """A transaction was rolled back by a serialization failure or a deadlock."""


class EmbeddingError(TransientError):
    """The embedding provider failed; callers fall back to loading rows without new vectors."""

    kind = "embedding_failed"


class InvalidObjectKeyError(TerminalError):
    """An object key is malformed or would escape the landing root ('..' or an absolute key)."""

    kind = "invalid_object_key"


class ObjectOutsideLandingError(InvalidObjectKeyError):
    """A key or path names something outside the landing root (`..`, or a symlink out of it)."""

    kind = "object_outside_landing"


class StorageAccessError(TerminalError):
    """Object storage refused the request: permission denied or invalid credentials."""

    kind = "storage_access_denied"


class DatabaseQueryError(TerminalError):
    """A database statement failed in a way a retry cannot fix (constraint, type, syntax)."""

    kind = "database_error"


class JobNotFoundError(TerminalError):
    """The job a step or action names does not exist."""

    kind = "job_not_found"


class JobNotRunnableError(TerminalError):
    """The job is not in a state that allows this flow run to work on it."""

    kind = "job_not_runnable"


class LedgerIncompleteError(TerminalError):
    """The chunk ledger does not cover the job's plan (chunks or records are missing)."""

    kind = "ledger_incomplete"


class LedgerRowMissingError(TerminalError):
    """A ledger row locked earlier in the same transaction was not found again."""

    kind = "ledger_row_missing"


class ActionNotStartedError(TerminalError):
    """An operator action was finished twice or was never recorded as started."""

    kind = "action_not_started"


class FlagNotFoundError(TerminalError):
    """No audit flag has the requested id."""

    kind = "not_found"


class SignatureError(TerminalError):
    """A signed request's signature or timestamp is missing, malformed, stale or wrong.

    `reason` is a stable code for responses and logs: `signature_missing`,
    `signature_malformed`, `timestamp_stale`, `timestamp_in_future`, `signature_mismatch`.
    """

    kind = "invalid_signature"

    def __init__(self, message: str, *, reason: str, **fields: object) -> None:
        self.reason = reason
        super().__init__(message, reason=reason, **fields)


class InvalidRequestError(TerminalError):
    """A trigger request (webhook body, storage event) is well formed JSON but not acceptable.

    `code` is a stable code for responses and logs (e.g. `bucket_mismatch`, `invalid_source`).
    """

    kind = "invalid_request"

    def __init__(self, message: str, *, code: str, **fields: object) -> None:
        self.code = code
        super().__init__(message, code=code, **fields)


class InvalidArgumentError(TerminalError):
    """A caller passed a value the operation cannot accept (a blank reason, an unknown state).

    The message names the argument and what is allowed; it is shown to the operator as is.
    """

    kind = "invalid_argument"
