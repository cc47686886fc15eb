"""How long CPython's garbage collector stops the process, by generation, for /metrics.

A collection stops every request, push and delivery in the process while it runs. With 10,000
sockets open (about 1.5 million tracked objects) a full one took 1-1.6 s on the benchmark
machine, the largest latency event in the server (docs/performance.md), and nothing showed it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

# Young collections take tens of microseconds; a full one over millions of objects, seconds.
PAUSE_BUCKETS = (0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
GENERATIONS = 3


class CollectorPauses:
    """Times every collection while `timing()` is entered. The collector's callbacks are the
    process's, so each app enters it for its lifespan only (tests build many apps)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.seconds = Histogram(
            "inboxql_gc_pause_seconds",
            "Time the process stood still for a garbage collection, by generation (2: full)",
            ["generation"],
            buckets=PAUSE_BUCKETS,
            registry=registry,
        )
        # Looked up once: a young collection can come every few milliseconds under load.
        self._by_generation = [self.seconds.labels(str(g)) for g in range(GENERATIONS)]
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[info["generation"]].observe(time.perf_counter() - self._started)

    @contextmanager
    def timing(self) -> Iterator[None]:
        callback = self._callback
        gc.callbacks.append(callback)
        try:
            yield
        finally:
            gc.callbacks.remove(callback)
