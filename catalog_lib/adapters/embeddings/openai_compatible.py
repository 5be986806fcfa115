"""An OpenAI-compatible `/v1/embeddings` server over httpx, with retries and safe errors."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from catalog_lib.adapters.embeddings.base import (
    DEFAULT_OPENAI_BASE_URL,
    _as_vector,
    _require_positive_int,
)
from catalog_lib.core.errors import ConfigurationError, EmbeddingError

logger = logging.getLogger(__name__)
# 408/425/429 and every 5xx can succeed on a later attempt; any other 4xx will fail again.
_TRANSIENT_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class _AttemptFailure:
    """Why one HTTP attempt failed in a way a retry may fix."""

    reason: str
    error_name: str
    status_code: int | None = None
    retry_after_s: float | None = None
    exc: Exception | None = None


class OpenAICompatibleEmbeddings:
    """Embeds through an OpenAI-compatible ``POST /v1/embeddings`` server, batched, with retries."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str = DEFAULT_OPENAI_BASE_URL,
        api_key: str | SecretStr | None = None,
        dimensions: int | None = None,
        batch_size: int = 96,
        timeout_s: float = 30.0,
        max_attempts: int = 3,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 20.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """Validate the settings and prepare the HTTP client.

        Args:
            model: The model identifier sent to the endpoint.
            base_url: Server root, with or without a trailing ``/v1``.
            api_key: Bearer token; None sends no Authorization header (local servers).
            dimensions: Requested and enforced vector size; None accepts the model's size.
            batch_size: Texts per request.
            timeout_s: Per-request timeout (connect, read, write, pool).
            max_attempts: Total attempts per batch, including the first.
            backoff_initial_s: Backoff before the second attempt; doubles per attempt.
            backoff_max_s: Upper bound of one backoff delay (also caps Retry-After).
            client: An httpx client to use instead of an owned one (not closed by this object).
            sleep: Sleep function, injectable for tests.
            rng: Random source for the jitter, injectable for tests.

        Raises:
            ConfigurationError: A setting is missing or out of range.
        """
        if not model or not model.strip():
            raise ConfigurationError("the openai embedding provider needs a model name")
        _require_positive_int("dimensions", dimensions, allow_none=True)
        _require_positive_int("batch_size", batch_size)
        _require_positive_int("max_attempts", max_attempts)
        for setting, value in (
            ("timeout_s", timeout_s),
            ("backoff_initial_s", backoff_initial_s),
            ("backoff_max_s", backoff_max_s),
        ):
            if not math.isfinite(value) or value < 0 or (setting == "timeout_s" and value == 0):
                raise ConfigurationError("embedding setting out of range", setting=setting)
        self.model = model.strip()
        self.dimensions = dimensions
        self.enabled = True
        # The dimension is part of the identity: vectors of another size must be re-embedded.
        suffix = f"@{dimensions}" if dimensions is not None else ""
        self.name = f"openai:{self.model}{suffix}"
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self._url, self.endpoint = _embeddings_url(base_url)
        self._api_key = api_key if isinstance(api_key, SecretStr | None) else SecretStr(api_key)
        self._timeout = httpx.Timeout(timeout_s)
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._rng = rng or random.Random()  # jitter only: no cryptographic randomness needed
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=self._timeout)

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAICompatibleEmbeddings:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in input order, requesting ``batch_size`` texts at a time.

        Raises:
            EmbeddingError: The endpoint failed after bounded retries, rejected the request,
                or returned a response that does not match the request.
        """
        if isinstance(texts, str):
            # A wrong argument type (a programming error), not a domain failure.
            raise TypeError("embed() takes a sequence of texts, not a single string")
        started = time.monotonic()
        vectors: list[list[float]] = []
        expected_dim = self.dimensions
        batch_count = 0
        for batch_index, start in enumerate(range(0, len(texts), self.batch_size)):
            batch = list(texts[start : start + self.batch_size])
            batch_vectors = self._embed_batch(batch, batch_index, expected_dim)
            # Without a configured size, every batch of one call must agree with the first.
            expected_dim = len(batch_vectors[0])
            vectors.extend(batch_vectors)
            batch_count += 1
        logger.debug(
            "etl.embedding.embedded",
            extra={
                "event": "etl.embedding.embedded",
                "provider": self.name,
                "text_count": len(texts),
                "batch_count": batch_count,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return vectors

    def _embed_batch(
        self, batch: list[str], batch_index: int, expected_dim: int | None
    ) -> list[list[float]]:
        """POST one batch with bounded retries on transient failures."""
        payload: dict[str, Any] = {"model": self.model, "input": batch}
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        failure: _AttemptFailure | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.post(
                    self._url, json=payload, headers=self._headers(), timeout=self._timeout
                )
            except httpx.TimeoutException as exc:
                failure = _AttemptFailure("timeout", type(exc).__name__, exc=exc)
            except httpx.RequestError as exc:
                failure = _AttemptFailure("transport", type(exc).__name__, exc=exc)
            else:
                if response.is_success:
                    return self._parse_response(response, len(batch), expected_dim, batch_index)
                if not _is_transient_status(response.status_code):
                    raise EmbeddingError(
                        "embedding request rejected by the provider",
                        provider=self.name,
                        endpoint=self.endpoint,
                        status_code=response.status_code,
                        error_code=_provider_error_code(response),
                        batch_index=batch_index,
                        attempts=attempt,
                    )
                failure = _AttemptFailure(
                    "http_status",
                    f"HTTP {response.status_code}",
                    status_code=response.status_code,
                    retry_after_s=_retry_after_s(response),
                )
            if attempt < self.max_attempts:
                self._wait_before_retry(attempt, failure, batch_index)
        assert failure is not None  # the loop runs at least once and only falls through on failure
        raise EmbeddingError(
            "embedding request failed after retries",
            provider=self.name,
            endpoint=self.endpoint,
            reason=failure.reason,
            error_name=failure.error_name,
            status_code=failure.status_code,
            batch_index=batch_index,
            attempts=self.max_attempts,
        ) from failure.exc

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "catalog-etl"}
        if self._api_key is not None and self._api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _wait_before_retry(self, attempt: int, failure: _AttemptFailure, batch_index: int) -> None:
        """Sleep an exponential backoff with jitter, honouring a bounded Retry-After."""
        ceiling = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (attempt - 1))
        # "Equal jitter": at least half the backoff, so retries never collapse to zero delay.
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if failure.retry_after_s is not None:
            delay = max(delay, min(failure.retry_after_s, self._backoff_max_s))
        logger.warning(
            "etl.embedding.retry",
            extra={
                "event": "etl.embedding.retry",
                "provider": self.name,
                "attempt": attempt,
                "max_attempts": self.max_attempts,
                "batch_index": batch_index,
                "reason": failure.reason,
                "error_name": failure.error_name,
                "status_code": failure.status_code,
                "delay_s": round(delay, 3),
            },
        )
        self._sleep(delay)

    def _parse_response(
        self,
        response: httpx.Response,
        expected_count: int,
        expected_dim: int | None,
        batch_index: int,
    ) -> list[list[float]]:
        """Validate the body and return vectors ordered by their ``index``."""

        def invalid(problem: str, **fields: Any) -> EmbeddingError:
            return EmbeddingError(
                "embedding response invalid",
                provider=self.name,
                endpoint=self.endpoint,
                problem=problem,
                batch_index=batch_index,
                **fields,
            )

        try:
            body = response.json()
        except ValueError:
            raise invalid("body is not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise invalid("no data list")
        if len(data) != expected_count:
            raise invalid("count mismatch", expected=expected_count, received=len(data))
        by_index: dict[int, list[float]] = {}
        for entry in data:
            index = entry.get("index") if isinstance(entry, dict) else None
            if not isinstance(index, int) or isinstance(index, bool):
                raise invalid("entry without an integer index")
            if not 0 <= index < expected_count or index in by_index:
                raise invalid("index out of range or repeated", index=index)
            vector = _as_vector(entry.get("embedding"))
            if vector is None:
                raise invalid("embedding is not a non-empty list of finite numbers", index=index)
            if expected_dim is not None and len(vector) != expected_dim:
                raise invalid(
                    "dimension mismatch", index=index, expected=expected_dim, received=len(vector)
                )
            expected_dim = len(vector)
            by_index[index] = vector
        return [by_index[i] for i in range(expected_count)]


def _embeddings_url(base_url: str) -> tuple[str, str]:
    """Return the request URL and a credential-free form of it for messages."""
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError):
        raise ConfigurationError("embedding base URL is not a valid URL") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise ConfigurationError("embedding base URL must be an absolute http(s) URL")
    # Accept both "https://host" and "https://host/v1" (what OpenAI SDKs call base_url).
    path = url.path.rstrip("/")
    if not path.endswith("/v1"):
        path = f"{path}/v1"
    full = url.copy_with(path=f"{path}/embeddings", query=None, fragment=None)
    port = f":{url.port}" if url.port is not None else ""
    return str(full), f"{url.scheme}://{url.host}{port}{path}/embeddings"


def _is_transient_status(status_code: int) -> bool:
    return status_code in _TRANSIENT_STATUS or status_code >= 500


def _retry_after_s(response: httpx.Response) -> float | None:
    """Parse a numeric Retry-After header (HTTP-date forms are ignored)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _provider_error_code(response: httpx.Response) -> str | None:
    """Return the provider's short error code (e.g. ``invalid_api_key``), never its message.

    The message of an error body may quote the input, so only an identifier-like code is kept.
    """
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    for key in ("code", "type"):
        code = error.get(key)
        if isinstance(code, str) and 0 < len(code) <= 64 and _is_identifier_like(code):
            return code
    return None


def _is_identifier_like(value: str) -> bool:
    return value.isascii() and value.replace("_", "").replace("-", "").replace(".", "").isalnum()
