"""Latency distributions as histograms with fixed logarithmic bins: small enough to travel in a
load generator's JSON line and to keep in bench/results/last.json, summed across a
benchmark's turns, and drawn by bench/latency_chart.py.

Bin `i` holds the samples in [LOWEST * 10**(i/BINS_PER_DECADE), LOWEST * 10**((i+1)/...)):
50 bins a decade, each 4.7% wide, so a percentile read from the bins is within 2.4% of the
sample's own value (its bin's geometric middle). Faster samples than LOWEST fall in bin 0.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BINS_PER_DECADE = 50
LOWEST_SECONDS = 1e-5
PERCENTILES = (0.50, 0.90, 0.99)


def bin_of(seconds: float) -> int:
    if seconds <= LOWEST_SECONDS:
        return 0
    return math.floor(math.log10(seconds / LOWEST_SECONDS) * BINS_PER_DECADE)


def bin_edge(index: int) -> float:
    """The lower edge of bin `index`, in seconds (the upper edge of bin `index - 1`)."""
    return LOWEST_SECONDS * 10 ** (index / BINS_PER_DECADE)


@dataclass(frozen=True)
class LatencyHistogram:
    """Sample counts by bin index; only bins that hold a sample are kept."""

    counts: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, seconds: Iterable[float]) -> LatencyHistogram:
        return cls(dict(collections.Counter(bin_of(s) for s in seconds)))

    @classmethod
    def from_json(cls, found: Mapping[str, Any]) -> LatencyHistogram:
        if (found["bins_per_decade"], found["lowest_ms"]) != (
            BINS_PER_DECADE,
            1000 * LOWEST_SECONDS,
        ):
            raise ValueError(f"histogram with other bins: {dict(found)}")
        return cls({int(index): int(count) for index, count in found["counts"]})

    def as_json(self) -> dict[str, Any]:
        return {
            "bins_per_decade": BINS_PER_DECADE,
            "lowest_ms": 1000 * LOWEST_SECONDS,
            "counts": [[index, self.counts[index]] for index in sorted(self.counts)],
        }

    def __add__(self, other: LatencyHistogram) -> LatencyHistogram:
        summed = collections.Counter(self.counts)
        summed.update(other.counts)
        return LatencyHistogram(dict(summed))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentile(self, fraction: float) -> float:
        """The middle of the bin holding the sample `bench.http_load.percentile` picks (the
        one at rank int(fraction * total)), in seconds; 0.0 without samples."""
        rank = min(self.total - 1, int(fraction * self.total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen > rank:
                return math.sqrt(bin_edge(index) * bin_edge(index + 1))
        return 0.0


def sum_histograms(runs: Iterable[Mapping[str, Any]], key: str = "histogram") -> LatencyHistogram:
    """The histograms under `key` of several load generators' results, summed."""
    summed = LatencyHistogram()
    for run in runs:
        summed += LatencyHistogram.from_json(run[key])
    return summed


@dataclass(frozen=True)
class LatencyDistribution:
    """A figure's latency picture: what was timed, and the same run's baseline when it has
    one. `chart` names the SVG written beside the results (bench/results/last-<chart>.svg)."""

    chart: str
    title: str
    samples: LatencyHistogram
    baseline: LatencyHistogram | None = None
    baseline_name: str = ""

    @classmethod
    def from_json(cls, found: Mapping[str, Any]) -> LatencyDistribution:
        """What `as_json` wrote (a figure's "latency" in last.json)."""
        baseline = found.get("baseline")
        return cls(
            found["chart"],
            found["title"],
            LatencyHistogram.from_json(found["samples"]),
            None if baseline is None else LatencyHistogram.from_json(baseline),
            found.get("baseline_name", ""),
        )

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"chart": self.chart, "title": self.title}
        for name, histogram in (("samples", self.samples), ("baseline", self.baseline)):
            if histogram is None:
                continue
            found[name] = histogram.as_json()
            found[f"{name}_percentiles_ms"] = {
                f"p{round(100 * p)}": round(1000 * histogram.percentile(p), 3) for p in PERCENTILES
            }
        if self.baseline is not None:
            found["baseline_name"] = self.baseline_name
        return found
