"""What the response cache costs in memory: RSS after distinct documents over a 500 KB inbox.

    uv run python -m bench.response_cache_memory [--documents 300] [--first 100]

One user's inbox holds 100 messages of 5,000 characters. The user sends `--documents` distinct
queries for `messages(first: N)` (only the operation name differs, as in issue 12's finding 1),
each through InboxQL's HTTP layer in process, over in-memory fakes whose message cache copies
bodies the way Redis does (each read decodes fresh strings). Each configuration runs in a process
of its own, and prints the RSS growth over the same run with the cache off:

- `off`: no response cache, the baseline;
- `entries`: the policy before issue 12, answers kept as result objects in an LRU of 4,096
  entries shared by every user (modelled here, since it is gone from the code);
- `bytes`: today's cache with the default settings (a byte bound, a share per user, no answer
  above INBOXQL_RESPONSE_CACHE_MAX_ANSWER_BYTES).

`--first 100` gives ~510 KB answers (above the answer cap: never kept); `--first 40` gives
~200 KB answers, which show the per-user share at work.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.types import ExecutionResult

from bench.context import BENCH_JWT_SECRET
from resolvers.context import Context
from schema import build_schema
from schema.transport.request_body import GraphQLParams
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from services.disabled import NoLimit, NoSendLimit
from services.domain import MAX_BODY_CHARS, Message, MessageId, UserId, new_message_id
from services.message_codec import decode_message, encode_message
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeMessageStore, in_memory_app

READER = UserId("bench-reader")
WRITER = UserId("bench-writer")
MESSAGES = 100  # of MAX_BODY_CHARS each: a 500 KB inbox
LEGACY_ENTRIES = 4096
MODES = ("off", "entries", "bytes")


class CopyingMessageCache:
    """A MessageCache holding encoded messages, decoded on every read as from Redis."""

    def __init__(self) -> None:
        # None: a tombstone.
        self._data: dict[MessageId, str | None] = {}

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message | None]:
        found: dict[MessageId, Message | None] = {}
        for i in ids:
            if i in self._data:
                raw = self._data[i]
                found[i] = None if raw is None else decode_message(raw)
        return found

    async def put_many(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self._data.setdefault(message.id, encode_message(message))

    async def forget(self, ids: Sequence[MessageId]) -> None:
        for message_id in ids:
            self._data[message_id] = None


class EntryCappedCache(InboxResponseCache):
    """The policy before issue 12: result objects, at most `LEGACY_ENTRIES`, no byte bound."""

    def __init__(self) -> None:
        super().__init__(1, max_user_bytes=1, max_answer_bytes=1)
        self._results: OrderedDict[tuple[str, ...], tuple[int, ExecutionResult]] = OrderedDict()

    async def execute_or_reuse(
        self,
        context: Context,
        query: str,
        params: GraphQLParams,
        execute: Callable[[], Awaitable[ExecutionResult]],
    ) -> ExecutionResult:
        assert context.user_id is not None
        key = self.key(context.user_id, query, params.operation_name, params.variables)
        version = (await context.app.inbox.unread_counter(context.user_id)).version
        kept = self._results.get(key) if key is not None else None
        if kept is not None and kept[0] == version:
            return kept[1]
        result = await execute()
        if key is not None and not result.errors:
            self._results[key] = (version, result)
            while len(self._results) > LEGACY_ENTRIES:
                self._results.popitem(last=False)
        return result


def with_state(asgi: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    """What the lifespan would put in every request's scope."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await asgi(scope, receive, send)

    return wrapped


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def measure(mode: str, documents: int, first: int) -> dict[str, Any]:
    settings = Settings(stack="external", jwt_secret=BENCH_JWT_SECRET)
    store = FakeMessageStore()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(MESSAGES):
        at = start + timedelta(seconds=n)
        body = (f"{n:04d} " * MAX_BODY_CHARS)[:MAX_BODY_CHARS]
        await store.deliver(Message(new_message_id(at), WRITER, READER, body, at))
    cache: InboxResponseCache | None = {
        "off": None,
        "entries": EntryCappedCache(),
        "bytes": InboxResponseCache.configured(settings),
    }[mode]
    graphql = InboxGraphQL(build_schema(), graphiql_headers=None, response_cache=cache)
    token = HmacTokenVerifier(BENCH_JWT_SECRET).issue(READER)
    headers = {"Authorization": f"Bearer {token}"}
    # No Redis here: the limits are off, as in every bench run (bench/context.py).
    async with in_memory_app(
        settings,
        store=store,
        cache=CopyingMessageCache(),
        send_limiter=NoSendLimit(),
        read_limiter=NoLimit(),
        registration_quota=NoLimit(),
    ) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            selection = f"messages(first: {first}) {{ edges {{ node {{ id body isRead }} }} }}"

            async def send(n: int) -> int:
                query = f"query Page{n} {{ {selection} }}"  # only the name differs
                response = await http.post("/graphql", json={"query": query}, headers=headers)
                assert response.status_code == 200 and "errors" not in response.json(), (
                    response.text[:300]
                )
                return len(response.content)

            answer_bytes = await send(documents)  # warm: schema, parsers, the message cache
            gc.collect()
            before = rss_kib()
            for n in range(documents):
                await send(n)
            gc.collect()
            after = rss_kib()
    kept = len(cache) if isinstance(cache, InboxResponseCache) else 0
    if isinstance(cache, EntryCappedCache):
        kept = len(cache._results)
    return {"mode": mode, "growth_kib": after - before, "answer_bytes": answer_bytes, "kept": kept}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.response_cache_memory")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--first", type=int, default=100, help="messages per answer (<= 100)")
    parser.add_argument("--mode", choices=MODES, help="measure one configuration here")
    args = parser.parse_args(argv)
    if args.mode is not None:
        print(json.dumps(asyncio.run(measure(args.mode, args.documents, args.first))))
        return 0
    rows = []
    for mode in MODES:
        command = [sys.executable, "-m", "bench.response_cache_memory", "--mode", mode]
        command += ["--documents", str(args.documents), "--first", str(args.first)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout))
    baseline = max(rows[0]["growth_kib"], 1)
    print(
        f"{args.documents} distinct documents, answers of {rows[0]['answer_bytes']:,} bytes "
        f"({args.first} messages of {MAX_BODY_CHARS} characters), one user:"
    )
    for row in rows:
        print(
            f"  {row['mode']:>8}: RSS +{row['growth_kib'] / 1024:8.1f} MiB "
            f"({row['growth_kib'] / baseline:6.1f}x the cache-off growth), "
            f"{row['kept']} answers kept"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
