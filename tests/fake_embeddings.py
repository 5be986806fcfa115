"""A real local HTTP server speaking the OpenAI /v1/embeddings protocol, with scripted faults."""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_DIM = 8


def expected_vector(model: str, text: str, dim: int) -> list[float]:
    """Deterministic vector the fake server returns for (model, text)."""
    digest = hashlib.sha256(f"{model}\x00{text}".encode()).digest()
    return [round(digest[i % len(digest)] / 255, 6) for i in range(dim)]


@dataclass
class FakeEmbeddingServer:
    """State of the fake /v1/embeddings server: scripted faults and the requests it saw."""

    url: str = ""
    # One action per incoming request, consumed in order; "ok" once the script runs out.
    script: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    shuffle: bool = True
    slow_s: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self, record: dict[str, Any]) -> str:
        with self.lock:
            self.requests.append(record)
            return self.script.pop(0) if self.script else "ok"


def make_handler(state: FakeEmbeddingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per response

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            body = json.loads(raw)
            record = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
            action = state.next_action(record)
            if action.isdigit():
                error = {"error": {"message": f"echo: {body['input']}", "code": "bad_thing"}}
                self.reply(int(action), json.dumps(error).encode(), {"Retry-After": "0"})
                return
            if action == "slow" and state.stop.wait(state.slow_s):
                return
            if action == "malformed":
                self.reply(200, b'{"data": [')
                return
            dim = body.get("dimensions") or DEFAULT_DIM
            data: list[dict[str, Any]] = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": expected_vector(body["model"], t, dim),
                }
                for i, t in enumerate(body["input"])
            ]
            if action == "wrong_count":
                data = data[:-1]
            elif action == "wrong_dim":
                data[0]["embedding"] = data[0]["embedding"][:-1]
            elif action == "dup_index":
                data[-1]["index"] = 0
            elif action == "not_a_list":
                data[0]["embedding"] = "not-a-list"
            elif action == "nan":
                data[0]["embedding"][0] = math.nan  # json.dumps writes a bare NaN token
            if state.shuffle:
                random.Random(len(state.requests)).shuffle(data)
            payload = {"object": "list", "data": data, "model": body["model"]}
            self.reply(200, json.dumps(payload).encode())

        def reply(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); nothing to answer

    return Handler


@pytest.fixture
def embedding_server() -> Iterator[FakeEmbeddingServer]:
    state = FakeEmbeddingServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
