"""A server process configured the way production would be (external mode: no GraphiQL, no
demo, no introspection) with a low send rate limit, on the session's local stack; reached over
real HTTP and WebSocket connections."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from services.bootstrap import bootstrap
from services.local_stack import StackEndpoints
from services.settings import Settings
from tests.conftest import stack_endpoints, stack_settings
from tests.e2e.conftest import REPO, Server, free_port, server_env, wait_until_serving
from tests.security.jwks_server import JwksServer

SEND_RATE_LIMIT = 5
SEND_RATE_WINDOW_SECONDS = 60
MAX_BODY_BYTES = 8192
JWT_ISSUER = "https://idp.inboxql.test/pool"
JWT_AUDIENCE = "inboxql-api"
JWKS_MIN_REFRESH_SECONDS = 1


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    with JwksServer() as served:
        yield served


def started_server(
    stack: StackEndpoints,
    settings: Settings,
    env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    async def provision() -> None:
        async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True):
            pass

    asyncio.run(provision())
    port = free_port()
    log = tmp_path_factory.mktemp("secure-server") / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port)],
            cwd=REPO,
            env=server_env(stack, settings)
            | {"INBOXQL_GRAPHIQL": "false", "INBOXQL_DEMO": "false"}
            | env,
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


@pytest.fixture(scope="session")
def secure_server(
    stack: StackEndpoints,
    session_tag: str,
    jwks: JwksServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    env = {
        "INBOXQL_SEND_RATE_LIMIT": str(SEND_RATE_LIMIT),
        "INBOXQL_SEND_RATE_WINDOW_SECONDS": str(SEND_RATE_WINDOW_SECONDS),
        "INBOXQL_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "INBOXQL_JWKS_URL": jwks.url,
        "INBOXQL_JWT_ISSUER": JWT_ISSUER,
        "INBOXQL_JWT_AUDIENCE": JWT_AUDIENCE,
        "INBOXQL_JWKS_MIN_REFRESH_SECONDS": str(JWKS_MIN_REFRESH_SECONDS),
    }
    settings = stack_settings(stack, f"{session_tag}s")
    yield from started_server(stack, settings, env, tmp_path_factory)


@pytest.fixture(scope="session")
def fuzz_server(
    stack: StackEndpoints, session_tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """External mode without a send limit, so that generated sends really write."""
    settings = stack_settings(stack, f"{session_tag}f")
    env = {"INBOXQL_SEND_RATE_LIMIT": "0"}
    yield from started_server(stack, settings, env, tmp_path_factory)


@pytest.fixture
async def http(secure_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=secure_server.url, timeout=30) as client:
        yield client
