"""What every benchmark of one run shares: its size, its log folder and the local stack."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.aws import AwsEndpoints
from services.local.stack import StackEndpoints
from services.settings import Settings

BENCH_JWT_SECRET = "inboxql-bench-secret-with-enough-bytes-for-hs256"


@dataclass
class BenchContext:
    quick: bool
    log_dir: Path
    stack: StackEndpoints
    # The stack's processes by name, so a benchmark can say what each of them cost.
    stack_pids: Mapping[str, int] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def settings(self) -> Settings:
        """One table and queue pair per run, so runs never see each other's data."""
        return Settings(
            stack="external",
            jwt_secret=BENCH_JWT_SECRET,
            redis_url=self.stack.redis_url,
            table_name=f"inboxql-bench-{self.tag}",
            queue_name=f"inboxql-bench-{self.tag}",
            dead_letter_queue_name=f"inboxql-bench-dlq-{self.tag}",
            long_poll_seconds=1,
        )

    @property
    def endpoints(self) -> AwsEndpoints:
        return AwsEndpoints(dynamodb=self.stack.dynamodb_url, sqs=self.stack.sqs_url)

    def server_env(self) -> dict[str, str]:
        """What points a `bench.serve stack` process at this run's stack, table and queues."""
        settings = self.settings
        return {
            "INBOXQL_STACK": "external",
            "INBOXQL_JWT_SECRET": BENCH_JWT_SECRET,
            "INBOXQL_TABLE": settings.table_name,
            "INBOXQL_QUEUE": settings.queue_name,
            "INBOXQL_DLQ": settings.dead_letter_queue_name,
            "INBOXQL_LONG_POLL_SECONDS": str(settings.long_poll_seconds),
            "INBOXQL_LOG_FORMAT": "text",
            # The load comes from a few senders: a per-user limit would measure the limiter.
            "INBOXQL_SEND_RATE_LIMIT": "0",
            "INBOXQL_READ_RATE_LIMIT": "0",
            "REDIS_URL": self.stack.redis_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.stack.dynamodb_url,
            "AWS_ENDPOINT_URL_SQS": self.stack.sqs_url,
            "AWS_ACCESS_KEY_ID": "inboxql",
            "AWS_SECRET_ACCESS_KEY": "inboxql",
            "AWS_REGION": settings.aws_region,
        }

    def seconds(self, full: float) -> float:
        return 1.0 if self.quick else full
