"""Where the executed inbox page's CPU goes end to end: `messages(first: 20)` on `bench.serve
stack` (response cache off) on a local stack of its own, under load, sampled by py-spy
attached to the server process, each sample given to the innermost layer it is in:

    uv run python -m bench.stack_profile [--seconds 12] [--raw F]

Prints each layer's share of the samples and its CPU per page (the server's measured CPU per
page times the share). py-spy comes with the dev dependencies (`uv run` puts it on PATH); it
needs permission to attach (ptrace).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from bench.api_layer import CONCURRENCY, check_answers, token_for
from bench.context import BenchContext
from bench.cpu import cpu_turn
from bench.documents import PAGE_QUERY
from bench.processes import http_load, serving
from bench.query_path import seed
from services.domain import UserId
from services.local.stack import LocalStack

CACHE_DIR = Path.home() / ".cache" / "inboxql"
# Innermost first wins: a sample is the first of these its stack holds, from the leaf up.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("parameter validation", ("botocore/validate.py",)),
    ("request serialisation", ("botocore/serialize.py",)),
    ("endpoint resolution", ("endpoint_provider.py", "regions.py", "_resolve_endpoint_ruleset")),
    ("credentials", ("credentials.py",)),
    ("signing (SigV4)", ("botocore/auth.py", "signers.py")),
    ("response parsing", ("parsers.py",)),
    ("checksums (crc32, request checksums)", ("httpchecksum.py", "special.py", "crc32")),
    ("retry handler", ("retries/",)),
    ("redis-py", ("redis/",)),
    ("aiohttp", ("aiohttp/", "multidict", "yarl/")),
    ("AWSRequest/response objects", ("awsrequest.py", "botocore/model.py", "response.py")),
    ("botocore hooks/events", ("hooks.py", "handlers.py", "botocore/utils.py", "useragent.py")),
    ("aiobotocore's HTTP session (header copies, errors)", ("aiobotocore/httpsession.py",)),
    ("aiobotocore client/endpoint glue", ("aiobotocore/", "botocore/client.py", "endpoint.py")),
    ("the lean path's own code (orjson, its calls)", ("(services/dynamodb/lean_client.py",)),
    ("InboxQL services/", ("(services/",)),
    ("InboxQL schema/ and resolvers/", ("(schema/", "(resolvers/")),
    ("Strawberry and graphql-core", ("strawberry/", "graphql/")),
    (
        "HTTP server (uvicorn, starlette, httptools)",
        ("uvicorn/", "starlette/", "httptools", "(web/"),
    ),
    ("event loop and the rest", ("",)),
]


def layer_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for layer, needles in LAYERS[:-1]:
            if any(needle in frame for needle in needles):
                return layer
    return LAYERS[-1][0]


def breakdown(raw: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[layer_of(stack)] += int(count)
    return counts


def profile(seconds: float, raw: Path) -> tuple[Counter[str], float]:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        with LocalStack(data_dir / "stack", CACHE_DIR, persist=False) as stack:
            context = BenchContext(quick=False, log_dir=data_dir, stack=stack)
            reader = UserId(f"bench-reader-{context.tag}")
            asyncio.run(seed(context, reader))
            env = {**context.server_env(), "INBOXQL_RESPONSE_CACHE_BYTES": "0"}
            token = token_for(reader)
            with serving("stack", data_dir, env=env, workers=0) as server:
                check_answers(server.url, token, PAGE_QUERY)
                command = ["py-spy", "record", "--pid", str(server.process.pid)]
                command += ["--duration", str(int(seconds)), "--rate", "250", "--format", "raw"]
                command += ["--output", str(raw), "--nonblocking"]
                with cpu_turn(server.process.pid) as turn:
                    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL)
                    result = http_load(
                        server.port,
                        path="/graphql",
                        body={"query": PAGE_QUERY},
                        token=token,
                        concurrency=CONCURRENCY,
                        seconds=seconds + 2,
                    )
                    spy.wait(timeout=seconds + 60)
    return breakdown(raw), 1000 * turn.seconds / result["completed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--raw", type=Path, default=Path(tempfile.gettempdir()) / "page.raw")
    parser.add_argument(
        "--from-raw", type=float, metavar="CPU_MS", help="only read --raw, with this CPU per page"
    )
    args = parser.parse_args()
    if args.from_raw is not None:
        counts, cpu_ms = breakdown(args.raw), args.from_raw
    else:
        counts, cpu_ms = profile(args.seconds, args.raw)
    total = sum(counts.values())
    print(f"{total} samples; server CPU per page {cpu_ms:.2f} ms (raw stacks: {args.raw})")
    for layer, count in counts.most_common():
        print(f"{count / total:7.1%} {cpu_ms * count / total:6.2f} ms  {layer}")


if __name__ == "__main__":
    main()
