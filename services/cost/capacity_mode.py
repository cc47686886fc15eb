"""Provisioned capacity with target-tracking auto-scaling, as deploy/inboxql.yaml sets it up
(`CapacityMode=provisioned`): the capacity it holds through a day of the load curve.

What is modelled, hour by hour, over a day that repeats:
- Scale-out: target tracking raises capacity when consumption stays above the target for two
  minutes, so within the hour; the hour is billed at its average rate over the target. The
  minutes before it acts, and the peaks inside an hour, are what the headroom above the target
  (and DynamoDB's burst capacity, up to 300 s of unused capacity) absorb: no throttling is
  priced.
- Scale-in: only after 15 minutes below the target less 20 points (below 50% used at a 70%
  target), and DynamoDB allows 4 decreases a day at any time and then one an hour. So capacity
  falls at most once an hour, an hour after the traffic fell, and only when the hour ran below
  that lower threshold; a slow evening decline keeps the peak's capacity longer.
- Floors: each scaled resource (the table and each GSI; the LSI shares the table's capacity)
  keeps at least the minimum. The model adds those floors up and scales the sum, which is
  exact when every resource is above its floor and at most the floors short below it.
- Limits the template sets (the maximum) are not applied: capacity short of the traffic is
  throttling, not a saving. The report prints the peak, for `ReadCapacityMax`/`WriteCapacityMax`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.cost.load_curve import hourly_rates


@dataclass(frozen=True)
class AutoScaling:
    """The template's auto-scaling parameters (deploy/inboxql.yaml; the same defaults)."""

    # CapacityTargetUtilisation: the share of provisioned capacity consumption is kept at.
    target_utilisation: float = 0.7
    # ReadCapacityMin / WriteCapacityMin, for the table and each of its GSIs.
    min_read_units: float = 5.0
    min_write_units: float = 5.0
    # Resources scaled: the table and its two GSIs (`conversation`, `activity`).
    scaled_resources: int = 3
    # Target tracking scales in below the target less this (AWS's alarm for DynamoDB).
    scale_in_margin: float = 0.2


@dataclass(frozen=True)
class ProvisionedCapacity:
    """Capacity units held in each hour of the day, against the units consumed."""

    held: tuple[float, ...]
    consumed: tuple[float, ...]

    @property
    def unit_hours_per_day(self) -> float:
        return sum(self.held)

    @property
    def peak(self) -> float:
        return max(self.held)

    @property
    def utilisation(self) -> float:
        """Consumed over held, across the day."""
        held = sum(self.held)
        return sum(self.consumed) / held if held else 0.0


def provisioned_capacity(
    units_per_day: float, curve: Sequence[float], scaling: AutoScaling, floor_per_resource: float
) -> ProvisionedCapacity:
    """The capacity target tracking holds through a day of `units_per_day` spread as `curve`."""
    rates = hourly_rates(units_per_day, curve)
    floor = floor_per_resource * scaling.scaled_resources
    target = scaling.target_utilisation
    capacity = max(floor, max(rates) / target)
    held: list[float] = []
    # Two days: the first settles where the last evening leaves capacity; the second is billed.
    for day in range(2):
        for rate in rates:
            capacity = max(capacity, floor, rate / target)
            if day == 1:
                held.append(capacity)
            if rate < capacity * (target - scaling.scale_in_margin):
                capacity = max(floor, rate / target)
    return ProvisionedCapacity(tuple(held), rates)
