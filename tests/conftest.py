"""The local stack every integration and end-to-end test talks to: started once per session,
with the same launcher the server uses, on free loopback ports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from server import create_app
from services.app import App
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.local.stack import LocalStack, StackEndpoints
from services.settings import Settings

CACHE_DIR = Path.home() / ".cache" / "inboxql"
TEST_JWT_SECRET = "inboxql-test-secret-with-enough-bytes-for-hs256"


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # As the server would: INBOXQL_SQS_EMULATOR and the INBOXQL_* tool paths apply here too.
    settings = Settings.from_env()
    launcher = LocalStack(
        tmp_path_factory.mktemp("stack"),
        CACHE_DIR,
        persist=False,
        sqs=settings.sqs_emulator,
        tools=settings.local_tools,
    )
    with launcher:
        yield launcher


@pytest.fixture(scope="session")
def stack(local_stack: LocalStack) -> StackEndpoints:
    return local_stack.start()


@pytest.fixture(scope="session")
def session_tag() -> str:
    return uuid.uuid4().hex[:8]


def stack_settings(stack: StackEndpoints, tag: str, **overrides: object) -> Settings:
    base = Settings(
        stack="external",
        jwt_secret=TEST_JWT_SECRET,
        redis_url=stack.redis_url,
        table_name=f"inboxql-{tag}",
        queue_name=f"inboxql-deliveries-{tag}",
        dead_letter_queue_name=f"inboxql-deliveries-dlq-{tag}",
    )
    return base.with_overrides(**overrides)


def external_env(stack: StackEndpoints, settings: Settings) -> dict[str, str]:
    """The variables that point an external-mode InboxQL (a server process, a worker, the
    Lambda handler) at the session's stack and at `settings`' table and queues."""
    return {
        "INBOXQL_STACK": "external",
        "INBOXQL_JWT_SECRET": TEST_JWT_SECRET,
        "INBOXQL_TABLE": settings.table_name,
        "INBOXQL_QUEUE": settings.queue_name,
        "INBOXQL_DLQ": settings.dead_letter_queue_name,
        "REDIS_URL": stack.redis_url,
        "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb_url,
        "AWS_ENDPOINT_URL_SQS": stack.sqs_url,
        "AWS_ACCESS_KEY_ID": "inboxql",
        "AWS_SECRET_ACCESS_KEY": "inboxql",
        "AWS_REGION": settings.aws_region,
    }


def stack_endpoints(stack: StackEndpoints) -> AwsEndpoints:
    return AwsEndpoints(dynamodb=stack.dynamodb_url, sqs=stack.sqs_url)


@pytest.fixture
async def app(stack: StackEndpoints, session_tag: str) -> AsyncIterator[App]:
    """Real adapters on the local stack, no delivery worker: tests drive delivery themselves.
    Its own queue, so that no other test's worker takes its messages."""
    settings = stack_settings(stack, session_tag, queue_name=f"q-{uuid.uuid4().hex[:12]}")
    async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True) as built:
        yield built


def new_user(prefix: str = "user") -> str:
    """Users are unique per test, so tests sharing one table never see each other's data."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def client_without_lifespan(settings: Settings) -> httpx.AsyncClient:
    """An in-process client of `create_app(settings)` whose lifespan never runs: for routes
    that need no DynamoDB, SQS or Redis client (the IDE page, /healthz, headers)."""
    app = create_app(settings, AwsEndpoints(), workers=0)

    async def without_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = {"inboxql": None}
        await app(scope, receive, send)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=without_lifespan), base_url="http://localhost"
    )
