"""What InboxQL costs a month on AWS, from measured capacity per operation and a usage profile.

Pure functions: the only I/O is `load_prices(path)` and `load_profile(path)`. Inputs:

- `Measurements`: per-operation DynamoDB units, SQS requests and Redis ECPUs, as measured by
  `bench/capacity.py` (its JSON, `services/cost/default_profile.json`, is the default);
- `UsageProfile`: what an average user does a day (the defaults are stated there);
- `Assumptions`: how it is deployed (Lambda worker, API tasks, load balancer);
- `PriceTable`: `services/cost/prices.json`, every price with its source and date.

`monthly_cost(users, ...)` gives line items per service; `SEED_TIERS` holds the seed's estimate.

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
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GB = 1024**3
PAGE_SIZE = 20  # what clients ask for: `first` defaults to 20

DEFAULT_PRICES = Path(__file__).with_name("prices.json")
DEFAULT_PROFILE = Path(__file__).with_name("default_profile.json")

# What the model reads from a profile; `bench/capacity.py` measures all of them.
REQUIRED_OPERATIONS = (
    "send_api",
    "send_worker",
    "send_5000_api",
    "send_5000_worker",
    "send_idempotent_api",
    "inbox_page_cold",
    "inbox_page_hot",
    "conversation_page",
    "message",
    "message_cold",
    "mark_read_1",
    "mark_all_read_50",
    "unread_count",
    "subscribe_unread_count",
)
REQUIRED_PRICES = (
    "dynamodb_write_request_unit",
    "dynamodb_read_request_unit",
    "dynamodb_storage",
    "dynamodb_pitr",
    "sqs_standard_request",
    "lambda_request",
    "lambda_gb_second_x86",
    "elasticache_valkey_serverless_storage",
    "elasticache_valkey_serverless_ecpu",
    "fargate_vcpu_hour",
    "fargate_gb_hour",
    "alb_hour",
    "alb_lcu_hour",
    "data_transfer_out",
    "vpc_interface_endpoint_hour",
)
SERVICES = (
    "DynamoDB reads",
    "DynamoDB writes",
    "DynamoDB storage",
    "SQS",
    "Lambda (delivery worker)",
    "ElastiCache Serverless (Valkey)",
    "API compute (Fargate)",
    "Load balancer (ALB)",
    "VPC endpoints",
    "Data transfer out",
)


class CostModelError(ValueError):
    """A price table or profile that lacks what the model needs."""


# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    value: float
    per: float
    unit: str
    region: str
    source: str
    as_of: str
    free_per_month: float = 0.0
    minimum_gb: float = 0.0
    confirmed: str = ""

    def cost(self, quantity: float) -> float:
        """Cost of `quantity` units (in the unit `per` counts), before any free tier."""
        return quantity * self.value / self.per


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    compiled_on: str = ""

    def __getitem__(self, name: str) -> Price:
        return self.prices[name]


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

    def op(self, name: str) -> OperationCost:
        try:
            return self.operations[name]
        except KeyError:
            raise CostModelError(f"the profile has no measurement for {name!r}") from None


@dataclass(frozen=True)
class UsageProfile:
    """What one average user does a day. Every figure is an assumption: change it to match."""

    # Messages each user sends a day (so, on average, also receives).
    sends_per_day: float = 20.0
    # `messages(first: 20)` pages read, with bodies.
    inbox_pages_per_day: float = 10.0
    # Share of a page's bodies already in the Valkey cache (bodies stay 24 h once read).
    body_cache_hit_ratio: float = 0.8
    # `message(id)` opens (a cold open also reads the body from DynamoDB).
    message_opens_per_day: float = 5.0
    # `conversation(withUserId, first: 20)` pages.
    conversation_pages_per_day: float = 3.0
    # `markRead` calls, one id each (opening an unread message).
    mark_reads_per_day: float = 10.0
    # `markAllRead` calls, and how many unread messages each one marks.
    mark_all_reads_per_day: float = 0.5
    mark_all_read_size: float = 20.0
    # `unreadCount` / `me { unreadCount }` queries over HTTP.
    unread_count_queries_per_day: float = 10.0
    # Sessions a day that open the two subscriptions (unreadCount, messageReceived).
    live_sessions_per_day: float = 3.0
    # Hours a day a user has a live WebSocket open (pushes and held connections).
    live_connection_hours_per_day: float = 2.0
    # Average message body, in characters (ASCII); the bench measured 200 and 5,000.
    average_body_chars: float = 200.0
    # Share of sends that carry a clientMessageId (one conditional put each).
    client_message_id_share: float = 1.0
    # How long messages are kept: storage is that many days of messages (nothing deletes
    # them today, so this is also "how long the service has been running").
    retention_days: float = 365.0
    # Share of stored messages still unread (they keep an entry in the `unread` index).
    unread_share: float = 0.1


@dataclass(frozen=True)
class Assumptions:
    """How InboxQL is deployed (deploy/inboxql.yaml where it says; the rest stated here)."""

    # The delivery worker as a Lambda function (the template's default memory, x86_64).
    lambda_memory_mb: float = 256.0
    # Duration of one invocation: the batch's messages are delivered concurrently, each a
    # transaction, a GetItem and two PUBLISHes (~4 round trips of a few ms on AWS), plus Python
    # overhead. An assumption: the local stack's timing (bench `timings_local`) is not AWS's.
    lambda_seconds_per_invocation: float = 0.1
    # The event source mapping waits this long to fill a batch, so batches are smaller than
    # 10 when traffic is light: batch = clamp(messages per second x window, 1, 10).
    lambda_batch_window_seconds: float = 1.0
    # The event source mapping long-polls even an idle queue: 5 pollers, one 20 s poll each.
    sqs_idle_receives_per_month: float = 5 * 3 * 60 * HOURS_PER_MONTH
    # API tasks on Fargate: 1 vCPU, 2 GB each, at least two (two AZs).
    api_task_vcpu: float = 1.0
    api_task_gb: float = 2.0
    api_min_tasks: int = 2
    # What one task holds: live WebSockets, and GraphQL requests a second (shared/README: a
    # 20-object list query ran at 600-840 req/s without I/O; a third of that with it).
    connections_per_task: float = 5000.0
    requests_per_second_per_task: float = 200.0
    # Peak hour over the average hour, for sizing tasks.
    peak_to_average: float = 3.0
    # One ALB in front of the API.
    load_balancers: int = 1
    # Interface endpoint for SQS in each AZ (the Lambda worker and tasks run in the VPC to
    # reach Valkey; DynamoDB's gateway endpoint is free).
    availability_zones: int = 2
    # Bytes the client receives, besides bodies: per message in a list, per response (GraphQL
    # envelope, HTTP headers, TLS), and per pushed event.
    response_bytes_per_listed_message: float = 260.0
    response_overhead_bytes: float = 600.0
    push_overhead_bytes: float = 250.0
    # Bytes a cached body takes in Valkey besides the body (JSON fields, key, entry overhead).
    cache_bytes_per_message_excluding_body: float = 250.0
    # Point-in-time recovery, as the template enables it.
    point_in_time_recovery: bool = True


# --- outputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    quantity: float
    unit: str
    cost: float


@dataclass(frozen=True)
class TierCost:
    users: int
    lines: tuple[LineItem, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)

    def by_service(self) -> dict[str, float]:
        totals = dict.fromkeys(SERVICES, 0.0)
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.cost
        return totals


@dataclass(frozen=True)
class SeedTier:
    label: str
    users: int
    monthly_usd: float


# The seed's estimate: ~$5 / ~$50 / ~$500 a month for thousands / tens of thousands / millions
# of users. Only these totals survive; what follows is wrong in it, besides the totals.
SEED_TIERS = (
    SeedTier("thousands of users", 1_000, 5.0),
    SeedTier("tens of thousands of users", 10_000, 50.0),
    SeedTier("millions of users", 1_000_000, 500.0),
)
SEED_INCONSISTENCIES = (
    "DynamoDB reads priced at $0.25 per 100,000: the list price was $0.25 per million, a "
    "tenth of that, and on-demand reads cost $0.125 per million since 2024-11-01, a twentieth.",
    "Lambda duration priced at $2.10 per million 100 ms calls: at 128 MB a million 100 ms calls "
    "are 12,500 GB-seconds, about $0.21, a tenth of that.",
    "The tiers grow 10x each while the users grow 10x and then 100x: from tens of thousands "
    "($50) to millions ($500) the cost per user would fall tenfold, with nothing to explain it.",
    "A total of ~$5 a month is below the fixed floor of the deployed stack: an ALB alone is "
    "~$16 a month, two API tasks ~$72, the Valkey cache's 100 MB minimum ~$6.",
)


def seed_tier_for(users: int) -> SeedTier | None:
    """The seed's tier of the same order of magnitude, if it gave one."""
    for tier in SEED_TIERS:
        if tier.users <= users < tier.users * 10:
            return tier
    return None


