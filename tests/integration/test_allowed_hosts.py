"""DNS rebinding: in local mode only loopback host names are served, so a page whose name was
rebound to 127.0.0.1 gets neither GraphiQL's token, nor a demo token, nor a WebSocket."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import create_app
from services.aws import AwsEndpoints
from services.settings import Settings
from tests.conftest import TEST_JWT_SECRET
from web.allowed_hosts import host_name

REBOUND = "attacker.example"


def local(**env: str) -> Settings:
    return Settings.from_env(
        {
            "INBOXQL_STACK": "local",
            "INBOXQL_JWT_SECRET": TEST_JWT_SECRET,
            "INBOXQL_GRAPHIQL": "true",
            "INBOXQL_DEMO": "true",
        }
        | env
    )


def without_lifespan(settings: Settings) -> ASGIApp:
    """`create_app(settings)` with no DynamoDB, SQS or Redis behind it: what is refused never
    needs them."""
    app = create_app(settings, AwsEndpoints(), workers=0)

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = {"inboxql": None}
        await app(scope, receive, send)

    return serve


def client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=without_lifespan(settings)), base_url="http://localhost"
    )


async def ide(settings: Settings, host: str) -> httpx.Response:
    async with client(settings) as http:
        return await http.get("/graphql", headers={"Accept": "text/html", "Host": host})


async def test_a_rebound_host_gets_no_token_in_local_mode() -> None:
    settings = local()
    page = await ide(settings, f"{REBOUND}:8000")
    assert page.status_code == 421
    assert "Bearer" not in page.text
    assert page.json()["errors"][0]["extensions"]["code"] == "MISDIRECTED_REQUEST"
    assert "INBOXQL_ALLOWED_HOSTS" in page.json()["errors"][0]["message"]
    async with client(settings) as http:
        token = await http.post("/demo/token", json={"user": "alice"}, headers={"Host": REBOUND})
        assert token.status_code == 421
        assert "token" not in token.json()
        # A load balancer's probe names the task's address: probes answer any host.
        assert (await http.get("/healthz", headers={"Host": "10.0.3.7:8000"})).status_code == 200


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:41234", "[::1]:8000", "LOCALHOST"])
async def test_loopback_names_are_served_in_local_mode(host: str) -> None:
    page = await ide(local(), host)
    assert page.status_code == 200
    assert "Bearer ey" in page.text


async def test_the_setting_names_other_hosts() -> None:
    settings = local(INBOXQL_ALLOWED_HOSTS="inbox.lan, ::1")
    assert (await ide(settings, "inbox.lan:8000")).status_code == 200
    assert (await ide(settings, "[::1]:8000")).status_code == 200
    assert (await ide(settings, "localhost:8000")).status_code == 421


async def test_external_mode_serves_any_host_by_default() -> None:
    settings = Settings.from_env(
        {
            "INBOXQL_STACK": "external",
            "INBOXQL_JWT_SECRET": TEST_JWT_SECRET,
            "INBOXQL_GRAPHIQL": "1",
        }
    )
    assert settings.allowed_hosts == ("*",)
    assert (await ide(settings, "api.example.com")).status_code == 200


async def handshake(settings: Settings, host: str) -> Message:
    """The app's first answer to a WebSocket handshake: accept or close."""
    app = without_lifespan(settings)
    inbound: asyncio.Queue[Message] = asyncio.Queue()
    outbound: asyncio.Queue[Message] = asyncio.Queue()
    await inbound.put({"type": "websocket.connect"})
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": ["graphql-transport-ws"],
        # Strawberry's same-origin check compares Origin with Host: both are the rebound name.
        "headers": [
            (b"host", host.encode()),
            (b"origin", f"http://{host}".encode()),
            (b"sec-websocket-protocol", b"graphql-transport-ws"),
        ],
    }
    task = asyncio.ensure_future(app(scope, inbound.get, outbound.put))
    try:
        async with asyncio.timeout(10):
            return await outbound.get()
    finally:
        await inbound.put({"type": "websocket.disconnect", "code": 1000})
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_websocket_from_a_rebound_origin_is_refused() -> None:
    assert (await handshake(local(), "localhost:8000"))["type"] == "websocket.accept"
    refused = await handshake(local(), f"{REBOUND}:8000")
    assert refused == {"type": "websocket.close", "code": 1008}


def test_host_names_lose_their_port() -> None:
    assert host_name("LocalHost:8000") == "localhost"
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("[::1]") == "[::1]"
    assert host_name("example.com") == "example.com"
    assert host_name("") == ""
