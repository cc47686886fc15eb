"""What the metered clients count: DynamoDB units per table and index, SQS requests (as made
and as billed), Redis commands and their ECPU estimate, and the per-operation report of them."""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
SQS_BILLING_CHUNK = 64 * 1024
ECPU_KB = 1024
PUSH = "(pushed message)"


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0


@dataclass
class Meter:
    """What the metered clients were asked to do since the last `reset()`."""

    dynamodb: dict[str, Units] = field(default_factory=dict)
    dynamodb_reported: dict[str, Units] = field(default_factory=dict)
    dynamodb_calls: Counter[str] = field(default_factory=Counter)
    batch_get_keys: int = 0
    sqs_requests: Counter[str] = field(default_factory=Counter)
    sqs_billed: int = 0
    redis_commands: Counter[str] = field(default_factory=Counter)
    redis_ecpus: int = 0
    redis_push_ecpus: int = 0
    active: bool = True

    def reset(self) -> None:
        self.dynamodb = {}
        self.dynamodb_reported = {}
        self.dynamodb_calls = Counter()
        self.batch_get_keys = 0
        self.sqs_requests = Counter()
        self.sqs_billed = 0
        self.redis_commands = Counter()
        self.redis_ecpus = 0
        self.redis_push_ecpus = 0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Set-up traffic that is no part of any measured operation."""
        self.active = False
        try:
            yield
        finally:
            self.active = True

    def record_dynamodb(
        self,
        operation: str,
        request: dict[str, Any],
        consumed: Any,
        billed: dict[str, Units] | None = None,
    ) -> None:
        """`consumed` is what DynamoDB Local reported; `billed`, when given, replaces it as the
        units AWS would charge (see `transaction_units`)."""
        if not self.active:
            return
        self.dynamodb_calls[operation] += 1
        if operation == "BatchGetItem":
            self.batch_get_keys += sum(len(t["Keys"]) for t in request["RequestItems"].values())
        reported = _reported_units(operation, consumed)
        for key, units in reported.items():
            accumulate(self.dynamodb_reported, key, units)
        for key, units in (reported if billed is None else billed).items():
            accumulate(self.dynamodb, key, units)

    def record_sqs(self, operation: str, payload_bytes: int) -> None:
        if not self.active:
            return
        self.sqs_requests[operation] += 1
        self.sqs_billed += max(1, math.ceil(payload_bytes / SQS_BILLING_CHUNK))

    def record_redis(self, args: Sequence[Any], result: Any) -> None:
        if not self.active or not args:
            return
        self.redis_commands[as_text(args[0]).upper()] += 1
        transferred = sum(byte_size(arg) for arg in args) + byte_size(result)
        self.redis_ecpus += max(1, math.ceil(transferred / ECPU_KB))

    def record_push(self, response: Any) -> None:
        if not self.active:
            return
        self.redis_commands[PUSH] += 1
        self.redis_push_ecpus += max(1, math.ceil(byte_size(response) / ECPU_KB))

    def report(self, per: int) -> dict[str, Any]:
        """Everything counted, divided by `per` (the number of operations measured)."""
        by_index = {
            key: {"read_units": rounded(u.read / per), "write_units": rounded(u.write / per)}
            for key, u in sorted(self.dynamodb.items())
        }
        return {
            "dynamodb": {
                "read_units": rounded(sum(u.read for u in self.dynamodb.values()) / per),
                "write_units": rounded(sum(u.write for u in self.dynamodb.values()) / per),
                "by_table_index": by_index,
                "calls": {k: rounded(v / per) for k, v in sorted(self.dynamodb_calls.items())},
                "batch_get_keys": rounded(self.batch_get_keys / per),
                "reported_by_dynamodb_local": {
                    "read_units": rounded(
                        sum(u.read for u in self.dynamodb_reported.values()) / per
                    ),
                    "write_units": rounded(
                        sum(u.write for u in self.dynamodb_reported.values()) / per
                    ),
                },
            },
            "sqs_requests": {k: rounded(v / per) for k, v in sorted(self.sqs_requests.items())},
            "sqs_billed_requests": rounded(self.sqs_billed / per),
            "redis_commands": {k: rounded(v / per) for k, v in sorted(self.redis_commands.items())},
            "redis_ecpus": rounded(self.redis_ecpus / per),
            "redis_push_ecpus": rounded(self.redis_push_ecpus / per),
            "samples": per,
        }


def _reported_units(operation: str, consumed: Any) -> dict[str, Units]:
    found: dict[str, Units] = {}
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    for entry in entries:
        parts = [("table", entry.get("Table", entry))]
        parts += [(f"lsi:{n}", d) for n, d in (entry.get("LocalSecondaryIndexes") or {}).items()]
        parts += [(f"gsi:{n}", d) for n, d in (entry.get("GlobalSecondaryIndexes") or {}).items()]
        for key, detail in parts:
            read = detail.get("ReadCapacityUnits")
            write = detail.get("WriteCapacityUnits")
            if read is None and write is None:
                # Only the total was reported: the kind of call says which it is.
                total = float(detail.get("CapacityUnits", 0.0))
                read, write = (total, 0.0) if operation in READ_OPERATIONS else (0.0, total)
            accumulate(found, key, Units(float(read or 0.0), float(write or 0.0)))
    return found


def accumulate(into: dict[str, Units], key: str, units: Units) -> None:
    total = into.setdefault(key, Units())
    total.read += units.read
    total.write += units.write


def rounded(value: float) -> float:
    return round(value, 4)


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def byte_size(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple):
        return sum(byte_size(item) for item in value)
    return len(str(value))


def combine(api: dict[str, Any], worker: dict[str, Any]) -> dict[str, Any]:
    """A whole send: its API part plus its worker part."""

    def add(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return {k: rounded(a.get(k, 0.0) + b.get(k, 0.0)) for k in sorted(set(a) | set(b))}

    api_keys, worker_keys = api["dynamodb"]["by_table_index"], worker["dynamodb"]["by_table_index"]
    keys = sorted(set(api_keys) | set(worker_keys))
    empty = {"read_units": 0.0, "write_units": 0.0}
    return {
        "dynamodb": {
            "read_units": rounded(api["dynamodb"]["read_units"] + worker["dynamodb"]["read_units"]),
            "write_units": rounded(
                api["dynamodb"]["write_units"] + worker["dynamodb"]["write_units"]
            ),
            "by_table_index": {
                key: add(
                    api["dynamodb"]["by_table_index"].get(key, empty),
                    worker["dynamodb"]["by_table_index"].get(key, empty),
                )
                for key in keys
            },
            "calls": add(api["dynamodb"]["calls"], worker["dynamodb"]["calls"]),
            "batch_get_keys": rounded(
                api["dynamodb"]["batch_get_keys"] + worker["dynamodb"]["batch_get_keys"]
            ),
        },
        "sqs_requests": add(api["sqs_requests"], worker["sqs_requests"]),
        "sqs_billed_requests": rounded(api["sqs_billed_requests"] + worker["sqs_billed_requests"]),
        "redis_commands": add(api["redis_commands"], worker["redis_commands"]),
        "redis_ecpus": rounded(api["redis_ecpus"] + worker["redis_ecpus"]),
        "redis_push_ecpus": rounded(api["redis_push_ecpus"] + worker["redis_push_ecpus"]),
        "samples": api["samples"],
    }
