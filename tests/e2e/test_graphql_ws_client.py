"""The done-when check with a real frontend client: npm's `graphql-ws`, authenticating through
`connection_init`, sees unreadCount go 0 -> 25 -> 0."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import new_user
from tests.e2e.conftest import NODE_CLIENT_PACKAGES, GraphQLClient, Server
from tests.e2e.node_scripts import TOOLS, installed_script

Client = Callable[[str], GraphQLClient]


@pytest.fixture(scope="session")
def node_client() -> Path:
    return installed_script("subscribe.mjs", NODE_CLIENT_PACKAGES, "node-client")


async def test_graphql_ws_client_sees_count_rise_and_fall(
    server: Server, as_user: Client, node_client: Path
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    node = await asyncio.create_subprocess_exec(
        TOOLS.node_binary(),
        str(node_client),
        server.ws_url,
        server.token(alice),
        "subscription { unreadCount }",
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
