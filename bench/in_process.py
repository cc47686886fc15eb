"""CPU per request through the API layer's ASGI app, in this process: no sockets, no load
generator, no uvicorn. A steadier view of the schema's own cost than the HTTP figures on a
shared machine, for comparing a change with what was there before.

    uv run python -m bench.in_process [--requests 600] [--response-cache]
        [raw,messages,conversations,changes,changes20,unread]

Each document runs against bench.serve's seeded in-memory app (as target 1's server, the
response cache off unless asked for). Process CPU time is taken over 20 batches, and the mean
of the five cheapest is printed: a batch that another process's work slowed is left out. Each
is also shown against the executed inbox page measured in the same run (target 5's ratio);
`raw` is the raw route without uvicorn, for scale only: target 1's ratio needs HTTP on both
sides (`python -m bench --only 1`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.applications import Starlette

from bench.api_layer import token_for
from bench.documents import (
    CHANGES_PAGE_OF_20_QUERY,
    CHANGES_QUERY,
    CONVERSATIONS_QUERY,
    PAGE_QUERY,
    UNREAD_QUERY,
)
from bench.serve import FAKE_USER, fake_app

DOCUMENTS = {
    "messages": PAGE_QUERY,
    "conversations": CONVERSATIONS_QUERY,
    "changes": CHANGES_QUERY,
    "changes20": CHANGES_PAGE_OF_20_QUERY,
    "unread": UNREAD_QUERY,
}
BATCHES = 20
KEPT = 5


def _scope(name: str, token: str, body: bytes, state: dict[str, Any]) -> dict[str, Any]:
    path = "/raw" if name == "raw" else "/graphql"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET" if name == "raw" else "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": state,
    }


def _request(
    app: Starlette, scope: dict[str, Any], body: bytes, sent: list[MutableMapping[str, Any]]
) -> Callable[[], Awaitable[None]]:
    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def one() -> None:
        await app(dict(scope), receive, send)

    return one


async def measure(names: list[str], requests: int, *, response_cache: bool) -> dict[str, float]:
    """Microseconds of CPU per request, by document name."""
    app = fake_app(response_cache=response_cache)
    token = token_for(FAKE_USER)
    results: dict[str, float] = {}
    async with app.router.lifespan_context(app) as state:
        for name in names:
            body = orjson.dumps({"query": DOCUMENTS[name]}) if name != "raw" else b""
            scope = _scope(name, token, body, dict(state or {}))
            sent: list[MutableMapping[str, Any]] = []
            one = _request(app, scope, body, sent)
            await one()
            if b'"errors"' in b"".join(m.get("body", b"") for m in sent):
                raise RuntimeError(f"{name} answered with errors: {sent}")
            per_batch = max(1, requests // BATCHES)
            costs = []
            for _ in range(BATCHES):
                sent.clear()
                began = time.process_time()
                for _ in range(per_batch):
                    await one()
                costs.append((time.process_time() - began) / per_batch)
                sent.clear()
            results[name] = 1e6 * sum(sorted(costs)[:KEPT]) / KEPT
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.in_process", description=__doc__)
    parser.add_argument("documents", nargs="?", default="raw,messages,conversations,changes")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--response-cache", action="store_true")
    args = parser.parse_args(argv)
    names = ["raw", *(n for n in args.documents.split(",") if n != "raw")]
    unknown = [n for n in names if n != "raw" and n not in DOCUMENTS]
    if unknown:
        parser.error(f"unknown documents: {', '.join(unknown)}")
    results = asyncio.run(measure(names, args.requests, response_cache=args.response_cache))
    page = results.get("messages")
    for name, micros in results.items():
        against = (
            f"   {page / micros:6.1%} of messages(first: 20)" if page and name != "raw" else ""
        )
        print(f"{name:14s} {micros:8.0f} µs CPU a request{against}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
