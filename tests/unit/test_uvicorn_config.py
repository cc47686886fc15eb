"""How the product's uvicorn is configured: what the settings reach, and one keep-alive."""

from __future__ import annotations

from starlette.applications import Starlette

from services.settings import Settings
from web.uvicorn_config import uvicorn_config
from web.websocket_protocol import LeanWSProtocol


def test_sockets_are_kept_alive_by_graphql_transport_ws_pings_alone() -> None:
    settings = Settings(ws_ping_interval_seconds=7.0)
    config = uvicorn_config(Starlette(), settings, "127.0.0.1", 8000)
    # uvicorn pings every 20 s by default: every socket would carry two keep-alives.
    assert config.ws_ping_interval is None
    assert config.ws is LeanWSProtocol


def test_the_settings_reach_uvicorn() -> None:
    settings = Settings(keep_alive_timeout_seconds=91, ws_max_message_bytes=4096)
    config = uvicorn_config(Starlette(), settings, "0.0.0.0", 8123)
    assert (config.host, config.port) == ("0.0.0.0", 8123)
    assert config.timeout_keep_alive == 91
    assert config.ws_max_size == 4096
