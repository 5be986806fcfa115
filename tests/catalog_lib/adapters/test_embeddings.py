"""Tests for the embedding providers against a real local OpenAI-compatible HTTP server."""

from __future__ import annotations

import logging
import math
import random
import socket
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from catalog_lib.adapters.embeddings import (
    NoEmbeddings,
    OpenAICompatibleEmbeddings,
    SentenceTransformersEmbeddings,
    build_provider,
)
from catalog_lib.core.errors import ConfigurationError, EmbeddingError, TransientError
from tests.fake_embeddings import DEFAULT_DIM, FakeEmbeddingServer, expected_vector

API_KEY = "sk-test-SECRET-4f9a1c"
PRIVATE_TEXT = "PRIVATE-ROW-CONTENT Trail Dome 2"
NOT_A_VECTOR = "embedding is not a non-empty list of finite numbers"


@pytest.fixture
def server(embedding_server: FakeEmbeddingServer) -> FakeEmbeddingServer:
    return embedding_server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy configured in the environment must not intercept 127.0.0.1.
    with httpx.Client(trust_env=False) as http_client:
        yield http_client


def make_provider(
    server: FakeEmbeddingServer, client: httpx.Client, **overrides: Any
) -> OpenAICompatibleEmbeddings:
    options: dict[str, Any] = {
        "model": "text-embedding-3-small",
        "base_url": server.url,
        "api_key": API_KEY,
        "batch_size": 3,
        "timeout_s": 2.0,
        "max_attempts": 3,
        "backoff_initial_s": 0.001,
        "backoff_max_s": 0.01,
        "client": client,
    }
    options.update(overrides)
    return OpenAICompatibleEmbeddings(**options)


def assert_no_secrets(error: BaseException) -> None:
    rendered = f"{error} {error!r} {getattr(error, 'fields', '')}"
    assert API_KEY not in rendered
    assert "PRIVATE-ROW-CONTENT" not in rendered


@pytest.mark.parametrize(
    "suffix", ["", "/", "/v1", "/v1/"], ids=["root", "slash", "v1", "v1-slash"]
)
def test_posts_to_v1_embeddings_with_and_without_v1_suffix(
    server: FakeEmbeddingServer, client: httpx.Client, suffix: str
) -> None:
    provider = make_provider(server, client, base_url=server.url + suffix)
    provider.embed(["a"])
    assert [request["path"] for request in server.requests] == ["/v1/embeddings"]


