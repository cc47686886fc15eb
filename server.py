"""InboxQL's entry point: builds the Starlette app and runs it under uvicorn.

uv run server.py                 serve on the embedded local stack (the default)
uv run server.py worker          a delivery worker only
uv run server.py token alice     print a token for user `alice`
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from commands import (
    attached,
    cost_command,
    parse_args,
    print_schema,
    print_token,
    read_settings,
    run_dlq,
    run_seed,
    run_worker,
)
from schema import build_schema
from schema.transport.graphiql import example_operations
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.domain import UserId
from services.local.npm_assets import GRAPHIQL, ensure_bundle
from services.local.stack import LocalStack, LocalStackError, StackBusy
from services.observability.log_format import configure_logging
from services.observability.metrics import PrometheusMetrics
from services.observability.tracing import Tracing, process_tracing
from services.settings import Settings, SettingsError
from services.tokens.verifiers import hmac_tokens
from web.allowed_hosts import AllowedHostsMiddleware
from web.body_deadline import BodyDeadlineMiddleware
from web.demo import demo_routes
from web.probes import healthz, metrics_page, readyz
from web.request_ids import RequestIdMiddleware
from web.uvicorn_config import serving_loop, uvicorn_config

log = logging.getLogger("inboxql")

DEMO_USER = UserId("alice")
ASSET_PATH = "/graphiql-assets"


def create_app(
    settings: Settings, endpoints: AwsEndpoints, *, workers: int, tracing: Tracing | None = None
) -> Starlette:
    """`tracing`: by default the settings' (docs/tracing.md), for the schema and every part."""
    provision = settings.stack == "local"
    tracing = tracing or process_tracing(settings)
    # Per app, never prometheus_client's global registry: tests build many apps in a process.
    metrics = PrometheusMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with bootstrap(
            settings,
            endpoints,
            workers=workers,
            provision=provision,
            metrics=metrics,
            tracing=tracing,
        ) as app:
            with metrics.collector_pauses.timing():
                yield {"inboxql": app}

    # Dev tokens (GraphiQL's, the demo page's) need a secret; a JWKS-only server issues none.
    tokens = hmac_tokens(settings)
    graphiql_headers = None
    if settings.graphiql:
        graphiql_headers = {}
        if settings.stack == "local" and tokens is not None:
            graphiql_headers = {"Authorization": f"Bearer {tokens.issue(DEMO_USER)}"}
    routes: list[BaseRoute] = []
    asset_urls = None
    if settings.graphiql:
        assets = ensure_bundle(settings.cache_dir, GRAPHIQL, settings.local_tools)
        if assets is not None:
            routes.append(Mount(ASSET_PATH, StaticFiles(directory=assets), name="graphiql"))
            asset_urls = {name: f"{ASSET_PATH}/{name}" for name in GRAPHIQL.files}
    graphql = InboxGraphQL(
        build_schema(metrics, introspection=settings.introspection, tracing=tracing),
        graphiql_headers=graphiql_headers,
        graphiql_assets=asset_urls,
        graphiql_tabs=example_operations() if settings.graphiql else (),
        response_cache=InboxResponseCache.configured(settings),
    )

    if settings.demo and tokens is not None:
        routes += demo_routes(settings, tokens)
    elif settings.demo:
        log.warning("demo page off: it issues HS256 tokens and INBOXQL_JWT_SECRET is not set")
    routes += [
        # Every method: the view refuses the others with a GraphQL-shaped 405 and Allow.
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_page(metrics)),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(AllowedHostsMiddleware, allowed=settings.allowed_hosts),
        Middleware(BodyDeadlineMiddleware, seconds=settings.body_timeout_seconds),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def create_worker_app(settings: Settings, endpoints: AwsEndpoints) -> Starlette:
    """A delivery worker with an HTTP side for scrapers only: /metrics and /healthz."""
    metrics = PrometheusMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with bootstrap(
            settings,
            endpoints,
            role="worker",
            workers=settings.worker_concurrency,
            metrics=metrics,
        ) as app:
            log.info("delivery worker running; metrics at /metrics")
            with metrics.collector_pauses.timing():
                yield {"inboxql": app}

    routes = [Route("/metrics", metrics_page(metrics)), Route("/healthz", healthz)]
    return Starlette(routes=routes, lifespan=lifespan)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Neither needs settings nor a stack: pure output from code and files.
    if args.command == "cost":
        return cost_command(args)
    if args.command == "schema":
        return print_schema()
    try:
        settings = read_settings(args.stack, os.environ)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    return run_command(args, settings)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "token":
        return print_token(settings, args.user, args.ttl_hours)
    if args.command == "worker" and args.metrics_port is not None:
        return serve_worker(settings, args.host, args.metrics_port)
    if args.command == "worker":
        return run_worker(settings)
    if args.command == "seed":
        return run_seed(settings, args.users, args.messages)
    if args.command == "dlq":
        return run_dlq(settings, args.action, args.limit)
    workers = 0 if args.no_worker else settings.worker_concurrency
    return serve(settings, args.host, args.port, workers=workers)


