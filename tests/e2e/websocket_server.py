"""A second server process with tight WebSocket settings (short deadlines, small limits), on the
session's stack and table, so the WebSocket tests see its limits within seconds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.local.stack import StackEndpoints
from services.settings import Settings
from tests.e2e.conftest import Server, serving

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
    with serving(stack, settings, log, env=TIGHT, args=("--no-worker",)) as server:
        yield server
