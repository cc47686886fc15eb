"""A benchmark figure: what was measured, against which same-run baseline, and its target."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.latency import LatencyDistribution

Comparison = Literal[">=", "<=", "=="]
_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
}


@dataclass
class Figure:
    """`value` is checked against `target` with `compare`. When `baseline` is given the value
    checked is the ratio value/baseline: absolute numbers mean little on a shared machine."""

    target_id: int
    name: str
    value: float
    unit: str
    target: float | None = None
    compare: Comparison = ">="
    baseline: float | None = None
    baseline_name: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    # Its latency distribution, drawn as bench/results/last-<chart>.svg beside the JSON.
    latency: LatencyDistribution | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.value / self.baseline if self.baseline else 0.0

    @property
    def checked(self) -> float:
        ratio = self.ratio
        return self.value if ratio is None else ratio

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if _COMPARE[self.compare](self.checked, self.target) else "MISS"

    def as_json(self) -> dict[str, Any]:
        found = {
            "target": self.target_id,
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 4),
            "baseline_name": self.baseline_name,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "goal": None if self.target is None else f"{self.compare} {self.target:g}",
            "verdict": self.verdict,
            "detail": self.detail,
        }
        if self.latency is not None:
            found["latency"] = self.latency.as_json()
        return found


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_table(figures: Sequence[Figure]) -> str:
    header = (
        f"{'#':>1} {'figure':<44} {'value':>10} {'unit':<10} {'baseline':>10} "
        f"{'ratio':>7} {'target':>8}  verdict"
    )
    lines = [header, "-" * len(header)]
    for f in figures:
        ratio = "-" if f.ratio is None else f"{f.ratio:.1%}"
        goal = "-" if f.target is None else f"{f.compare}{f.target:g}"
        lines.append(
            f"{f.target_id:>1} {f.name:<44} {_number(f.value):>10} {f.unit:<10} "
            f"{_number(f.baseline):>10} {ratio:>7} {goal:>8}  {f.verdict}"
        )
        if f.baseline_name:
            lines.append(f"{'':<2}{'':<44} baseline: {f.baseline_name}")
    return "\n".join(lines)


def format_markdown(figures: Sequence[Figure]) -> str:
    """The table docs/performance.md records."""
    lines = [
        "| # | figure | value | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "" if f.ratio is None else f"{f.ratio:.1%}"
        goal = "" if f.target is None else f"{f.compare} {f.target:g}"
        baseline = "" if f.baseline is None else f"{_number(f.baseline)} ({f.baseline_name})"
        lines.append(
            f"| {f.target_id} | {f.name.strip()} | {_number(f.value)} {f.unit} | {baseline} "
            f"| {ratio} | {goal} | {f.verdict} |"
        )
    return "\n".join(lines)
