"""The `Metrics` port on Prometheus instruments.

Services report through a `Metrics` they are given (`services/ports.py`); without one they get
`NO_METRICS` (`services/disabled.py`), which records nothing. `PrometheusMetrics` owns its own
`CollectorRegistry`, never prometheus_client's global one, so that any number of apps can be
built in one process (the tests do) and `/metrics` shows exactly one app's series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.observability.collector_pauses import CollectorPauses
from services.ports import DeliveryOutcome, DeliveryStage, QueueName, RoundOutcome

DELIVERY_OUTCOMES: tuple[DeliveryOutcome, ...] = (
    "delivered",
    "duplicate",
    "deleted",
    "failed",
    "undecodable",
)
DELIVERY_STAGES: tuple[DeliveryStage, ...] = ("persisted", "published")
QUEUES: tuple[QueueName, ...] = ("delivery", "dead_letter")
ROUND_OUTCOMES: tuple[RoundOutcome, ...] = ("alone", "committed", "cancelled")

# From sentAt, so queue wait included: a steady climb in the upper buckets is queue lag.
DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class PrometheusMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.operations = Counter(
            "inboxql_graphql_operations",
            "GraphQL operations by root field(s), type and outcome (ok or extensions.code)",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "inboxql_graphql_operation_duration_seconds",
            "Time to answer a query or mutation",
            ["operation", "type"],
            registry=self.registry,
        )
        self.live_subscriptions = Gauge(
            "inboxql_live_subscriptions",
            "Subscriptions open in this process, by subscription field",
            ["subscription"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "inboxql_delivery_attempts",
            "Queue messages handled by the delivery worker, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "inboxql_delivery_latency_seconds",
            "From a message's sentAt until it was persisted, and until it was published",
            ["stage"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.delivery_writes = Counter(
            "inboxql_delivery_writes",
            "Delivery transactions: a delivery written alone, or a round of several committed "
            "or cancelled",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_write_items = Counter(
            "inboxql_delivery_write_deliveries",
            "Deliveries in those transactions: over inboxql_delivery_writes_total, the average "
            "round",
            ["outcome"],
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "inboxql_message_cache_lookups",
            "Message bodies looked up in the Redis cache, by result",
            ["result"],
            registry=self.registry,
        )
        self.response_cache_lookups = Counter(
            "inboxql_response_cache_lookups",
            "Inbox queries answered from the per-user response cache (hit) or executed (miss)",
            ["result"],
            registry=self.registry,
        )
        self.collector_pauses = CollectorPauses(self.registry)
        self.queue_messages = Gauge(
            "inboxql_queue_messages",
            "Approximate messages in the delivery queue and its dead-letter queue, read at "
            "scrape time; visible = waiting, in_flight = received but not yet deleted",
            ["queue", "state"],
            registry=self.registry,
        )
        # Series that exist from the start read 0 rather than missing, so rate() and alerts
        # work before the first event.
        for outcome in DELIVERY_OUTCOMES:
            self.deliveries.labels(outcome)
        for stage in DELIVERY_STAGES:
            self.delivery_seconds.labels(stage)
        for written in ROUND_OUTCOMES:
            self.delivery_writes.labels(written)
            self.delivery_write_items.labels(written)
        for result in ("hit", "miss"):
            self.cache_lookups.labels(result)
            self.response_cache_lookups.labels(result)

    def operation_finished(
        self, operation: str, operation_type: str, outcome: str, seconds: float | None
    ) -> None:
        self.operations.labels(operation, operation_type, outcome).inc()
        if seconds is not None:
            self.operation_seconds.labels(operation, operation_type).observe(seconds)

    def subscription_started(self, field: str) -> None:
        self.live_subscriptions.labels(field).inc()

    def subscription_ended(self, field: str) -> None:
        self.live_subscriptions.labels(field).dec()

    def delivery_attempted(self, outcome: DeliveryOutcome) -> None:
        self.deliveries.labels(outcome).inc()

    def message_delivered(self, stage: DeliveryStage, seconds_since_sent: float) -> None:
        # Clocks of the API and the worker hosts may disagree a little: never a negative time.
        self.delivery_seconds.labels(stage).observe(max(seconds_since_sent, 0.0))

    def deliveries_written(self, outcome: RoundOutcome, deliveries: int) -> None:
        self.delivery_writes.labels(outcome).inc()
        self.delivery_write_items.labels(outcome).inc(deliveries)

    def cache_looked_up(self, *, hits: int, misses: int) -> None:
        if hits:
            self.cache_lookups.labels("hit").inc(hits)
        if misses:
            self.cache_lookups.labels("miss").inc(misses)

    def response_cache_looked_up(self, *, hit: bool) -> None:
        self.response_cache_lookups.labels("hit" if hit else "miss").inc()

    def queue_measured(self, queue: QueueName, *, visible: float, in_flight: float) -> None:
        self.queue_messages.labels(queue, "visible").set(visible)
        self.queue_messages.labels(queue, "in_flight").set(in_flight)
