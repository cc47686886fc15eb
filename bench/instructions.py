"""Instructions per request through the API layer's ASGI app, counted by valgrind's cachegrind
(no cache simulation). A count does not move with the machine's load, so a change can be
compared with what was there before while timings are noise. Each figure is the difference of
two runs (`--requests`, few and many), so start-up and imports cancel out. Slow: a few minutes
a document. Needs `valgrind` on PATH (a development tool; nothing else in the product uses it).

    uv run python -m bench.instructions [--requests 50,250] [--source DIR] [messages,...]

`--source` runs another checkout's code (e.g. a worktree of the commit before) with this
environment's packages, for a before/after in one go.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


# Run in the child, from the measured checkout's own modules (bench.in_process's request).
_LOOP = """
import asyncio, sys, orjson
from bench.api_layer import token_for
from bench.in_process import DOCUMENTS, _request, _scope
from bench.serve import FAKE_USER, fake_app

async def loop(name, requests):
    app = fake_app(response_cache=False)
    async with app.router.lifespan_context(app) as state:
        body = orjson.dumps({"query": DOCUMENTS[name]})
        scope = _scope(name, token_for(FAKE_USER), body, dict(state or {}))
        sent = []
        one = _request(app, scope, body, sent)
        for _ in range(requests):
            await one()
            sent.clear()

asyncio.run(loop(sys.argv[1], int(sys.argv[2])))
"""


def count(name: str, requests: int, source: Path) -> int:
    """Instructions the whole process ran for `requests` requests of document `name`."""
    command = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        sys.executable, "-c", _LOOP, name, str(requests),
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(source)}
    done = subprocess.run(
        command, cwd=source, env=env, capture_output=True, text=True, timeout=3600, check=True
    )
    found = _REFS.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {done.stderr[-500:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("documents", nargs="?", default="messages")
    parser.add_argument("--requests", default="50,250", help="the two runs' requests")
    parser.add_argument("--source", type=Path, default=REPO, help="the checkout to measure")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not on PATH")
    few, many = (int(n) for n in args.requests.split(","))
    for name in args.documents.split(","):
        per_request = (count(name, many, args.source) - count(name, few, args.source)) / (
            many - few
        )
        print(f"{name:14s} {per_request / 1e6:6.2f} M instructions a request", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
