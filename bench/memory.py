"""Where an idle subscription's memory goes: the subscriptions server (stack mode) under
tracemalloc, a heap snapshot before and after N idle `unreadCount` subscriptions.

    uv run python -m bench.memory [--subscriptions 2000] [--rss-only]

prints the growth by file and by line, and the RSS growth per subscription for comparison
(tracemalloc sees Python allocations only, and slows the server and inflates its RSS:
`--rss-only` runs the server without it and prints the RSS growth alone, the figure to
compare with target 4's).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.__main__ import CACHE_DIR
from bench.context import BenchContext
from bench.processes import running_module, serving
from bench.provision import provision
from bench.query_path import cache_lookups
from bench.subscriptions import _line
from services.local.stack import LocalStack

SNAPSHOT_SECONDS = 120.0


def _wait_for(path: Path) -> str:
    deadline = time.monotonic() + SNAPSHOT_SECONDS
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.5)  # polling for the server's snapshot file, bounded by the deadline
    raise RuntimeError("the server wrote no allocation snapshot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--rss-only", action="store_true", help="no tracemalloc: RSS alone")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="inboxql-memory-") as folder,
        LocalStack(Path(folder) / "stack", CACHE_DIR, persist=False) as stack,
    ):
        context = BenchContext(quick=False, log_dir=Path(folder), stack=stack)
        asyncio.run(provision(context))
        out = Path(folder) / "growth.txt"
        options = () if args.rss_only else ("--tracemalloc", str(out))
        with serving("stack", context.log_dir, env=context.server_env(), options=options) as server:
            # The same warm-up as target 4's: code paths loaded before the baseline.
            cache_lookups(server.url)
            if not args.rss_only:
                server.process.send_signal(signal.SIGUSR1)
            before = server.rss_kib()
            clients_args = ["--port", str(server.port), "--users", str(args.subscriptions)]
            clients_args += ["--prefix", f"bench-mem-{context.tag}-", "--count", "0"]
            with running_module("bench.ws_clients", clients_args) as clients:
                opened = _line(clients)
                after = server.rss_kib()
                growth = ""
                if not args.rss_only:
                    server.process.send_signal(signal.SIGUSR1)
                    growth = _wait_for(out)
    subscribed = opened["subscribed"]
    print(
        f"{subscribed} subscriptions: RSS {before} -> {after} KiB, "
        f"{1024 * (after - before) / max(subscribed, 1) / 1000:.1f} KB each"
    )
    print(growth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
