"""Not written yet."""

from __future__ import annotations

from bench.context import BenchContext
from bench.figures import Figure


def run(context: BenchContext) -> list[Figure]:
    raise NotImplementedError("not written yet")