# --- the model -----------------------------------------------------------------------------


def send_cost(m: Measurements, usage: UsageProfile, batch: float) -> OperationCost:
    """One message sent and delivered: the API part, the worker part with SQS receives and
    deletes spread over `batch` messages, interpolated between the two body sizes measured,
    plus a clientMessageId reservation for the share of sends that carry one."""
    span = m.measured_large_body_chars - m.measured_body_chars
    large = min(1.0, max(0.0, (usage.average_body_chars - m.measured_body_chars) / span))
    api = m.op("send_api").scaled(1 - large).plus(m.op("send_5000_api").scaled(large))
    worker = m.op("send_worker").scaled(1 - large).plus(m.op("send_5000_worker").scaled(large))
    # Measured with full batches; receive and delete requests grow as batches shrink.
    worker_sqs = worker.sqs_requests * m.worker_batch_size / batch
    worker = OperationCost(
        worker.read_units,
        worker.write_units,
        worker_sqs,
        worker.redis_ecpus,
        worker.redis_push_ecpus,
    )
    reservation = m.op("send_idempotent_api").write_units - m.op("send_api").write_units
    api = api.plus(OperationCost(write_units=reservation * usage.client_message_id_share))
    return api.plus(worker)


def mixed(hot: OperationCost, cold: OperationCost, hit_ratio: float) -> OperationCost:
    return hot.scaled(hit_ratio).plus(cold.scaled(1 - hit_ratio))


