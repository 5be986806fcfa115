"""Serving the webhook app with uvicorn: in the foreground, or in a background thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from catalog_lib.core.errors import ConfigurationError


def serve_webhook(app: FastAPI, *, host: str, port: int) -> None:
    """Serve the app with uvicorn until interrupted (logs go through the root logger)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


@dataclass
class RunningWebhook:
    """A webhook served by uvicorn in a background thread (for `serve`/`up` and tests)."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)


def start_webhook_thread(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 10.0
) -> RunningWebhook:
    """Start uvicorn in a daemon thread and return once it listens (port 0: a free port)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="catalog-etl-webhook", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigurationError("the webhook server did not start", host=host, port=port)
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()
    return RunningWebhook(server=server, thread=thread, url=f"http://{bound[0]}:{bound[1]}")
