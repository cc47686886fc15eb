"""How uvicorn serves InboxQL: its protocols, bounds and logging, and the event loop it runs on."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import uvicorn
from starlette.types import ASGIApp

from services.settings import Settings
from web.connection_guard import guarded_protocol
from web.websocket_protocol import LeanWSProtocol


class WebSocketServing(TypedDict):
    ws: type[asyncio.Protocol]
    ws_ping_interval: float | None


# How sockets are served, by the product and by the bench's server (bench/serve.py) alike: the
# two once differed here, and the bench measured less than production ran.
WEBSOCKETS = WebSocketServing(
    # wsproto, lighter than websockets-sansio for an idle socket, and lighter still without
    # the handshake state it keeps.
    ws=LeanWSProtocol,
    # graphql-transport-ws pings (schema/transport/websocket.py) keep every socket alive
    # through load balancers and close the ones whose peer has gone. uvicorn's own
    # protocol-level pings, on by default every 20 s, would do the same work a second time on
    # each socket: two more timers, and a ping and a pong more.
    ws_ping_interval=None,
)


def uvicorn_config(app: ASGIApp, settings: Settings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        # httptools with a deadline on request heads and a bound on open connections.
        http=guarded_protocol(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            max_connections=settings.max_connections,
        ),
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        **WEBSOCKETS,
        # A bigger WebSocket message closes the socket with 1009 before it is parsed.
        ws_max_size=settings.ws_max_message_bytes,
        # In JSON, uvicorn's own lines (access log included) go through the root handler
        # like every other; in text, uvicorn keeps its usual look.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )


def serving_loop(config: uvicorn.Config) -> asyncio.Runner:
    """The event loop uvicorn's `loop` setting chooses (uvloop where it is installed, as with
    uvicorn[standard]). `asyncio.run` would ignore the setting: uvicorn applies it only in
    `Server.run`, which also installs its own signal handling."""
    return asyncio.Runner(loop_factory=config.get_loop_factory())
