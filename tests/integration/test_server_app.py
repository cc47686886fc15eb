"""What `server.create_app` serves before any client is built (no lifespan needed)."""

from __future__ import annotations

import httpx

from services.settings import Settings
from tests.conftest import TEST_JWT_SECRET, client_without_lifespan


async def get_ide(settings: Settings) -> httpx.Response:
    async with client_without_lifespan(settings) as client:
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
