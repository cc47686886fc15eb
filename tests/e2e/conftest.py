"""A real InboxQL server process (`server.py --stack external`) on the session's local stack,
reached over real HTTP and WebSocket connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from services.bootstrap import bootstrap
from services.domain import UserId
from services.local.stack import StackEndpoints
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import (
    CACHE_DIR,
    TEST_JWT_SECRET,
    external_env,
    stack_endpoints,
    stack_settings,
)
from tests.e2e.chromium import ChromiumBinary, ChromiumUnavailable, chromium_for_tests
from tests.e2e.node_scripts import TOOLS, installed_script
from tests.polling import eventually, wait_until

REPO = Path(__file__).resolve().parents[2]
DELIVERY_DEADLINE_SECONDS = 20.0


@dataclass
class Server:
    url: str
    ws_url: str
    settings: Settings
    process: subprocess.Popen[bytes]

    def token(self, user: str, ttl_seconds: int | None = 3600) -> str:
        return HmacTokenVerifier(TEST_JWT_SECRET).issue(UserId(user), ttl_seconds=ttl_seconds)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(stack: StackEndpoints, settings: Settings) -> dict[str, str]:
    return (
        os.environ
        | external_env(stack, settings)
        | {
            "INBOXQL_GRAPHIQL": "true",
            "INBOXQL_DEMO": "true",
            "INBOXQL_LONG_POLL_SECONDS": "1",
            # One JSON object a line: tests/e2e/test_observability.py follows request ids in it.
            "INBOXQL_LOG_FORMAT": "json",
        }
    )


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(
        ready, lambda: f"the server to be ready:\n{log.read_text()}", timeout=60, interval=0.1
    )


def provision(stack: StackEndpoints, settings: Settings) -> None:
    """The table and queues `settings` name, created on the session's stack."""

    async def create() -> None:
        async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True):
            pass

    asyncio.run(create())


@contextmanager
def serving(
    stack: StackEndpoints,
    settings: Settings,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """`server.py` on the session's stack (its tables already provisioned), with `env` over
    the usual test environment, until the block ends."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port), *args],
            cwd=REPO,
            env=server_env(stack, settings) | dict(env or {}),
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
def server(
    stack: StackEndpoints, session_tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = stack_settings(stack, session_tag)
    provision(stack, settings)
    with serving(stack, settings, tmp_path_factory.mktemp("server") / "server.log") as server:
        yield server


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code < 500, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        body = await self.raw(query, variables)
        assert body.get("errors"), body
        code: str = body["errors"][0]["extensions"]["code"]
        return code

    async def unread_count(self) -> int:
        count: int = (await self.data("{ unreadCount }"))["unreadCount"]
        return count

    async def wait_for_count(self, expected: int) -> None:
        count: int | None = None

        async def reached() -> bool:
            nonlocal count
            count = await self.unread_count()
            return count == expected

        await eventually(
            reached,
            lambda: f"unreadCount {expected}, last {count}",
            timeout=DELIVERY_DEADLINE_SECONDS,
        )

    async def send(self, to: str, body: str, client_message_id: str | None = None) -> Any:
        data = await self.data(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) "
            "{ id senderId recipientId body sentAt isRead readAt } }",
            {"input": {"recipientId": to, "body": body, "clientMessageId": client_message_id}},
        )
        return data["sendMessage"]


@pytest.fixture
def as_user(server: Server, http: httpx.AsyncClient) -> Any:
    def make(user: str) -> GraphQLClient:
        return GraphQLClient(http, server.token(user))

    return make


@pytest.fixture(scope="session")
def chromium() -> ChromiumBinary:
    """npm's headless Chromium (tests/e2e/chromium.py), or the one INBOXQL_CHROMIUM names."""
    try:
        return chromium_for_tests(CACHE_DIR)
    except ChromiumUnavailable as error:
        problem = str(error)
    # Outside the except block: the message alone, not the chained traceback.
    pytest.fail(f"the browser tests need Chromium: {problem}", pytrace=False)


@pytest.fixture
async def browser(chromium: ChromiumBinary) -> AsyncIterator[Browser]:
    """Headless Chromium driven by Playwright; the flags keep it off the network."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium.executable),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
                # Containers often give /dev/shm only 64 MB, too little for a renderer.
                "--disable-dev-shm-usage",
            ],
            env=chromium.launch_env(),
        )
        yield launched
        await launched.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where a browser test keeps its screenshots: test-artifacts/<test>/ in the checkout
    (git-ignored), emptied at the start of each run of that test, kept after it for people."""
    name: str = request.node.name
    folder: Path = REPO / "test-artifacts" / name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


# npm's graphql-ws client, run by node, for the subscriptions of more than one user at once.
NODE_CLIENT_PACKAGES = ["graphql-ws@6", "ws@8", "graphql@16"]


@pytest.fixture(scope="session")
def subscriber_script() -> Path:
    return installed_script("subscribe.mjs", NODE_CLIENT_PACKAGES, "node-client")


class NodeSubscription:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def next(self, timeout: float) -> Any:  # noqa: ASYNC109 -- each wait says its bound
        assert self.process.stdout is not None and self.process.stderr is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        assert line, (await self.process.stderr.read()).decode()
        payload = json.loads(line)
        assert "errors" not in payload, payload
        return payload["data"]


@pytest.fixture
def subscribe(
    server: Server, subscriber_script: Path
) -> Callable[[str, str], contextlib.AbstractAsyncContextManager[NodeSubscription]]:
    @contextlib.asynccontextmanager
    async def running(user: str, document: str) -> AsyncIterator[NodeSubscription]:
        process = await asyncio.create_subprocess_exec(
            TOOLS.node_binary(),
            str(subscriber_script),
            server.ws_url,
            server.token(user),
            document,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            yield NodeSubscription(process)
        finally:
            process.kill()
            await process.wait()

    return running
