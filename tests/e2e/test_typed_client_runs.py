"""examples/typed-client runs against a real server: the typed documents it sends are the
operations the server answers. Node runs run.ts by erasing its types, with no build step."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.typed_client import SCHEMA, TOOLS, codegen, output, workspace

Client = Callable[[str], GraphQLClient]


async def test_the_typed_client_sends_reads_and_marks_read(
    server: Server, as_user: Client, tmp_path: Path
) -> None:
    client = await asyncio.to_thread(workspace, tmp_path, SCHEMA.read_text())
    generated = await asyncio.to_thread(codegen, client)
    assert generated.returncode == 0, output(generated)
    alice, bob = new_user("alice"), new_user("bob")
    await as_user(bob).send(alice, "for the typed client")
    await as_user(alice).wait_for_count(1)

    node = await asyncio.create_subprocess_exec(
        TOOLS.node_binary(),
        "run.ts",
        f"{server.url}/graphql",
        server.token(alice),
        bob,
        cwd=client,
        env=TOOLS.child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(node.communicate(), 60)
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
    assert node.returncode == 0, stderr.decode()[-3000:]
    session = json.loads(stdout)
    assert (session["unreadBefore"], session["marked"], session["unreadAfter"]) == (1, 1, 0)
    assert datetime.fromisoformat(session["sentAt"]).tzinfo is not None, session
    assert await as_user(alice).unread_count() == 0
    await as_user(bob).wait_for_count(1)
