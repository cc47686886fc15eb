"""What tracing costs a request in process, in instructions (valgrind's cachegrind, as
bench/instructions.py counts them): the same document through the fake server's ASGI app with
tracing off, and on with every span kept by an in-memory exporter (docs/tracing.md). Each figure
is the difference of two runs, so start-up and imports cancel out. Slow: minutes a document.

    uv run python -m bench.tracing_cost [--requests 50,250] [messages,...]

The fakes make no spans of their own: on, a request here is its operation's spans (the
operation, Strawberry's parse and validation), without the queue's, DynamoDB's or Redis's.
"""

from __future__ import annotations

import argparse
import os
import shutil

from bench.instructions import REPO, under_valgrind

# Run in the child: `traced` is "on" or "off".
_LOOP = """
import asyncio, sys, orjson
from bench.api_layer import token_for
from bench.in_process import DOCUMENTS, _request, _scope
from bench.serve import FAKE_USER, fake_app
from services.observability.tracing import Tracing, sdk_provider

async def loop(name, requests, traced):
    tracing = None
    if traced == "on":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        tracing = Tracing.of(sdk_provider(exporter, batch=False))
    app = fake_app(response_cache=False, tracing=tracing)
    async with app.router.lifespan_context(app) as state:
        body = orjson.dumps({"query": DOCUMENTS[name]})
        scope = _scope(name, token_for(FAKE_USER), body, dict(state or {}))
        sent = []
        one = _request(app, scope, body, sent)
        for _ in range(requests):
            await one()
            sent.clear()
            if tracing is not None:
                exporter.clear()  # kept spans would grow the heap, not the request's work

asyncio.run(loop(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


def count(name: str, requests: int, traced: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(REPO)
    return under_valgrind(["-c", _LOOP, name, str(requests), traced], cwd=REPO, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing_cost", description=__doc__)
    parser.add_argument("documents", nargs="?", default="messages")
    parser.add_argument("--requests", default="50,250", help="the two runs' requests")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not on PATH")
    few, many = (int(n) for n in args.requests.split(","))
    for name in args.documents.split(","):
        figures = {}
        for traced in ("off", "on"):
            difference = count(name, many, traced) - count(name, few, traced)
            figures[traced] = difference / (many - few)
        extra = figures["on"] - figures["off"]
        print(
            f"{name:14s} off {figures['off'] / 1e6:6.3f} M, on {figures['on'] / 1e6:6.3f} M "
            f"instructions a request: +{extra / 1e3:.0f} k ({extra / figures['off']:+.1%})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