def test_batches_requests_and_keeps_input_order(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    texts = [f"item {i}" for i in range(10)]
    vectors = make_provider(server, client).embed(texts)
    assert [len(request["body"]["input"]) for request in server.requests] == [3, 3, 3, 1]
    assert [t for request in server.requests for t in request["body"]["input"]] == texts
    assert vectors == [expected_vector("text-embedding-3-small", t, DEFAULT_DIM) for t in texts]


def test_sends_model_dimensions_and_bearer_token(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    provider = make_provider(server, client, api_key=SecretStr(API_KEY), dimensions=5)
    vectors = provider.embed(["a", "b"])
    request = server.requests[0]
    assert request["body"] == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "dimensions": 5,
    }
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert [len(v) for v in vectors] == [5, 5]
    assert provider.name == "openai:text-embedding-3-small@5"
    assert provider.enabled is True


def test_no_api_key_sends_no_authorization_header(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    provider = make_provider(server, client, api_key=None)
    provider.embed(["a"])
    assert "Authorization" not in server.requests[0]["headers"]
    assert provider.name == "openai:text-embedding-3-small"
    assert provider.dimensions is None


def test_empty_input_makes_no_request(server: FakeEmbeddingServer, client: httpx.Client) -> None:
    assert make_provider(server, client).embed([]) == []
    assert server.requests == []


@pytest.mark.parametrize("fault", ["429", "503", "500"])
def test_transient_status_is_retried_then_succeeds(
    server: FakeEmbeddingServer, client: httpx.Client, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.script = [fault, fault]
    with caplog.at_level(logging.WARNING, logger="catalog_lib.adapters.embeddings"):
        vectors = make_provider(server, client).embed([PRIVATE_TEXT])
    assert vectors == [expected_vector("text-embedding-3-small", PRIVATE_TEXT, DEFAULT_DIM)]
    assert len(server.requests) == 3
    retries = [r for r in caplog.records if getattr(r, "event", None) == "etl.embedding.retry"]
    assert [r.attempt for r in retries] == [1, 2]  # type: ignore[attr-defined]
    assert {r.status_code for r in retries} == {int(fault)}  # type: ignore[attr-defined]
    for record in caplog.records:
        rendered = f"{record.getMessage()} {record.__dict__}"
        assert API_KEY not in rendered
        assert "PRIVATE-ROW-CONTENT" not in rendered


def test_attempts_are_bounded(server: FakeEmbeddingServer, client: httpx.Client) -> None:
    server.script = ["503"] * 10
    with pytest.raises(EmbeddingError) as caught:
        make_provider(server, client, max_attempts=4).embed([PRIVATE_TEXT])
    assert len(server.requests) == 4
    assert caught.value.fields["status_code"] == 503
    assert caught.value.fields["attempts"] == 4
    assert isinstance(caught.value, TransientError)
    assert_no_secrets(caught.value)


@pytest.mark.parametrize("status", ["400", "401", "404", "422"])
def test_client_errors_are_not_retried(
    server: FakeEmbeddingServer, client: httpx.Client, status: str
) -> None:
    server.script = [status]
    with pytest.raises(EmbeddingError) as caught:
        make_provider(server, client).embed([PRIVATE_TEXT])
    assert len(server.requests) == 1
    assert caught.value.fields["status_code"] == int(status)
    assert caught.value.fields["error_code"] == "bad_thing"  # the code, never the echoed message
    assert_no_secrets(caught.value)


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        pytest.param("malformed", "body is not JSON", id="malformed-json"),
        pytest.param("wrong_count", "count mismatch", id="wrong-count"),
        pytest.param("dup_index", "index out of range or repeated", id="duplicate-index"),
        pytest.param("not_a_list", NOT_A_VECTOR, id="not-a-list"),
        pytest.param("nan", NOT_A_VECTOR, id="nan-component"),
    ],
)
def test_invalid_responses_raise(
    server: FakeEmbeddingServer, client: httpx.Client, fault: str, problem: str
) -> None:
    server.script = [fault]
    with pytest.raises(EmbeddingError) as caught:
        make_provider(server, client).embed([PRIVATE_TEXT, "b", "c"])
    assert caught.value.fields["problem"] == problem
    assert len(server.requests) == 1
    assert_no_secrets(caught.value)


def test_wrong_dimension_raises_when_configured(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    server.script = ["wrong_dim"]
    with pytest.raises(EmbeddingError) as caught:
        make_provider(server, client, dimensions=6).embed(["a", "b"])
    assert caught.value.fields["problem"] == "dimension mismatch"
    assert (caught.value.fields["expected"], caught.value.fields["received"]) == (6, 5)


def test_inconsistent_dimension_raises_without_configuration(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    server.script = ["ok", "wrong_dim"]  # the second batch disagrees with the first
    with pytest.raises(EmbeddingError, match="dimension mismatch"):
        make_provider(server, client, batch_size=2).embed(["a", "b", "c", "d"])


def test_slow_response_times_out_and_is_retried_boundedly(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    server.script = ["slow", "slow"]
    with pytest.raises(EmbeddingError) as caught:
        make_provider(server, client, timeout_s=0.1, max_attempts=2).embed([PRIVATE_TEXT])
    assert caught.value.fields["reason"] == "timeout"
    assert caught.value.fields["error_name"] == "ReadTimeout"
    assert len(server.requests) == 2
    assert_no_secrets(caught.value)


def test_slow_then_fast_recovers(server: FakeEmbeddingServer, client: httpx.Client) -> None:
    server.script = ["slow"]
    vectors = make_provider(server, client, timeout_s=0.1).embed(["a"])
    assert len(vectors) == 1
    assert len(server.requests) == 2


def test_connection_refused_is_retried_then_fails(client: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    attempts: list[float] = []
    provider = OpenAICompatibleEmbeddings(
        model="m",
        base_url=f"http://127.0.0.1:{port}",
        max_attempts=3,
        backoff_initial_s=0.001,
        client=client,
        sleep=attempts.append,
    )
    with pytest.raises(EmbeddingError) as caught:
        provider.embed(["a"])
    assert caught.value.fields["reason"] == "transport"
    assert caught.value.fields["error_name"] == "ConnectError"
    assert len(attempts) == 2


def test_backoff_grows_exponentially_with_jitter_and_is_capped(
    server: FakeEmbeddingServer, client: httpx.Client
) -> None:
    server.script = ["503"] * 5
    delays: list[float] = []
    provider = make_provider(
        server,
        client,
        max_attempts=6,
        backoff_initial_s=1.0,
        backoff_max_s=4.0,
        sleep=delays.append,
        rng=random.Random(7),
    )
    provider.embed(["a"])
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(delays) == len(ceilings)
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_owned_client_works_and_closes(
    server: FakeEmbeddingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)
    with OpenAICompatibleEmbeddings(model="m", base_url=server.url) as provider:
        assert len(provider.embed(["a", "b"])) == 2


def test_single_string_is_rejected(server: FakeEmbeddingServer, client: httpx.Client) -> None:
    with pytest.raises(TypeError):
        make_provider(server, client).embed("abc")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"model": " "}, id="blank-model"),
        pytest.param({"batch_size": 0}, id="zero-batch"),
        pytest.param({"max_attempts": 0}, id="zero-attempts"),
        pytest.param({"dimensions": -1}, id="negative-dimensions"),
        pytest.param({"timeout_s": 0}, id="zero-timeout"),
        pytest.param({"base_url": "ftp://example.com"}, id="bad-scheme"),
        pytest.param({"base_url": "not a url"}, id="relative-url"),
    ],
)
def test_invalid_settings_raise_configuration_error(
    server: FakeEmbeddingServer, client: httpx.Client, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_provider(server, client, **overrides)
    assert_no_secrets(caught.value)


def test_none_provider_is_disabled_and_refuses_to_embed() -> None:
    provider = build_provider("none", model=None, base_url=None, api_key=None, dimensions=None)
    assert isinstance(provider, NoEmbeddings)
    assert (provider.name, provider.dimensions, provider.enabled) == ("none", None, False)
    with pytest.raises(ConfigurationError):
        provider.embed(["a"])


def test_build_openai_provider(server: FakeEmbeddingServer) -> None:
    provider = build_provider(
        "OpenAI",
        model="text-embedding-3-small",
        base_url=server.url + "/v1",
        api_key=API_KEY,
        dimensions=4,
        batch_size=2,
        timeout_s=5,
        max_attempts=2,
    )
    assert isinstance(provider, OpenAICompatibleEmbeddings)
    assert (provider.batch_size, provider.max_attempts, provider.dimensions) == (2, 2, 4)
    assert provider.endpoint == server.url + "/v1/embeddings"
    assert API_KEY not in repr(vars(provider))
    provider.close()


def test_build_openai_defaults_to_the_openai_api() -> None:
    provider = build_provider("openai", model="m", base_url=None, api_key=None, dimensions=None)
    assert isinstance(provider, OpenAICompatibleEmbeddings)
    assert provider.endpoint == "https://api.openai.com/v1/embeddings"
    provider.close()


@pytest.mark.parametrize("kind", ["openai", "sentence-transformers"])
def test_build_requires_a_model(kind: str) -> None:
    with pytest.raises(ConfigurationError, match="model is required"):
        build_provider(kind, model=None, base_url=None, api_key=API_KEY, dimensions=None)


def test_unknown_kind_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_provider("cohere", model="m", base_url=None, api_key=API_KEY, dimensions=None)
    assert caught.value.fields["kind"] == "cohere"
    assert "sentence-transformers" in str(caught.value)
    assert_no_secrets(caught.value)


def test_sentence_transformers_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail even where the extra happens to be installed.
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigurationError, match=r"uv sync --extra local-embeddings"):
        SentenceTransformersEmbeddings("all-MiniLM-L6-v2")
    with pytest.raises(ConfigurationError, match=r"uv sync --extra local-embeddings"):
        build_provider(
            "sentence-transformers",
            model="all-MiniLM-L6-v2",
            base_url=None,
            api_key=None,
            dimensions=None,
        )


def test_sentence_transformers_is_not_installed_in_this_environment() -> None:
    # The extra is optional; the base install must produce the clear error, not an ImportError.
    if "sentence_transformers" in sys.modules or _is_importable("sentence_transformers"):
        pytest.skip("the local-embeddings extra is installed here")
    with pytest.raises(ConfigurationError, match="local-embeddings"):
        SentenceTransformersEmbeddings("all-MiniLM-L6-v2")


def _is_importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_vectors_are_finite_floats(server: FakeEmbeddingServer, client: httpx.Client) -> None:
    vectors = make_provider(server, client).embed(["x"])
    assert all(isinstance(v, float) and math.isfinite(v) for v in vectors[0])
