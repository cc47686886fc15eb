"""Garbage-collection pauses on /metrics: timed while the app runs, and only then."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry

from services.observability.collector_pauses import CollectorPauses


def full_collections(registry: CollectorRegistry) -> tuple[float, float]:
    labels = {"generation": "2"}
    count = registry.get_sample_value("inboxql_gc_pause_seconds_count", labels)
    total = registry.get_sample_value("inboxql_gc_pause_seconds_sum", labels)
    assert count is not None and total is not None
    return count, total


def test_collections_are_timed_by_generation_while_timing() -> None:
    registry = CollectorRegistry()
    pauses = CollectorPauses(registry)
    # Every generation's series is there before the first collection, at zero.
    assert full_collections(registry) == (0.0, 0.0)
    with pauses.timing():
        gc.collect(2)
        gc.collect(2)
    count, total = full_collections(registry)
    assert count == 2
    assert total > 0


def test_nothing_is_timed_once_the_app_has_stopped() -> None:
    registry = CollectorRegistry()
    pauses = CollectorPauses(registry)
    callbacks = list(gc.callbacks)
    with pauses.timing():
        gc.collect(2)
    assert gc.callbacks == callbacks
    gc.collect(2)
    assert full_collections(registry)[0] == 1
