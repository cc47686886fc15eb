"""What `server.create_app` serves before any client is built (no lifespan needed)."""

from __future__ import annotations

import httpx
from starlette.types import Receive, Scope, Send

from server import create_app
from services.aws import AwsEndpoints
from services.settings import Settings
from tests.conftest import TEST_JWT_SECRET


async def get_ide(settings: Settings) -> httpx.Response:
    app = create_app(settings, AwsEndpoints(), workers=0)

    async def without_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        # Serving the IDE page needs no client; the lifespan that builds them is not run.
        scope["state"] = {"inboxql": None}
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=without_lifespan)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/graphql", headers={"Accept": "text/html"})


async def test_graphiql_is_off_in_external_mode_by_default() -> None:
    settings = Settings.from_env({"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": "x" * 40})
    assert settings.graphiql is False
    assert (await get_ide(settings)).status_code == 404


async def test_graphiql_in_local_mode_carries_a_dev_token() -> None:
    settings = Settings(stack="local", jwt_secret=TEST_JWT_SECRET, graphiql=True)
    page = await get_ide(settings)
    assert page.status_code == 200
    assert "Bearer ey" in page.text
    assert "/graphiql-assets/graphiql.min.js" in page.text
    # Every example operation is preloaded as a tab.
    assert all(
        f"subscription {name}" in page.text for name in ("OnUnreadCount", "OnMessageReceived")
    )
    assert "mutation SendMessage" in page.text and "query Conversation" in page.text
