"""The metrics: the Prometheus instruments, the per-operation extension, and what the inbox
service and the delivery worker report."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import cast

import prometheus_client
import pytest
from prometheus_client import generate_latest
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import ExecutionResult

from resolvers.context import Context
from schema import build_schema
from services.app import App, RoleParts
from services.delivery import DeliveryWorker
from services.disabled import NO_METRICS
from services.domain import UserId
from services.inbox import InboxService
from services.observability.metrics import PrometheusMetrics
from services.observability.request_ids import current_request_id, request_id_bound
from services.ports import Delivery
from services.settings import Settings
from tests.fakes import (
    FakeClock,
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
)
from tests.unit.support import ALICE, BOB, make_message


def sample(metrics: PrometheusMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def operations(metrics: PrometheusMetrics, operation: str, kind: str, outcome: str) -> float:
    found = sample(
        metrics, "inboxql_graphql_operations_total", operation=operation, type=kind, outcome=outcome
    )
    return found or 0.0


@pytest.fixture
def metrics() -> PrometheusMetrics:
    return PrometheusMetrics()


# --- the instruments ------------------------------------------------------------------------


def test_each_instance_has_its_own_registry_and_never_the_global_one() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.delivery_attempted("delivered")
    assert sample(first, "inboxql_delivery_attempts_total", outcome="delivered") == 1
    assert sample(second, "inboxql_delivery_attempts_total", outcome="delivered") == 0
    assert (
        prometheus_client.REGISTRY.get_sample_value(
            "inboxql_delivery_attempts_total", {"outcome": "delivered"}
        )
        is None
    )


def test_bounded_series_exist_before_any_event(metrics: PrometheusMetrics) -> None:
    for outcome in ("delivered", "duplicate", "failed", "undecodable"):
        assert sample(metrics, "inboxql_delivery_attempts_total", outcome=outcome) == 0
    for result in ("hit", "miss"):
        assert sample(metrics, "inboxql_message_cache_lookups_total", result=result) == 0
    for stage in ("persisted", "published"):
        assert sample(metrics, "inboxql_delivery_latency_seconds_count", stage=stage) == 0
    for written in ("alone", "committed", "cancelled"):
        assert sample(metrics, "inboxql_delivery_writes_total", outcome=written) == 0
        assert sample(metrics, "inboxql_delivery_write_deliveries_total", outcome=written) == 0


def test_exposition_names_every_metric(metrics: PrometheusMetrics) -> None:
    metrics.operation_finished("me", "query", "ok", 0.01)
    metrics.subscription_started("unreadCount")
    metrics.queue_measured("dead_letter", visible=2, in_flight=0)
    metrics.deliveries_written("committed", 10)
    text = generate_latest(metrics.registry).decode()
    for name in (
        "inboxql_graphql_operations_total",
        "inboxql_graphql_operation_duration_seconds_bucket",
        "inboxql_live_subscriptions",
        "inboxql_delivery_attempts_total",
        "inboxql_delivery_latency_seconds_bucket",
        "inboxql_message_cache_lookups_total",
        "inboxql_queue_messages",
        "inboxql_delivery_writes_total",
        "inboxql_delivery_write_deliveries_total",
    ):
        assert f"\n{name}{{" in text, name
    assert 'inboxql_queue_messages{queue="dead_letter",state="visible"} 2.0' in text
    assert 'inboxql_delivery_write_deliveries_total{outcome="committed"} 10.0' in text


def test_a_queue_that_cannot_be_read_is_nan_not_its_old_size(metrics: PrometheusMetrics) -> None:
    metrics.queue_measured("delivery", visible=7, in_flight=3)
    metrics.queue_measured("delivery", visible=math.nan, in_flight=math.nan)
    found = sample(metrics, "inboxql_queue_messages", queue="delivery", state="visible")
    assert found is not None and math.isnan(found)


def test_delivery_latency_is_never_negative(metrics: PrometheusMetrics) -> None:
    metrics.message_delivered("persisted", -0.5)  # the worker's clock is a little behind
    assert sample(metrics, "inboxql_delivery_latency_seconds_sum", stage="persisted") == 0
    assert sample(metrics, "inboxql_delivery_latency_seconds_count", stage="persisted") == 1


def test_the_default_records_nothing_and_accepts_everything() -> None:
    NO_METRICS.operation_finished("me", "query", "ok", 0.1)
    NO_METRICS.subscription_started("unreadCount")
    NO_METRICS.subscription_ended("unreadCount")
    NO_METRICS.delivery_attempted("failed")
    NO_METRICS.message_delivered("published", 1.0)
    NO_METRICS.cache_looked_up(hits=1, misses=2)
    NO_METRICS.deliveries_written("cancelled", 3)
    NO_METRICS.queue_measured("delivery", visible=1, in_flight=1)
    assert not hasattr(NO_METRICS, "registry")


# --- per operation, through the schema -------------------------------------------------------


class FailingInbox:
    async def unread_count(self, user_id: UserId) -> int:
        raise RuntimeError("the store exploded")


def context_for(inbox: object, user: UserId | None = ALICE, request: object = None) -> Context:
    app = cast(App, SimpleNamespace(inbox=inbox, built=RoleParts(), settings=Settings()))
    return Context(app=app, request=cast(Request, request), response=None, user_id=user)


async def test_an_operation_is_counted_by_root_fields_not_by_its_client_name(
    metrics: PrometheusMetrics, service: InboxService
) -> None:
    schema = build_schema(metrics)
    query = (
        "query WhateverTheClientLikes { n: unreadCount ...F ... on Query { me { id } } }"
        " fragment F on Query { unreadCount me { id } }"
    )
    result = await schema.execute(query, context_value=context_for(service))
    assert result.errors is None
    assert operations(metrics, "me+unreadCount", "query", "ok") == 1
    count = sample(
        metrics,
        "inboxql_graphql_operation_duration_seconds_count",
        operation="me+unreadCount",
        type="query",
    )
    assert count == 1
    text = generate_latest(metrics.registry).decode()
    assert "WhateverTheClientLikes" not in text


@pytest.mark.parametrize(
    ("query", "user", "counted_as"),
    [
        ("{ unreadCount }", None, ("unreadCount", "query", "UNAUTHENTICATED")),
        ("{ nosuch }", ALICE, ("unknown", "unknown", "BAD_USER_INPUT")),
        ("{ unreadCount ", ALICE, ("unknown", "unknown", "BAD_USER_INPUT")),
        (
            "mutation { markAllRead { unreadCount } }",
            None,
            ("markAllRead", "mutation", "UNAUTHENTICATED"),
        ),
    ],
)
async def test_errors_are_counted_by_their_code(
    metrics: PrometheusMetrics,
    service: InboxService,
    query: str,
    user: UserId | None,
    counted_as: tuple[str, str, str],
) -> None:
    await build_schema(metrics).execute(query, context_value=context_for(service, user))
    label, kind, outcome = counted_as
    assert operations(metrics, label, kind, outcome) == 1
    assert operations(metrics, label, kind, "ok") == 0


async def test_an_internal_error_is_counted_as_one(metrics: PrometheusMetrics) -> None:
    result = await build_schema(metrics).execute(
        "{ unreadCount }", context_value=context_for(FailingInbox())
    )
    assert result.errors is not None
    assert operations(metrics, "unreadCount", "query", "INTERNAL_SERVER_ERROR") == 1


class WatchedInbox:
    """A subscription source that the test feeds and watches."""

    def __init__(self) -> None:
        self.counts: asyncio.Queue[int] = asyncio.Queue()

    async def watch_unread_count(self, user_id: UserId) -> AsyncIterator[int]:
        while True:
            yield await self.counts.get()


async def test_live_subscriptions_go_up_while_open_and_down_when_closed(
    metrics: PrometheusMetrics,
) -> None:
    inbox = WatchedInbox()
    schema = build_schema(metrics)

    def live() -> float | None:
        return sample(metrics, "inboxql_live_subscriptions", subscription="unreadCount")

    stream = await schema.subscribe(
        "subscription { unreadCount }", context_value=context_for(inbox)
    )
    assert not isinstance(stream, ExecutionResult)
    await inbox.counts.put(3)
    first = await anext(stream)
    assert first.data == {"unreadCount": 3}
    assert live() == 1
    # Counted when it ends: until then it is a live subscription, not a finished operation.
    assert operations(metrics, "unreadCount", "subscription", "ok") == 0

    await stream.aclose()  # what a client's `complete` or a dropped socket comes to
    assert live() == 0
    assert operations(metrics, "unreadCount", "subscription", "ok") == 1
    # A subscription's lifetime is no latency: it is not in the histogram.
    duration = sample(
        metrics,
        "inboxql_graphql_operation_duration_seconds_count",
        operation="unreadCount",
        type="subscription",
    )
    assert duration is None


# --- request ids per operation -----------------------------------------------------------------


class RecordingInbox:
    def __init__(self) -> None:
        self.request_ids: list[str | None] = []

    async def unread_count(self, user_id: UserId) -> int:
        self.request_ids.append(current_request_id())
        return 0


async def test_each_websocket_operation_gets_its_own_request_id() -> None:
    inbox = RecordingInbox()
    socket = WebSocket.__new__(WebSocket)  # only its type matters here
    schema = build_schema()
    with request_id_bound("the-connection"):
        # Strawberry runs each WebSocket operation in a task of its own, as here.
        for _ in range(2):
            await asyncio.create_task(
                schema.execute("{ unreadCount }", context_value=context_for(inbox, request=socket))
            )
        assert current_request_id() == "the-connection"
    first, second = inbox.request_ids
    assert first is not None and second is not None
    assert len({first, second, "the-connection"}) == 3


async def test_an_http_operation_keeps_the_request_id_of_its_request() -> None:
    inbox = RecordingInbox()
    with request_id_bound("from-the-header"):
        await build_schema().execute("{ unreadCount }", context_value=context_for(inbox))
    assert inbox.request_ids == ["from-the-header"]


# --- what the services report --------------------------------------------------------------------


async def test_message_bodies_count_cache_hits_and_misses(
    metrics: PrometheusMetrics, store: FakeMessageStore, clock: FakeClock
) -> None:
    cache = FakeMessageCache()
    hub = FakeEventHub()
    inbox = InboxService(
        store=store,
        cache=cache,
        publisher=hub,
        events=hub,
        metrics=metrics,
    )
    first, second = make_message(BOB, ALICE, 1), make_message(BOB, ALICE, 2)
    for message in (first, second):
        await store.deliver(message)

    await inbox.load_messages([first.id])
    await inbox.load_messages([first.id, second.id])
    assert sample(metrics, "inboxql_message_cache_lookups_total", result="miss") == 2
    assert sample(metrics, "inboxql_message_cache_lookups_total", result="hit") == 1

    cache.unavailable = True  # every lookup is then a miss
    await inbox.load_messages([first.id])
    assert sample(metrics, "inboxql_message_cache_lookups_total", result="miss") == 3


async def test_the_worker_counts_each_outcome_and_times_delivery(
    metrics: PrometheusMetrics, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    message = make_message(BOB, ALICE, 1)
    clock.now = message.sent_at + timedelta(seconds=2)
    worker = DeliveryWorker(FakeDeliveryQueue(), store, hub, metrics=metrics, clock=clock)
    failing = make_message(BOB, ALICE, 2)
    store.fail_next.append(RuntimeError("throttled"))
    outcomes = await worker.deliver_batch([Delivery("r1", failing, 1)])
    assert outcomes == [False]
    outcomes = await worker.deliver_batch([Delivery("r2", message, 1), Delivery("r3", None, 1)])
    assert outcomes == [True, False]
    assert await worker.deliver_batch([Delivery("r4", message, 2)]) == [True]

    def attempts(outcome: str) -> float | None:
        return sample(metrics, "inboxql_delivery_attempts_total", outcome=outcome)

    assert [attempts(o) for o in ("delivered", "duplicate", "failed", "undecodable")] == [
        1,
        1,
        1,
        1,
    ]
    for stage in ("persisted", "published"):
        # Only the first delivery is timed: a redelivery's age says nothing about the pipeline.
        assert sample(metrics, "inboxql_delivery_latency_seconds_count", stage=stage) == 1
        assert sample(metrics, "inboxql_delivery_latency_seconds_sum", stage=stage) == 2.0


async def test_an_unpublished_message_is_not_timed_as_published(
    metrics: PrometheusMetrics, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    hub.unavailable = True
    worker = DeliveryWorker(FakeDeliveryQueue(), store, hub, metrics=metrics)
    assert await worker.deliver_batch([Delivery("r", make_message(BOB, ALICE, 1), 1)]) == [True]
    assert sample(metrics, "inboxql_delivery_latency_seconds_count", stage="persisted") == 1
    assert sample(metrics, "inboxql_delivery_latency_seconds_count", stage="published") == 0
