"""The cost report as a picture: one panel per tier, the bill stacked by service beside the
seed's estimate, written as SVG by `server.py cost --chart FILE.svg`.

matplotlib is in the `charts` dependency group, which a production install leaves out, so it
is imported only when a chart is drawn, and its absence is `ChartLibraryMissing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from services.cost.line_items import TierCost
from services.cost.seed_estimate import SEED_TIERS, SeedTier, seed_tier_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.patches import Patch

MISSING_LIBRARY = (
    "the chart needs matplotlib, which a production install (`uv sync --no-dev`) leaves out: "
    "`uv sync --group charts` adds it (a plain `uv sync` has it too, through the dev group)"
)

# One colour per service, families alike (DynamoDB in blues), so that a stack reads at a
# glance; a service added later takes a colour from the tail.
COLOURS = {
    "DynamoDB reads": "#9ecae1",
    "DynamoDB writes": "#3182bd",
    "DynamoDB storage": "#08519c",
    "SQS": "#fdae6b",
    "Lambda (delivery worker)": "#e6550d",
    "ElastiCache Serverless (Valkey)": "#d62728",
    "API compute (Fargate)": "#74c476",
    "Load balancer (ALB)": "#31a354",
    "VPC endpoints": "#bcbddc",
    "Data transfer out": "#756bb1",
}
SPARE_COLOURS = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")
SEED_COLOUR = "#ffffff"
SEED_EDGE = "#525252"
BAR_WIDTH = 0.6
# A segment this share of its panel's height or more carries its own dollar figure.
LABELLED_SHARE = 0.07
# Fixed so that the same figures give the same file: no date, no matplotlib version, and
# the SVG's clip-path ids hashed from a constant rather than a random salt.
METADATA: dict[str, str | None] = {
    "Date": None,
    "Creator": "uv run server.py cost --chart",
    "Title": "InboxQL: monthly AWS cost per service and tier, beside the seed's estimate",
}
SALT = "inboxql-cost-chart"


class ChartLibraryMissing(RuntimeError):
    """matplotlib is not installed (a production install): the message says how to add it."""


def write_cost_chart(tiers: Sequence[TierCost], path: Path) -> None:
    """Draw `tiers` (as `report.cost_tiers` prices them) into the SVG file `path`. Raises
    ChartLibraryMissing without matplotlib, and OSError when `path` cannot be written."""
    if not tiers:
        raise ValueError("a chart needs at least one tier")
    try:
        from matplotlib import rc_context  # noqa: PLC0415 - absent from production installs
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError as error:
        raise ChartLibraryMissing(MISSING_LIBRARY) from error
    # Text stays text ("none": not glyph outlines), so the labels can be searched and read.
    with rc_context({"svg.hashsalt": SALT, "svg.fonttype": "none", "font.size": 9.0}):
        figure = Figure(figsize=(2.2 * len(tiers) + 3.4, 5.0), layout="constrained")
        panels = figure.subplots(1, len(tiers), squeeze=False)[0]
        services = _services(tiers)
        for panel, tier in zip(panels, tiers, strict=True):
            _draw_tier(panel, tier, services)
        panels[0].set_ylabel("US dollars a month")
        figure.suptitle("InboxQL on AWS: the monthly bill per service, beside the seed's estimate")
        figure.supxlabel(
            "Each tier has its own dollar scale. Measured model: server.py cost "
            "(services/cost/); the seed gave one total per tier.",
            fontsize=8,
        )
        figure.legend(
            handles=_legend(services),
            loc="outside right center",
            title="service (as stacked, top first)",
            frameon=False,
        )
        figure.savefig(path, format="svg", metadata=METADATA)


def _services(tiers: Sequence[TierCost]) -> list[str]:
    """Every service of any tier, in the report's order."""
    found: dict[str, None] = {}
    for tier in tiers:
        found.update(dict.fromkeys(tier.by_service()))
    return list(found)


def _colour(service: str, services: list[str]) -> str:
    if service in COLOURS:
        return COLOURS[service]
    spares = [s for s in services if s not in COLOURS]
    return SPARE_COLOURS[spares.index(service) % len(SPARE_COLOURS)]


def _draw_tier(panel: Axes, tier: TierCost, services: list[str]) -> None:
    seed = seed_tier_for(tier.users)
    top = max(tier.total, seed.monthly_usd if seed else 0.0) * 1.14
    panel.set_ylim(0, top)
    panel.set_xlim(-0.55, 1.55)
    panel.set_title(f"{tier.users:,} users", fontweight="bold")
    costs = tier.by_service()
    base = 0.0
    for service in services:
        cost = costs.get(service, 0.0)
        if cost <= 0:
            continue
        bar = panel.bar(
            0, cost, BAR_WIDTH, bottom=base, color=_colour(service, services), linewidth=0
        )
        bar.patches[0].set_gid(f"bill-{tier.users}-{_slug(service)}")
        if cost >= LABELLED_SHARE * top:
            colour = _text_colour(_colour(service, services))
            panel.text(
                0,
                base + cost / 2,
                _dollars(cost),
                ha="center",
                va="center",
                fontsize=7,
                color=colour,
            )
        base += cost
    panel.text(0, tier.total, _dollars(tier.total), ha="center", va="bottom", fontweight="bold")
    _draw_seed(panel, tier.users, seed, top)
    panel.set_xticks([0, 1], ["measured\nmodel", "seed's\nestimate"])
    panel.yaxis.set_major_formatter(lambda value, _: _dollars(value))
    panel.spines[["top", "right"]].set_visible(False)
    panel.grid(axis="y", color="#e0e0e0", linewidth=0.6)
    panel.set_axisbelow(True)


def _draw_seed(panel: Axes, users: int, seed: SeedTier | None, top: float) -> None:
    if seed is None:
        panel.text(1, top * 0.02, "no estimate\nfor this tier", ha="center", fontsize=7)
        return
    bar = panel.bar(
        1,
        seed.monthly_usd,
        BAR_WIDTH,
        color=SEED_COLOUR,
        edgecolor=SEED_EDGE,
        hatch="///",
        linewidth=1.0,
    )
    bar.patches[0].set_gid(f"seed-{users}")
    panel.text(1, seed.monthly_usd, f"~{_dollars(seed.monthly_usd)}", ha="center", va="bottom")


def _legend(services: list[str]) -> list[Patch]:
    from matplotlib.patches import Patch  # noqa: PLC0415 - only once matplotlib is known there

    handles = [Patch(color=_colour(s, services), label=s) for s in reversed(services)]
    seeds = " / ".join(f"~{_dollars(tier.monthly_usd)}" for tier in SEED_TIERS)
    handles.append(
        Patch(
            facecolor=SEED_COLOUR,
            edgecolor=SEED_EDGE,
            hatch="///",
            label=f"the seed's estimate ({seeds})",
        )
    )
    return handles


def _text_colour(background: str) -> str:
    """Black on light fills, white on dark ones (by the fill's relative luminance)."""
    red, green, blue = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "#000000" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.4 else "#ffffff"


def _dollars(value: float) -> str:
    return f"${value:,.0f}"


def _slug(service: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in service.lower()).split())
