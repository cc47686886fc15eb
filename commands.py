"""The `server.py` command line: its arguments, and the commands besides serving (token,
worker, seed, schema, dlq, cost)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from schema import build_schema
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.cost.assumptions import CAPACITY_MODES, TABLE_CLASSES, Assumptions
from services.cost.chart import ChartLibraryMissing, write_cost_chart
from services.cost.report import cost_report, cost_tiers
from services.domain import UserId, is_user_id
from services.local.stack import read_running_stack
from services.seeding import seed
from services.settings import SETTINGS_HELP, Settings
from services.sqs.dead_letters import DeadLetterQueue
from services.tokens.verifiers import hmac_tokens

log = logging.getLogger("inboxql")


def read_settings(stack: str | None, environ: Mapping[str, str]) -> Settings:
    """The settings, with `--stack` standing for INBOXQL_STACK. Applied before they are read,
    since the defaults that differ by stack (the demo page and its tokens, GraphiQL, the
    allowed hosts, keep-alive) follow it: applied after, `--stack external` kept local mode's."""
    return Settings.from_env({**environ, "INBOXQL_STACK": stack} if stack else environ)


def parse_args(argv: list[str]) -> argparse.Namespace:
    settings_help = "\n".join(
        f"  {name:<28} {default:<26} {meaning}" for name, default, meaning in SETTINGS_HELP
    )
    parser = argparse.ArgumentParser(
        prog="server.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"settings (environment variable, default, meaning):\n{settings_help}",
        description="InboxQL: a GraphQL messaging API. Settings come from INBOXQL_* variables "
        "(see README); these flags override them.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--stack",
        choices=("local", "external"),
        help="local: start DynamoDB Local, SQS and Redis as children (default); "
        "external: use AWS / REDIS_URL as configured (INBOXQL_STACK)",
    )
    parser.add_argument(
        "--no-worker", action="store_true", help="serve the API only; run workers elsewhere"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve the API with a delivery worker (the default)")
    worker = commands.add_parser("worker", help="run a delivery worker only")
    worker.add_argument(
        "--metrics-port", type=int, help="serve /metrics and /healthz on this port (--host)"
    )
    token = commands.add_parser("token", help="print a bearer token for USER")
    token.add_argument("user", metavar="USER")
    token.add_argument("--ttl-hours", type=float, default=24 * 30, help="validity (720 h)")
    seed = commands.add_parser(
        "seed", help="fill the running stack with demo users and messages (with progress)"
    )
    seed.add_argument("--users", type=int, default=8, help="how many users (8)")
    seed.add_argument("--messages", type=int, default=500, help="how many messages (500)")
    commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    dlq = commands.add_parser("dlq", help="list the dead-letter queue, or redrive it")
    dlq.add_argument("action", choices=("list", "redrive"))
    dlq.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    cost = commands.add_parser("cost", help="monthly AWS cost per number of users, per service")
    cost.add_argument(
        "--users", type=int, nargs="+", default=[1_000, 10_000, 1_000_000], help="tiers"
    )
    cost.add_argument("--profile", type=Path, help="measured operations (bench JSON)")
    cost.add_argument("--prices", type=Path, help="price table (services/cost/prices.json)")
    cost.add_argument(
        "--capacity-mode",
        choices=CAPACITY_MODES,
        default="on-demand",
        help="DynamoDB capacity as deploy/inboxql.yaml's CapacityMode sets it (on-demand)",
    )
    cost.add_argument(
        "--table-class",
        choices=TABLE_CLASSES,
        default="STANDARD",
        help="DynamoDB table class as the template's TableClass sets it (STANDARD)",
    )
    cost.add_argument(
        "--retention-days",
        type=retention_days,
        metavar="N",
        help="read messages older than N days expire (the service's retention); "
        "default: every message kept",
    )
    cost.add_argument(
        "--chart",
        type=Path,
        metavar="FILE.svg",
        help="also draw each tier's bill per service beside the seed's estimate, as SVG "
        "(needs matplotlib: `uv sync --group charts`)",
    )
    return parser.parse_args(argv)


def retention_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 <= days < math.inf:
        raise argparse.ArgumentTypeError(f"a retention is 0 days or more, not {text}")
    return days


def cost_command(args: argparse.Namespace) -> int:
    """`server.py cost`, with the deployment its options describe."""
    deployment = Assumptions(
        dynamodb_capacity_mode=args.capacity_mode,
        dynamodb_table_class=args.table_class,
        retention_days=args.retention_days,
    )
    return run_cost(args.users, args.profile, args.prices, args.chart, deployment)


def run_cost(
    users: list[int],
    profile: Path | None,
    prices: Path | None,
    chart: Path | None,
    deployment: Assumptions | None = None,
) -> int:
    """Print the report; with a chart, draw it first, so that a chart that cannot be written
    fails before anything is printed."""
    if chart is not None:
        if chart.suffix.lower() != ".svg":
            print(
                f"--chart writes SVG: give a file name ending in .svg, not {chart}", file=sys.stderr
            )
            return 2
        try:
            write_cost_chart(cost_tiers(users, profile, prices, assumptions=deployment), chart)
        except ChartLibraryMissing as missing:
            print(missing, file=sys.stderr)
            return 3
        except OSError as error:
            print(f"cannot write the chart to {chart}: {error.strerror or error}", file=sys.stderr)
            return 2
    print(cost_report(users, profile, prices, assumptions=deployment), end="")
    if chart is not None:
        print(f"chart written to {chart}", file=sys.stderr)
    return 0


def print_token(settings: Settings, user: str, ttl_hours: float) -> int:
    if not is_user_id(user):
        print(f"not a valid user id: {user!r}", file=sys.stderr)
        return 2
    verifier = hmac_tokens(settings)
    if verifier is None:
        print("no INBOXQL_JWT_SECRET: tokens come from the identity provider", file=sys.stderr)
        return 2
    print(verifier.issue(UserId(user), ttl_seconds=int(ttl_hours * 3600)))
    return 0


def print_schema() -> int:
    print(build_schema().as_str())
    return 0


def attached(settings: Settings) -> tuple[Settings, AwsEndpoints] | None:
    """In local mode, the stack a running `server.py` started on the same data dir; in
    external mode, the configured endpoints. None (after saying why) when there is none."""
    if settings.stack == "external":
        return settings, AwsEndpoints()
    running = read_running_stack(settings.data_dir)
    if running is None:
        print(
            f"no running local stack in {settings.data_dir}: start `uv run server.py` first "
            "(with the same INBOXQL_DATA_DIR), or use INBOXQL_STACK=external",
            file=sys.stderr,
        )
        return None
    return (
        settings.with_overrides(redis_url=running.redis_url),
        AwsEndpoints(dynamodb=running.dynamodb_url, sqs=running.sqs_url),
    )


def run_worker(settings: Settings) -> int:
    found = attached(settings)
    if found is None:
        return 2
    effective, endpoints = found

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with bootstrap(
            effective, endpoints, role="worker", workers=effective.worker_concurrency
        ):
            log.info("delivery worker running; Ctrl-C to stop after draining")
            await stop.wait()

    asyncio.run(work())
    return 0


class Progress:
    """One self-rewriting line on a terminal; a line every 10% elsewhere (logs, CI)."""

    def __init__(self, total: int, what: str, out: TextIO = sys.stderr) -> None:
        self.total, self.what, self.out = total, what, out
        self.started = time.monotonic()
        self.shown = -1

    def __call__(self, done: int) -> None:
        tenth = done * 10 // max(self.total, 1)
        if not self.out.isatty() and tenth == self.shown and done != self.total:
            return
        self.shown = tenth
        rate = done / max(time.monotonic() - self.started, 1e-6)
        line = (
            f"{self.what}: {done}/{self.total} ({done * 100 // max(self.total, 1)}%, {rate:.0f}/s)"
        )
        if self.out.isatty():
            self.out.write("\r" + line + ("\n" if done == self.total else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def run_seed(settings: Settings, users: int, messages: int) -> int:
    if users < 2 or messages < 0:
        print("seed needs --users 2 or more and --messages 0 or more", file=sys.stderr)
        return 2
    found = attached(settings)
    if found is None:
        return 2
    effective, endpoints = found

    async def fill() -> None:
        async with bootstrap(effective, endpoints, role="worker") as app:
            await seed(
                app.store,
                users=users,
                messages=messages,
                progress=Progress(messages, "seeding messages"),
            )

    asyncio.run(fill())
    print(f"seeded {messages} messages between {users} users; try: uv run server.py token alice")
    return 0


def run_dlq(settings: Settings, action: str, limit: int) -> int:
    """`dlq list`: what the dead-letter queue holds; `dlq redrive`: send it back for delivery."""
    found = attached(settings)
    if found is None:
        return 2
    effective, endpoints = found

    async def act() -> None:
        async with bootstrap(effective, endpoints, role="worker") as app:
            dlq_url = await app.probes.dead_letter_queue_url()
            dead_letters = DeadLetterQueue(app.clients.sqs, dlq_url, app.clients.queue_url)
            if action == "redrive":
                moved = await dead_letters.redrive(limit)
                print(f"redrove {moved} dead-lettered message(s) to {effective.queue_name}")
                return
            listed = await dead_letters.peek(limit)
            for letter in listed:
                print(letter.describe())
            print(f"{len(listed)} dead-lettered message(s) in {effective.dead_letter_queue_name}")

    asyncio.run(act())
    return 0
