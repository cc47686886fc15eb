"""bench/latency.py and bench/latency_chart.py: the histograms the load generators report, and
their pictures drawn from fixed samples, as `python -m bench` writes them beside its JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.__main__ import write_latency_charts
from bench.figures import Figure
from bench.http_load import percentile
from bench.latency import (
    PERCENTILES,
    LatencyDistribution,
    LatencyHistogram,
    sum_histograms,
)
from bench.latency_chart import write_latency_chart

SVG = "{http://www.w3.org/2000/svg}"
# 1,000 samples from 1 ms to 1 s, evenly spread in time: p50 is 0.501 s, p99 0.991 s.
SLOW = [i / 1000 for i in range(1, 1001)]
# 4,000 samples from 1 to 3 ms: the baseline, hundreds of times as fast.
FAST = [0.001 + (i % 200) / 100_000 for i in range(4000)]


def texts(svg: Path) -> set[str]:
    root = ET.parse(svg).getroot()
    return {" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG}text")}


def ids(svg: Path) -> set[str]:
    return {e.get("id", "") for e in ET.parse(svg).getroot().iter()}


def distribution(baseline: bool = True) -> LatencyDistribution:
    return LatencyDistribution(
        "t9-test",
        "a fixed distribution",
        LatencyHistogram.of(SLOW),
        LatencyHistogram.of(FAST) if baseline else None,
        "the fast one" if baseline else "",
    )


@pytest.mark.parametrize("fraction", [0.0, *PERCENTILES, 0.999, 1.0])
def test_a_percentile_from_the_bins_is_within_a_bin_of_the_samples(fraction: float) -> None:
    for samples in (SLOW, FAST):
        exact = percentile(samples, fraction)
        assert LatencyHistogram.of(samples).percentile(fraction) == pytest.approx(exact, rel=0.024)


def test_histograms_sum_and_survive_json() -> None:
    slow, fast = LatencyHistogram.of(SLOW), LatencyHistogram.of(FAST)
    assert (slow + fast).total == len(SLOW) + len(FAST)
    runs = [{"histogram": slow.as_json()}, {"histogram": fast.as_json()}]
    assert sum_histograms(runs) == slow + fast == LatencyHistogram.of(SLOW + FAST)
    assert LatencyHistogram.from_json(slow.as_json()) == slow
    assert LatencyHistogram().percentile(0.5) == 0.0
    # Faster than the lowest bin still counts, in the lowest bin.
    assert LatencyHistogram.of([0.0, 1e-9]).counts == {0: 2}


def test_a_histogram_with_other_bins_is_refused() -> None:
    other = LatencyHistogram.of(SLOW).as_json() | {"bins_per_decade": 10}
    with pytest.raises(ValueError, match="other bins"):
        LatencyHistogram.from_json(other)


def test_the_chart_marks_the_percentiles_and_draws_the_baseline_beside(tmp_path: Path) -> None:
    chart = tmp_path / "chart.svg"
    write_latency_chart(distribution(), chart)
    assert ET.parse(chart).getroot().tag == f"{SVG}svg"
    assert {"samples", "baseline", "p50", "p90", "p99"} <= ids(chart)
    labels = texts(chart)
    assert "a fixed distribution" in labels
    # The middles of the bins holding 0.501, 0.901 and 0.991 s: 10**(234.5/50), 10**(247.5/50)
    # and 10**(249.5/50) times 10 µs.
    assert {"p50 490 ms", "p90 891 ms", "p99 977 ms"} <= labels
    # The legend: each distribution's name, then its sample count and percentiles. The
    # baseline's median, 2 ms, is in the bin from 10**(115/50) to 10**(116/50) times 10 µs.
    assert {"InboxQL", "1,000 samples: p50 490 ms · p90 891 ms · p99 977 ms"} <= labels
    assert {
        "baseline: the fast one",
        "4,000 samples: p50 2.04 ms · p90 2.82 ms · p99 2.95 ms",
    } <= labels
    ratios = [t for t in labels if t.startswith("InboxQL's latency over the baseline's")]
    assert len(ratios) == 1 and "p50 240\N{MULTIPLICATION SIGN}" in ratios[0], ratios


def test_without_a_baseline_the_chart_says_so(tmp_path: Path) -> None:
    chart = tmp_path / "chart.svg"
    write_latency_chart(distribution(baseline=False), chart)
    assert "baseline" not in ids(chart) and {"samples", "p99"} <= ids(chart)
    assert any(t.startswith("no baseline measured beside it") for t in texts(chart))


def test_the_same_samples_give_the_same_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    write_latency_chart(distribution(), first)
    write_latency_chart(distribution(), second)
    assert first.read_bytes() == second.read_bytes()
    assert b"<dc:date>" not in first.read_bytes()


def test_no_samples_is_refused(tmp_path: Path) -> None:
    empty = LatencyDistribution("t9-empty", "nothing", LatencyHistogram())
    with pytest.raises(ValueError, match="no samples"):
        write_latency_chart(empty, tmp_path / "chart.svg")


def test_the_bench_draws_each_figures_distribution_beside_its_json(tmp_path: Path) -> None:
    out = tmp_path / "last.json"
    empty = LatencyDistribution("t9-empty", "nothing timed", LatencyHistogram())
    figures = [
        Figure(9, "no distribution", 1.0, "req/s"),
        Figure(9, "a distribution", 0.5, "ms", latency=distribution()),
        Figure(9, "a failed phase", 0.0, "ms", latency=empty),
    ]
    charts = write_latency_charts(out, figures)
    assert charts == {"t9-test": "last-t9-test.svg", "t9-empty": "not drawn: no samples"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last-t9-test.svg"]
    written = figures[1].as_json()["latency"]
    assert written["samples_percentiles_ms"] == {"p50": 489.779, "p90": 891.251, "p99": 977.237}
    assert "latency" not in figures[0].as_json()