@contextlib.contextmanager
def stack_for(settings: Settings) -> Iterator[tuple[Settings, AwsEndpoints]]:
    """The endpoints to use: the embedded stack's (started here) or the configured ones."""
    if settings.stack == "external":
        yield settings, AwsEndpoints()
        return
    stack = LocalStack(
        settings.data_dir,
        settings.cache_dir,
        sqs=settings.sqs_emulator,
        tools=settings.local_tools,
    )
    with stack as endpoints:
        yield (
            settings.with_overrides(redis_url=endpoints.redis_url),
            AwsEndpoints(dynamodb=endpoints.dynamodb_url, sqs=endpoints.sqs_url),
        )


def serve(settings: Settings, host: str, port: int, *, workers: int) -> int:
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets
    # the local stack's children be stopped on the way out instead of orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Before the local stack starts: a taken port would otherwise be found only once it runs.
    taken = port_taken(host, port)
    if taken is not None:
        print(
            f"cannot serve on {host}:{port}: {taken}; choose another with --port", file=sys.stderr
        )
        return 2
    try:
        with stack_for(settings) as (effective, endpoints):
            app = create_app(effective, endpoints, workers=workers)
            banner(effective, endpoints, host, port)
            return run_uvicorn(app, effective, host, port)
    except StackBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except LocalStackError as error:
        print(f"error: the local stack did not start: {error}", file=sys.stderr)
        return 1


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` can't be listened on, or None if it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"{host} does not resolve ({error.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn will: a port in TIME_WAIT after a restart is not taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} is already in use"
            return error.strerror or str(error)
    return None


def serve_worker(settings: Settings, host: str, port: int) -> int:
    """`worker --metrics-port`: uvicorn owns the signals, the lifespan drains the workers."""
    found = attached(settings)
    if found is None:
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    effective, endpoints = found
    return run_uvicorn(create_worker_app(effective, endpoints), effective, host, port)


def run_uvicorn(app: ASGIApp, settings: Settings, host: str, port: int) -> int:
    config = uvicorn_config(app, settings, host, port)
    server = uvicorn.Server(config)
    # Ctrl-C: uvicorn has shut down cleanly by now (the lifespan stopped every client), and
    # raises the signal again for whoever handled it before; that is the runner's handler,
    # whose KeyboardInterrupt would print a traceback for an ordinary stop.
    with contextlib.suppress(KeyboardInterrupt), serving_loop(config) as runner:
        runner.run(server.serve())
    return 0 if server.started else 1


def banner(settings: Settings, endpoints: AwsEndpoints, host: str, port: int) -> None:
    url = f"http://{host}:{port}/graphql"
    lines = [f"InboxQL serving {url} (stack: {settings.stack})"]
    if settings.stack == "local":
        lines += [
            f"  DynamoDB {endpoints.dynamodb}  SQS {endpoints.sqs}  Redis {settings.redis_url}",
            f"  data dir: {settings.data_dir.resolve()}",
            "  get a token: uv run server.py token alice",
        ]
    if settings.graphiql:
        lines.append(f"  GraphiQL: open {url} in a browser")
    if settings.demo:
        lines.append(f"  demo chat: open http://{host}:{port}/ in a browser")
    log.info("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
