"""Instructions per request through the API layer's ASGI app, counted by valgrind's cachegrind
(no cache simulation). A count does not move with the machine's load, so a change can be
compared with what was there before while timings are noise. Each figure is the difference of
two runs (`--requests`, few and many), so start-up and imports cancel out. Slow: a few minutes
a document. Needs `valgrind` on PATH (a development tool; nothing else in the product uses it).

    uv run python -m bench.instructions [--requests 50,250] [--source DIR] [--over-http]
                                        [messages,...]

`--over-http` counts the server of target 1 instead (`bench.serve fake`, uvicorn with uvloop
and httptools, the response cache off) under load from this process over one keep-alive
connection: what a request costs with its HTTP parsing, its socket calls and the event loop
(not the kernel's part of them). `raw` names target 1's baseline route there.

`--source` runs another checkout's code (e.g. a worktree of the commit before) with this
environment's packages, for a before/after in one go.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.api_layer import token_for
from bench.in_process import DOCUMENTS
from bench.processes import free_port
from bench.serve import FAKE_USER

REPO = Path(__file__).resolve().parents[1]
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
# Instructions only: no cache simulation, no output file.
_CACHEGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


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
    env = os.environ | {"PYTHONPATH": str(source)}
    return under_valgrind(["-c", _LOOP, name, str(requests)], cwd=source, env=env)


def under_valgrind(python_args: list[str], *, cwd: Path, env: dict[str, str]) -> int:
    """Instructions a Python process with these arguments ran, start to exit (cachegrind)."""
    command = [*_CACHEGRIND, sys.executable, *python_args]
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600, check=True
    )
    return _instructions(done.stderr)


def count_over_http(name: str, requests: int, source: Path) -> int:
    """Instructions target 1's server process ran, from start to exit, having answered
    `requests` requests of document `name` (or of the raw route)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        *_CACHEGRIND, sys.executable,
        "-m", "bench.serve", "--port", str(port), "--no-response-cache", "fake",
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(source)}
    with tempfile.TemporaryFile("w+") as stderr:
        server = subprocess.Popen(command, cwd=source, env=env, stderr=stderr)
        try:
            with httpx.Client(timeout=120) as client:
                _wait_ready(client, url, server)
                headers = {"authorization": f"Bearer {token_for(FAKE_USER)}"}
                for _ in range(requests):
                    if name == "raw":
                        answer = client.get(f"{url}/raw")
                    else:
                        query = {"query": DOCUMENTS[name]}
                        answer = client.post(f"{url}/graphql", json=query, headers=headers)
                    if answer.status_code != 200 or b'"errors"' in answer.content:
                        raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:300]}")
            server.send_signal(signal.SIGINT)
            server.wait(timeout=600)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        stderr.seek(0)
        return _instructions(stderr.read())


def _wait_ready(client: httpx.Client, url: str, server: subprocess.Popen[bytes]) -> None:
    # Python under valgrind starts in tens of seconds.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}) before it answered")
        try:
            client.get(f"{url}/raw", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    raise RuntimeError("the server did not answer within 600 s")


def _instructions(valgrind_output: str) -> int:
    found = _REFS.search(valgrind_output)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {valgrind_output[-500:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("documents", nargs="?", default="messages")
    parser.add_argument("--requests", default="50,250", help="the two runs' requests")
    parser.add_argument("--source", type=Path, default=REPO, help="the checkout to measure")
    parser.add_argument("--over-http", action="store_true", help="target 1's server, over HTTP")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not on PATH")
    few, many = (int(n) for n in args.requests.split(","))
    measure = count_over_http if args.over_http else count
    where = "over HTTP" if args.over_http else "in process"
    for name in args.documents.split(","):
        per_request = (measure(name, many, args.source) - measure(name, few, args.source)) / (
            many - few
        )
        print(f"{name:14s} {per_request / 1e6:6.2f} M instructions a request, {where}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
