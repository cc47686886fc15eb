"""A latency distribution as a picture: the share of samples in each bin on a logarithmic time
axis, p50/p90/p99 marked, and the same run's baseline outlined beside it, written as SVG next
to bench/results/last.json (`python -m bench` draws one per figure that has a distribution).

The conventions are services/cost/chart.py's: matplotlib imported only when a chart is drawn
(it is in the `charts` dependency group), text kept as text, no date in the file and the SVG
ids hashed from a constant, so the same samples give the same file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from bench.latency import (
    BINS_PER_DECADE,
    PERCENTILES,
    LatencyDistribution,
    LatencyHistogram,
    bin_edge,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# Drawn 10 bins a decade (5 stored bins each): finer bins make a few thousand samples ragged.
DRAWN_PER_DECADE = 10
GROUPED = BINS_PER_DECADE // DRAWN_PER_DECADE
SAMPLES_COLOUR = "#3182bd"
BASELINE_COLOUR = "#525252"
# p50, p90, p99: light to dark, so the tail reads as the darkest line.
PERCENTILE_COLOURS = ("#fd8d3c", "#e6550d", "#a63603")
METADATA: dict[str, str | None] = {
    "Date": None,
    "Creator": "uv run python -m bench",
    "Title": "InboxQL benchmark: a latency distribution",
}
SALT = "inboxql-latency-chart"
TIMES = "\N{MULTIPLICATION SIGN}"


def write_latency_chart(distribution: LatencyDistribution, path: Path) -> None:
    """Draw `distribution` into the SVG file `path`. Raises ValueError when it holds no
    samples, and OSError when `path` cannot be written."""
    samples, baseline = distribution.samples, distribution.baseline
    if samples.total == 0:
        raise ValueError(f"{distribution.chart}: no samples to draw")
    from matplotlib import rc_context  # noqa: PLC0415 - only where a chart is drawn
    from matplotlib.figure import Figure  # noqa: PLC0415

    drawn = [h for h in (samples, baseline) if h is not None and h.total]
    low = min(min(h.counts) for h in drawn) // GROUPED * GROUPED
    high = (max(max(h.counts) for h in drawn) // GROUPED + 1) * GROUPED
    with rc_context({"svg.hashsalt": SALT, "svg.fonttype": "none", "font.size": 9.0}):
        figure = Figure(figsize=(8.0, 4.8), layout="constrained")
        axes = figure.subplots()
        edges = [1000 * bin_edge(i) for i in range(low, high + 1, GROUPED)]
        axes.stairs(
            _shares(samples, low, high),
            edges,
            fill=True,
            color=SAMPLES_COLOUR,
            alpha=0.75,
            label=_legend("InboxQL", samples),
            gid="samples",
        )
        if baseline is not None and baseline.total:
            # Over the filled bars, so that the outline shows where the two overlap.
            axes.stairs(
                _shares(baseline, low, high),
                edges,
                color=BASELINE_COLOUR,
                linewidth=1.4,
                label=_legend(f"baseline: {distribution.baseline_name}", baseline),
                gid="baseline",
                zorder=3,
            )
        axes.set_xscale("log")
        axes.set_xlim(edges[0], edges[-1])
        _mark_percentiles(axes, samples, edges[0], edges[-1])
        axes.xaxis.set_major_formatter(lambda value, _: _duration(value))
        axes.xaxis.set_minor_formatter(lambda value, _: _minor_label(value, edges[0], edges[-1]))
        axes.set_xlabel("latency (logarithmic scale)")
        axes.set_ylabel(f"share of samples in each bin, % ({DRAWN_PER_DECADE} bins a decade)")
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        axes.set_axisbelow(True)
        figure.suptitle(distribution.title, fontweight="bold")
        axes.set_title(_ratios(samples, baseline), fontsize=8)
        figure.legend(loc="outside lower center", frameon=False, fontsize=8)
        figure.savefig(path, format="svg", metadata=METADATA)


def _shares(histogram: LatencyHistogram, low: int, high: int) -> list[float]:
    """Percent of the histogram's samples in each drawn bin from stored bin `low` to `high`."""
    total = histogram.total
    shares = []
    for start in range(low, high, GROUPED):
        held = sum(histogram.counts.get(i, 0) for i in range(start, start + GROUPED))
        shares.append(100 * held / total)
    return shares


def _mark_percentiles(axes: Axes, samples: LatencyHistogram, left: float, right: float) -> None:
    """A dashed line at each percentile, its label at a height of its own so that close
    percentiles (p90 and p99 often are) stay readable; all left of their lines when the
    tail's is near the right edge."""
    tail = 1000 * samples.percentile(PERCENTILES[-1])
    leftwards = math.log(tail / left) > 0.75 * math.log(right / left)
    for step, (fraction, colour) in enumerate(zip(PERCENTILES, PERCENTILE_COLOURS, strict=True)):
        name = f"p{round(100 * fraction)}"
        at = 1000 * samples.percentile(fraction)
        line = axes.axvline(at, color=colour, linestyle="--", linewidth=1.2, zorder=4)
        line.set_gid(name)
        axes.text(
            at,
            0.97 - 0.08 * step,
            f"{name} {_duration(at)} " if leftwards else f" {name} {_duration(at)}",
            transform=axes.get_xaxis_transform(),
            color=colour,
            ha="right" if leftwards else "left",
            va="top",
            fontweight="bold",
            zorder=5,
            # Readable over the bars it may cross.
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0},
        )


def _minor_label(milliseconds: float, left: float, right: float) -> str:
    """Under two decades a decade's ticks are too few: its 2s and 5s are labelled too."""
    if math.log10(right / left) >= 2:
        return ""
    leading = round(milliseconds / 10 ** math.floor(math.log10(milliseconds) + 1e-9))
    return _duration(milliseconds) if leading in (2, 5) else ""


def _legend(name: str, histogram: LatencyHistogram) -> str:
    marks = " · ".join(
        f"p{round(100 * p)} {_duration(1000 * histogram.percentile(p))}" for p in PERCENTILES
    )
    return f"{name}\n{histogram.total:,} samples: {marks}"


def _ratios(samples: LatencyHistogram, baseline: LatencyHistogram | None) -> str:
    """The house rule: a figure beside the baseline of the same run, as a ratio."""
    if baseline is None or not baseline.total:
        return "no baseline measured beside it in the run: absolute times on a shared machine"
    ratios = ", ".join(
        f"p{round(100 * p)} {samples.percentile(p) / baseline.percentile(p):.3g}{TIMES}"
        for p in PERCENTILES
    )
    return f"InboxQL's latency over the baseline's, measured in turns in the same run: {ratios}"


def _duration(milliseconds: float) -> str:
    if milliseconds >= 1000:
        return f"{milliseconds / 1000:.3g} s"
    return f"{milliseconds:.3g} ms"
