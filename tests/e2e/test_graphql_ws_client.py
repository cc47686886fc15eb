"""The done-when check with a real frontend client: npm's `graphql-ws`, authenticating through
`connection_init`, sees unreadCount go 0 -> 25 -> 0."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from services.local.npm_packages import npm_install
from services.settings import Settings
from tests.conftest import CACHE_DIR, new_user
from tests.e2e.conftest import GraphQLClient, Server

Client = Callable[[str], GraphQLClient]
CLIENT_SCRIPT = Path(__file__).with_name("clients") / "unread_count.mjs"
PACKAGES = ["graphql-ws@6", "ws@8", "graphql@16"]
TOOLS = Settings.from_env().local_tools


@pytest.fixture(scope="session")
def node_client() -> Path:
    """The npm packages, fetched once per machine from the registry into the cache dir by the
    packaged npm; the script sits beside their node_modules/ so that its imports resolve."""
    home = CACHE_DIR / "node-client"
    if not (home / "node_modules" / "graphql-ws").exists():
        npm_install(PACKAGES, home, TOOLS, timeout=300)
    shutil.copy(CLIENT_SCRIPT, home / CLIENT_SCRIPT.name)
    return home / CLIENT_SCRIPT.name


async def test_graphql_ws_client_sees_count_rise_and_fall(
    server: Server, as_user: Client, node_client: Path
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    node = await asyncio.create_subprocess_exec(
        TOOLS.node_binary(),
        str(node_client),
        server.ws_url,
        server.token(alice),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert node.stdout is not None

    async def next_count() -> int:
        line = await asyncio.wait_for(node.stdout.readline(), 20)  # type: ignore[union-attr]
        assert line, (await node.stderr.read()).decode()  # type: ignore[union-attr]
        count: int = json.loads(line)["data"]["unreadCount"]
        return count

    try:
        assert await next_count() == 0
        for n in range(25):
            await as_user(bob).send(alice, f"hello {n}")
        seen = [0]
        while seen[-1] != 25:
            seen.append(await next_count())
        assert seen == sorted(seen)
        await as_user(alice).data("mutation { markAllRead { unreadCount } }")
        assert await next_count() == 0
    finally:
        node.kill()
        await node.wait()
