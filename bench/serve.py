"""The server a benchmark loads, run as its own process under uvicorn (uvloop + httptools).

    python -m bench.serve --port P fake     InboxQL's schema and HTTP layer over in-memory fakes
    python -m bench.serve --port P stack    `server.py`'s app on the stack INBOXQL_* points at
    python -m bench.serve --port P worker   `server.py worker --metrics-port`'s app: delivery
                                            loops only (INBOXQL_WORKER_CONCURRENCY of them)

Each also serves `GET /raw`: precomputed JSON from a bare Starlette route, the baseline every
API figure is divided by, behind the same middleware and server settings. The fake server
seeds `FAKE_USER` before it answers: `FAKE_MESSAGES` messages from `FAKE_SENDER` (the newest,
so every inbox page of 20 is theirs) and, before them, `OTHER_SENDERS` more conversations with
some marked read, so that the conversation list has more than 20 and more than 100 changes
follow version 0 (`bench/documents.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from pyinstrument import Profiler
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from bench.context import BENCH_JWT_SECRET
from bench.processes import raise_file_limit
from schema import build_schema
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from server import create_app, create_worker_app
from services.app import App
from services.aws import AwsEndpoints
from services.disabled import NoLimit, NoSendLimit
from services.domain import Message, UserId, new_message_id
from services.observability.tracing import Tracing
from services.settings import Settings
from services.tokens.verified_tokens import VerifiedTokens
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeMessageStore, in_memory_app
from web.request_ids import RequestIdMiddleware
from web.uvicorn_config import WEBSOCKETS, serving_loop

FAKE_USER = UserId("bench-reader")
FAKE_SENDER = UserId("bench-writer")
FAKE_MESSAGES = 60
OTHER_SENDERS = 24
MESSAGES_PER_OTHER_SENDER = 5
BODY = "lunch tomorrow? the deploy went fine, but the dashboard still shows yesterday's numbers"
# What a 20-message page weighs, so the raw route sends as many bytes as the query answers.
RAW_BODY = orjson.dumps(
    {
        "data": {
            "messages": {
                "edges": [
                    {"cursor": f"cursor-{i:04d}", "node": {"id": f"m{i}", "body": BODY}}
                    for i in range(20)
                ],
                "pageInfo": {"hasNextPage": True, "endCursor": "cursor-0019"},
            }
        }
    }
)


async def raw(_: Request) -> Response:
    return Response(RAW_BODY, media_type="application/json")


@contextlib.asynccontextmanager
async def seeded_fake_app(settings: Settings) -> AsyncIterator[App]:
    """The api role through the composition root, its store and queue in memory, seeded."""
    store = FakeMessageStore()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await seed_other_conversations(store, start - timedelta(days=1))
    for n in range(FAKE_MESSAGES):
        at = start + timedelta(seconds=n)
        await store.deliver(Message(new_message_id(at), FAKE_SENDER, FAKE_USER, BODY, at))
    async with in_memory_app(
        settings,
        store=store,
        # As bootstrap builds it: tokens verified once, then remembered until they expire.
        tokens=VerifiedTokens(HmacTokenVerifier(BENCH_JWT_SECRET), leeway_seconds=30),
        # No Redis here: the limits are off, as in every bench run (bench/context.py).
        send_limiter=NoSendLimit(),
        read_limiter=NoLimit(),
        registration_quota=NoLimit(),
    ) as app:
        yield app


async def seed_other_conversations(store: FakeMessageStore, start: datetime) -> None:
    """Older than every `FAKE_SENDER` message, so the inbox page is unchanged. Some are read,
    by id or as a whole conversation, as a user does: the change log then holds every kind of
    read event among the deliveries, and the list a mix of read and unread conversations."""
    at = start
    for n in range(OTHER_SENDERS):
        sender = UserId(f"bench-friend-{n:02d}")
        delivered = []
        for _ in range(MESSAGES_PER_OTHER_SENDER):
            at += timedelta(seconds=1)
            message = Message(new_message_id(at), sender, FAKE_USER, BODY, at)
            await store.deliver(message)
            delivered.append(message.id)
        if n % 3 == 0:
            await store.mark_conversation_read(FAKE_USER, sender, at, list_limit=100)
        elif n % 4 == 1:
            await store.mark_read(FAKE_USER, delivered[:2], at)


def fake_app(*, response_cache: bool = True, tracing: Tracing | None = None) -> Starlette:
    """`tracing`: the operation's spans (bench/tracing_cost.py); the fakes have none."""
    settings = Settings(stack="external", jwt_secret=BENCH_JWT_SECRET)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with seeded_fake_app(settings) as app:
            yield {"inboxql": app}

    # As server.py builds it from the default settings.
    cache = InboxResponseCache.configured(settings) if response_cache else None
    schema = build_schema(tracing=tracing)
    graphql = InboxGraphQL(schema, graphiql_headers=None, response_cache=cache)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/raw", raw),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(RequestIdMiddleware)])


def stack_app(workers: int) -> Starlette:
    settings = Settings.from_env().with_overrides(graphiql=False, demo=False)
    app = create_app(settings, AwsEndpoints(), workers=workers)
    app.router.routes.append(Route("/raw", raw))
    return app


def worker_app() -> Starlette:
    """A delivery worker alone, as `server.py worker --metrics-port` builds it; `/raw` only
    tells the bench it is up (its loops start before it answers)."""
    app = create_worker_app(Settings.from_env(), AwsEndpoints())
    app.router.routes.append(Route("/raw", raw))
    return app


def trace_allocations(out: Path) -> None:
    """Each SIGUSR1 snapshots the heap; from the second on, what grew since the first is
    written to `out` by file and by line."""
    tracemalloc.start(1)
    snapshots: list[tracemalloc.Snapshot] = []

    def snapshot(*_: object) -> None:
        snapshots.append(tracemalloc.take_snapshot())
        if len(snapshots) < 2:
            return
        lines = []
        for key in ("filename", "lineno"):
            lines.append(f"--- growth by {key}")
            for stat in snapshots[-1].compare_to(snapshots[0], key)[:25]:
                lines.append(str(stat))
        out.write_text("\n".join(lines) + "\n")

    signal.signal(signal.SIGUSR1, snapshot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2, help="delivery loops (stack mode)")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile here on exit")
    parser.add_argument(
        "--no-response-cache", action="store_true", help="fake mode: execute every query"
    )
    parser.add_argument("--tracemalloc", type=Path, help="see trace_allocations")
    parser.add_argument("mode", choices=("fake", "stack", "worker"))
    args = parser.parse_args(argv)
    raise_file_limit()
    if args.tracemalloc is not None:
        trace_allocations(args.tracemalloc)
    if args.mode == "fake":
        app = fake_app(response_cache=not args.no_response_cache)
    elif args.mode == "worker":
        app = worker_app()
    else:
        app = stack_app(args.workers)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # One line per request would be the server's main cost at these rates.
        access_log=False,
        log_level="warning",
        backlog=16384,
        # As the product serves them: its WebSocket protocol and one keep-alive.
        **WEBSOCKETS,
    )
    server = uvicorn.Server(config)
    if args.profile is None:
        with serving_loop(config) as runner:
            runner.run(server.serve())
    else:
        # uvicorn re-raises SIGTERM after its graceful shutdown: as SystemExit, the profile
        # below is still written.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        try:
            with serving_loop(config) as runner:
                runner.run(server.serve())
        finally:
            profiler.stop()
            args.profile.write_text(profiler.output_text(unicode=True, color=False))
            if profiler.last_session is not None:
                profiler.last_session.save(str(args.profile.with_suffix(".pyisession")))
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