def daily_operations(
    m: Measurements, usage: UsageProfile, batch: float
) -> dict[str, tuple[float, OperationCost]]:
    """Each kind of operation: (calls per user per day, cost of one call)."""
    hit = usage.body_cache_hit_ratio
    online = min(1.0, usage.live_connection_hours_per_day / 24)
    send = send_cost(m, usage, batch)
    # Pub/sub pushes only reach recipients who are online.
    send = OperationCost(
        send.read_units,
        send.write_units,
        send.sqs_requests,
        send.redis_ecpus,
        send.redis_push_ecpus * online,
    )
    subscribe = m.op("subscribe_unread_count")
    # messageReceived subscribes too: the same Redis commands, no DynamoDB read.
    session = subscribe.plus(OperationCost(redis_ecpus=subscribe.redis_ecpus))
    return {
        "send": (usage.sends_per_day, send),
        "inbox page": (
            usage.inbox_pages_per_day,
            mixed(m.op("inbox_page_hot"), m.op("inbox_page_cold"), hit),
        ),
        "message open": (
            usage.message_opens_per_day,
            mixed(m.op("message"), m.op("message_cold"), hit),
        ),
        "conversation page": (usage.conversation_pages_per_day, m.op("conversation_page")),
        "markRead": (usage.mark_reads_per_day, m.op("mark_read_1")),
        "markAllRead": (
            usage.mark_all_reads_per_day,
            m.op("mark_all_read_50").scaled(usage.mark_all_read_size / 50),
        ),
        "unreadCount": (usage.unread_count_queries_per_day, m.op("unread_count")),
        "live session": (usage.live_sessions_per_day, session),
    }


def worker_batch_size(users: int, usage: UsageProfile, a: Assumptions, limit: int) -> float:
    per_second = users * usage.sends_per_day / 86_400
    return min(float(limit), max(1.0, per_second * a.lambda_batch_window_seconds))


def response_bytes_per_day(usage: UsageProfile, a: Assumptions) -> float:
    """Bytes one user's clients receive a day: responses and pushed events."""
    body = usage.average_body_chars
    listed = PAGE_SIZE * (body + a.response_bytes_per_listed_message)
    requests = (
        usage.sends_per_day * (body + a.response_overhead_bytes)
        + (usage.inbox_pages_per_day + usage.conversation_pages_per_day)
        * (listed + a.response_overhead_bytes)
        + usage.message_opens_per_day * (body + a.response_overhead_bytes)
        + usage.mark_reads_per_day
        * (a.response_bytes_per_listed_message + a.response_overhead_bytes)
        + usage.mark_all_reads_per_day
        * (
            usage.mark_all_read_size * a.response_bytes_per_listed_message
            + a.response_overhead_bytes
        )
        + usage.unread_count_queries_per_day * a.response_overhead_bytes
    )
    online = min(1.0, usage.live_connection_hours_per_day / 24)
    # Each received message pushes messageReceived and an unreadCount to an online user; each
    # markRead/markAllRead pushes an unreadCount.
    pushes = (
        usage.sends_per_day * online * (body + 2 * a.push_overhead_bytes)
        + (usage.mark_reads_per_day + usage.mark_all_reads_per_day) * online * a.push_overhead_bytes
    )
    return requests + pushes


