"""The measured profile: per-operation DynamoDB units, SQS requests and Redis ECPUs, as the
capacity benchmark (`python -m bench.capacity`) measures them; its JSON,
`services/cost/default_profile.json`, is the default. `load_profile(path)` is the only I/O.

A note on DynamoDB units: DynamoDB Local reports the units AWS documents for GetItem, Query,
BatchGetItem, PutItem and UpdateItem (strongly consistent reads a full unit per 4 KB,
eventually consistent ones half; writes one per KB, each index entry written too). For
TransactWriteItems it does not: it sizes the transaction as a whole, where AWS bills two write
units per started KB of every item (and of every index entry written). The benchmark therefore
computes transactional writes by AWS's rule from the items themselves and keeps DynamoDB Local's
figure beside it; index writes inside a transaction are taken at the transactional rate too, as
DynamoDB Local reports them, which is the cautious reading of AWS's documentation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.cost.cpu import CpuCosts, load_cpu_profile
from services.cost.errors import CostModelError

DEFAULT_PROFILE = Path(__file__).with_name("default_profile.json")

# What the model reads from a profile; `bench/capacity_run.py` measures all of them.
REQUIRED_OPERATIONS = (
    "send_api",
    "send_worker",
    "send_5000_api",
    "send_5000_worker",
    "send_idempotent_api",
    "inbox_page_cold",
    "inbox_page_hot",
    "conversation_page",
    "conversations_page_hot",
    "conversations_page_cold",
    "changes_page",
    "message",
    "message_cold",
    "mark_read_1",
    "mark_all_read_50",
    "unread_count",
    "subscribe_unread_count",
    "set_typing",
    "set_typing_throttled",
)


@dataclass(frozen=True)
class OperationCost:
    """One operation as measured: units, requests and ECPUs per call (sends: per message)."""

    read_units: float = 0.0
    write_units: float = 0.0
    sqs_requests: float = 0.0  # as billed: each started 64 KB of payload is a request
    redis_ecpus: float = 0.0
    redis_push_ecpus: float = 0.0  # pub/sub deliveries to a subscribed API process

    def scaled(self, factor: float) -> OperationCost:
        return OperationCost(
            self.read_units * factor,
            self.write_units * factor,
            self.sqs_requests * factor,
            self.redis_ecpus * factor,
            self.redis_push_ecpus * factor,
        )

    def plus(self, other: OperationCost) -> OperationCost:
        return OperationCost(
            self.read_units + other.read_units,
            self.write_units + other.write_units,
            self.sqs_requests + other.sqs_requests,
            self.redis_ecpus + other.redis_ecpus,
            self.redis_push_ecpus + other.redis_push_ecpus,
        )


@dataclass(frozen=True)
class Measurements:
    operations: Mapping[str, OperationCost]
    # Bytes a stored message takes in the table and indexes, less its body (bench's figure).
    storage_bytes_per_message_excluding_body: float = 900.0
    lsi_bytes_per_unread_message: float = 180.0
    measured_body_chars: int = 200
    measured_large_body_chars: int = 5000
    measured_at: str = ""
    worker_batch_size: int = 10
    # CPU per operation, from its own file (the bench suite measures it, not bench.capacity).
    cpu: CpuCosts = field(default_factory=CpuCosts)

    def op(self, name: str) -> OperationCost:
        try:
            return self.operations[name]
        except KeyError:
            raise CostModelError(f"the profile has no measurement for {name!r}") from None


def load_profile(path: Path | None = None, cpu_path: Path | None = None) -> Measurements:
    """The capacity profile (default: default_profile.json) with the CPU profile (default:
    cpu_profile.json)."""
    data: Any = json.loads((path or DEFAULT_PROFILE).read_text())
    return parse_profile(data, load_cpu_profile(cpu_path))


def parse_profile(data: Any, cpu: CpuCosts | None = None) -> Measurements:
    """The JSON that bench/capacity.py writes, reduced to what the model uses."""
    if not isinstance(data, dict) or not isinstance(data.get("operations"), dict):
        raise CostModelError("a profile is an object with an 'operations' object")
    operations: dict[str, OperationCost] = {}
    for name, op in data["operations"].items():
        dynamodb = op.get("dynamodb", {})
        operations[name] = OperationCost(
            read_units=float(dynamodb.get("read_units", 0.0)),
            write_units=float(dynamodb.get("write_units", 0.0)),
            sqs_requests=float(
                op.get("sqs_billed_requests", sum(op.get("sqs_requests", {}).values()))
            ),
            redis_ecpus=float(op.get("redis_ecpus", 0.0)),
            redis_push_ecpus=float(op.get("redis_push_ecpus", 0.0)),
        )
    absent = [name for name in REQUIRED_OPERATIONS if name not in operations]
    if absent:
        raise CostModelError(f"the profile lacks {', '.join(absent)}")
    storage = data.get("storage_bytes", {})
    parameters = data.get("parameters", {})
    defaults = Measurements(operations={})
    return Measurements(
        operations=operations,
        storage_bytes_per_message_excluding_body=float(
            storage.get(
                "per_message_excluding_body", defaults.storage_bytes_per_message_excluding_body
            )
        ),
        lsi_bytes_per_unread_message=float(
            storage.get("lsi_unread_entry_while_unread", defaults.lsi_bytes_per_unread_message)
        ),
        measured_body_chars=int(parameters.get("body_chars", defaults.measured_body_chars)),
        measured_large_body_chars=int(
            parameters.get("large_body_chars", defaults.measured_large_body_chars)
        ),
        measured_at=str(data.get("measured_at", "")),
        worker_batch_size=int(parameters.get("worker_batch_size", defaults.worker_batch_size)),
        cpu=cpu or CpuCosts(),
    )
