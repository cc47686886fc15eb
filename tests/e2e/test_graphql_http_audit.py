"""The GraphQL-over-HTTP audit suite that implementations are checked with (npm's
`graphql-http`, its `auditServer`), run by node against the real server: every item passes,
MUST, SHOULD and MAY alike."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.e2e.node_scripts import TOOLS, installed_script

PACKAGES = ["graphql-http@1.23", "graphql@16"]
# The audit sends about 60 small requests.
AUDIT_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="session")
def audit_script() -> Path:
    return installed_script("graphql_http_audit.mjs", PACKAGES, "graphql-http-audit")


async def run_audit(script: Path, url: str, token: str) -> list[dict[str, Any]]:
    node = await asyncio.create_subprocess_exec(
        TOOLS.node_binary(),
        str(script),
        url,
        token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(node.communicate(), AUDIT_TIMEOUT_SECONDS)
    assert node.returncode == 0, stderr.decode()
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


async def test_every_graphql_over_http_audit_item_passes(
    server: Server, audit_script: Path
) -> None:
    results = await run_audit(
        audit_script, f"{server.url}/graphql", server.token(new_user("auditor"))
    )
    # The suite has about 60 items; far fewer means the script did not run it.
    assert len(results) > 40, results
    failed = [result for result in results if result["status"] != "ok"]
    assert failed == [], "\n".join(json.dumps(result) for result in failed)
    # The items the GET support exists for are among those that passed.
    names = {result["name"] for result in results}
    assert any("GET" in name for name in names), names