def requests_per_day(usage: UsageProfile) -> float:
    return (
        usage.sends_per_day
        + usage.inbox_pages_per_day
        + usage.message_opens_per_day
        + usage.conversation_pages_per_day
        + usage.mark_reads_per_day
        + usage.mark_all_reads_per_day
        + usage.unread_count_queries_per_day
    )


def monthly_cost(
    users: int,
    measurements: Measurements,
    usage: UsageProfile,
    prices: PriceTable,
    assumptions: Assumptions | None = None,
) -> TierCost:
    """The monthly bill for `users` users, as line items per service."""
    if users < 0:
        raise ValueError("users must be >= 0")
    t = _Tier(users, measurements, usage, prices, assumptions or Assumptions())
    t.dynamodb()
    t.sqs()
    t.worker()
    t.cache()
    t.api()
    t.network()
    return TierCost(users, tuple(t.lines))


class _Tier:
    """The line items of one tier, service by service."""

    def __init__(
        self, users: int, m: Measurements, usage: UsageProfile, p: PriceTable, a: Assumptions
    ) -> None:
        self.users, self.m, self.usage, self.p, self.a = users, m, usage, p, a
        self.batch = worker_batch_size(users, usage, a, m.worker_batch_size)
        self.total = OperationCost()
        for calls, cost in daily_operations(m, usage, self.batch).values():
            self.total = self.total.plus(cost.scaled(calls * users * DAYS_PER_MONTH))
        self.online = min(1.0, usage.live_connection_hours_per_day / 24)
        self.lines: list[LineItem] = []

    def add(self, service: str, item: str, quantity: float, unit: str, cost: float) -> None:
        self.lines.append(LineItem(service, item, quantity, unit, cost))

    def charge(self, service: str, item: str, price: str, quantity: float, unit: str) -> None:
        """A metered line, and its free tier as a line of its own when the price has one."""
        rate = self.p[price]
        self.add(service, item, quantity, unit, rate.cost(quantity))
        if rate.free_per_month:
            free = min(quantity, rate.free_per_month)
            self.add(
                service,
                f"free tier ({rate.free_per_month:,.0f} {unit})",
                free,
                unit,
                -rate.cost(free),
            )

    def dynamodb(self) -> None:
        """On-demand request units (on-demand has no request free tier), storage, backups."""
        total, usage, m = self.total, self.usage, self.m
        self.charge(
            "DynamoDB reads",
            "read request units",
            "dynamodb_read_request_unit",
            total.read_units,
            "RRU",
        )
        self.charge(
            "DynamoDB writes",
            "write request units",
            "dynamodb_write_request_unit",
            total.write_units,
            "WRU",
        )
        messages = self.users * usage.sends_per_day * usage.retention_days
        per_message = (
            m.storage_bytes_per_message_excluding_body
            + usage.average_body_chars
            + usage.unread_share * m.lsi_bytes_per_unread_message
        )
        stored_gb = messages * per_message / GB
        self.charge(
            "DynamoDB storage", "table and indexes", "dynamodb_storage", stored_gb, "GB-month"
        )
        if self.a.point_in_time_recovery:
            self.charge(
                "DynamoDB storage", "point-in-time recovery", "dynamodb_pitr", stored_gb, "GB-month"
            )

    def sqs(self) -> None:
        """Sends, receives and deletes as measured (per 64 KB), plus the idle long polls."""
        requests = self.total.sqs_requests + self.a.sqs_idle_receives_per_month
        self.charge("SQS", "requests (64 KB each)", "sqs_standard_request", requests, "requests")

    def worker(self) -> None:
        """One invocation per batch, each of the stated duration."""
        a = self.a
        invocations = self.users * self.usage.sends_per_day * DAYS_PER_MONTH / self.batch
        gb_seconds = invocations * a.lambda_seconds_per_invocation * a.lambda_memory_mb / 1024
        service = "Lambda (delivery worker)"
        self.charge(
            service,
            f"invocations (batches of {self.batch:.1f})",
            "lambda_request",
            invocations,
            "requests",
        )
        self.charge(service, "duration", "lambda_gb_second_x86", gb_seconds, "GB-s")

    def cache(self) -> None:
        """A day of bodies (each stays 24 h once read), at least the minimum; ECPUs measured."""
        usage, a = self.usage, self.a
        minimum = self.p["elasticache_valkey_serverless_storage"].minimum_gb
        per_body = usage.average_body_chars + a.cache_bytes_per_message_excluding_body
        cached_gb = self.users * usage.sends_per_day * per_body / GB
        gb_hours = max(cached_gb, minimum) * HOURS_PER_MONTH
        service = "ElastiCache Serverless (Valkey)"
        item = f"data stored (at least {minimum:g} GB)"
        self.charge(service, item, "elasticache_valkey_serverless_storage", gb_hours, "GB-hours")
        ecpus = self.total.redis_ecpus + self.total.redis_push_ecpus
        self.charge(service, "ECPUs", "elasticache_valkey_serverless_ecpu", ecpus, "ECPUs")

    def api(self) -> None:
        """Enough Fargate tasks for the peak hour's live connections and requests."""
        a = self.a
        connections = self.users * self.online
        rps = self.users * requests_per_day(self.usage) / 86_400
        tasks = max(
            a.api_min_tasks,
            math.ceil(connections * a.peak_to_average / a.connections_per_task),
            math.ceil(rps * a.peak_to_average / a.requests_per_second_per_task),
        )
        hours = tasks * HOURS_PER_MONTH
        cost = self.p["fargate_vcpu_hour"].cost(hours * a.api_task_vcpu) + self.p[
            "fargate_gb_hour"
        ].cost(hours * a.api_task_gb)
        item = f"{tasks} tasks of {a.api_task_vcpu:g} vCPU, {a.api_task_gb:g} GB"
        self.add("API compute (Fargate)", item, hours, "task-hours", cost)

    def network(self) -> None:
        """The ALB (hours, and LCUs from the largest dimension of the average hour), the SQS
        interface endpoint in each AZ, and data out to clients."""
        a, usage = self.a, self.usage
        out_gb = self.users * response_bytes_per_day(usage, a) * DAYS_PER_MONTH / GB
        new_connections_per_second = self.users * usage.live_sessions_per_day * 2 / 86_400
        lcus = max(
            new_connections_per_second / 25,
            self.users * self.online / 3000,
            out_gb / HOURS_PER_MONTH,
        )
        hours = a.load_balancers * HOURS_PER_MONTH
        self.charge("Load balancer (ALB)", "load balancer hours", "alb_hour", hours, "hours")
        self.charge("Load balancer (ALB)", "LCU-hours", "alb_lcu_hour", lcus * hours, "LCU-hours")
        endpoint_hours = a.availability_zones * HOURS_PER_MONTH
        self.charge(
            "VPC endpoints",
            "SQS interface endpoint",
            "vpc_interface_endpoint_hour",
            endpoint_hours,
            "AZ-hours",
        )
        self.charge("Data transfer out", "responses and pushes", "data_transfer_out", out_gb, "GB")


