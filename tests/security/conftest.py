"""A server process configured the way production would be (external mode: no GraphiQL, no
demo, no introspection) with a low send rate limit, on the session's local stack; reached over
real HTTP and WebSocket connections."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from services.local.stack import StackEndpoints
from services.settings import Settings
from tests.conftest import stack_settings
from tests.e2e.conftest import Server, provision, serving
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
    provision(stack, settings)
    log = tmp_path_factory.mktemp("secure-server") / "server.log"
    production_like = {"INBOXQL_GRAPHIQL": "false", "INBOXQL_DEMO": "false"} | env
    with serving(stack, settings, log, env=production_like) as server:
        yield server


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
    env = {"INBOXQL_SEND_RATE_LIMIT": "0", "INBOXQL_READ_RATE_LIMIT": "0"}
    yield from started_server(stack, settings, env, tmp_path_factory)


# The per-user budgets of `limited_server`: small, so that a test reaches them.
READ_RATE_LIMIT = 6
PERSISTED_QUERY_QUOTA = 2


@pytest.fixture(scope="session")
def limited_server(
    stack: StackEndpoints, session_tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """External mode with a tiny read rate limit and persisted-query quota."""
    settings = stack_settings(stack, f"{session_tag}l")
    env = {
        "INBOXQL_SEND_RATE_LIMIT": "0",
        "INBOXQL_READ_RATE_LIMIT": str(READ_RATE_LIMIT),
        "INBOXQL_PERSISTED_QUERY_QUOTA": str(PERSISTED_QUERY_QUOTA),
    }
    yield from started_server(stack, settings, env, tmp_path_factory)


@pytest.fixture
async def http(secure_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=secure_server.url, timeout=30) as client:
        yield client
