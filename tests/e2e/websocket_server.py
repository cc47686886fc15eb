"""A second server process with tight WebSocket settings (short deadlines, small limits), on the
session's stack and table, so the WebSocket tests see its limits within seconds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.local_stack import StackEndpoints
from services.settings import Settings
from tests.e2e.conftest import REPO, Server, free_port, server_env, wait_until_serving

ALLOWED_ORIGIN = "https://app.example.com"
TIGHT = {
    "INBOXQL_WS_INIT_TIMEOUT": "1",
    "INBOXQL_WS_PING_INTERVAL": "1",
    "INBOXQL_WS_PONG_TIMEOUT": "2",
    "INBOXQL_WS_MAX_SUBSCRIPTIONS": "3",
    "INBOXQL_WS_MAX_CONNECTIONS_PER_USER": "2",
    "INBOXQL_WS_MAX_MESSAGE_BYTES": "4096",
    "INBOXQL_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
    # Expiry is then exactly `exp`: the tests time the close against it.
    "INBOXQL_JWT_LEEWAY_SECONDS": "0",
}


@contextmanager
def tight_server(stack: StackEndpoints, settings: Settings, log: Path) -> Iterator[Server]:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port), "--no-worker"],
            cwd=REPO,
            env=server_env(stack, settings) | TIGHT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
        yield Server(url, f"ws://127.0.0.1:{port}/graphql", settings, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