# --- loading -------------------------------------------------------------------------------


def load_prices(path: Path | None = None) -> PriceTable:
    data: Any = json.loads((path or DEFAULT_PRICES).read_text())
    return parse_prices(data)


def parse_prices(data: Any) -> PriceTable:
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise CostModelError("a price table is an object with a 'prices' object")
    prices: dict[str, Price] = {}
    for name, entry in data["prices"].items():
        missing = [
            k for k in ("value", "per", "unit", "region", "source", "as_of") if k not in entry
        ]
        if missing:
            raise CostModelError(f"price {name!r} lacks {', '.join(missing)}")
        prices[name] = Price(
            value=float(entry["value"]),
            per=float(entry["per"]),
            unit=str(entry["unit"]),
            region=str(entry["region"]),
            source=str(entry["source"]),
            as_of=str(entry["as_of"]),
            free_per_month=float(entry.get("free_per_month", 0.0)),
            minimum_gb=float(entry.get("minimum_gb", 0.0)),
            confirmed=str(entry.get("confirmed", "")),
        )
    absent = [name for name in REQUIRED_PRICES if name not in prices]
    if absent:
        raise CostModelError(f"the price table lacks {', '.join(absent)}")
    return PriceTable(prices, str(data.get("compiled_on", "")))


def load_profile(path: Path | None = None) -> Measurements:
    data: Any = json.loads((path or DEFAULT_PROFILE).read_text())
    return parse_profile(data)


def parse_profile(data: Any) -> Measurements:
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
    )
