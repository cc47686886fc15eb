"""DynamoDB's capacity modes and table classes in the cost model: the load curve, the capacity
target tracking holds through a day, and the bill of each, on inputs small enough to check by
hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.bill import monthly_cost
from services.cost.capacity_mode import AutoScaling, provisioned_capacity
from services.cost.dynamodb_report import capacity_section, dynamodb_cost
from services.cost.errors import CostModelError
from services.cost.load_curve import (
    DEFAULT_DAILY_LOAD_CURVE,
    checked_curve,
    hourly_rates,
    peak_to_average,
)
from services.cost.prices import load_prices
from services.cost.profile import load_profile
from services.cost.units import DAYS_PER_MONTH
from tests.unit.test_cost_model import IDLE, QUIET, measurements, prices

FLAT = (1.0,) * 24
# Twelve quiet hours, then twelve twice as busy: a third of the day's traffic, then two thirds.
STEP = (1.0,) * 12 + (2.0,) * 12
NO_FLOOR = AutoScaling(min_read_units=0, min_write_units=0)
INFREQUENT = "STANDARD_INFREQUENT_ACCESS"


def test_the_default_curve_is_a_day_of_shares_with_an_evening_peak() -> None:
    assert len(DEFAULT_DAILY_LOAD_CURVE) == 24
    assert sum(DEFAULT_DAILY_LOAD_CURVE) == pytest.approx(1.0)
    assert peak_to_average(DEFAULT_DAILY_LOAD_CURVE) == pytest.approx(1.92)
    busiest = max(range(24), key=lambda hour: DEFAULT_DAILY_LOAD_CURVE[hour])
    quietest = min(range(24), key=lambda hour: DEFAULT_DAILY_LOAD_CURVE[hour])
    assert (busiest, quietest) == (21, 4)


def test_a_curve_is_normalised_and_a_wrong_one_refused() -> None:
    assert checked_curve(FLAT) == pytest.approx((1 / 24,) * 24)
    assert hourly_rates(86_400, STEP) == pytest.approx((2 / 3,) * 12 + (4 / 3,) * 12)
    with pytest.raises(CostModelError, match="24"):
        checked_curve((1.0,) * 23)
    with pytest.raises(CostModelError):
        checked_curve((-1.0,) + (1.0,) * 23)


def test_a_flat_day_holds_the_rate_over_the_target() -> None:
    # 7 units a second all day at a 70% target: 10 units held every hour.
    held = provisioned_capacity(7 * 86_400, FLAT, NO_FLOOR, 0)
    assert held.held == pytest.approx((10.0,) * 24)
    assert held.unit_hours_per_day == pytest.approx(240)
    assert held.utilisation == pytest.approx(0.7)


def test_capacity_falls_an_hour_after_the_traffic_does() -> None:
    # 7/s for 12 hours, then 14/s: 10 and 20 units needed. At midnight the rate halves, below
    # the 50% scale-in threshold (70% less 20 points) of 20, so the hour is billed at 20 and
    # capacity falls to 10 from 1 am; at noon it rises at once.
    held = provisioned_capacity(7 * 3600 * 36, STEP, NO_FLOOR, 0)
    assert held.held == pytest.approx((20.0,) + (10.0,) * 11 + (20.0,) * 12)
    assert held.unit_hours_per_day == pytest.approx(20 + 11 * 10 + 12 * 20)


def test_a_fall_above_the_scale_in_threshold_keeps_the_capacity() -> None:
    # 12/s then 14/s: 12 of the 20 units held is 60% used, above the 50% threshold, so target
    # tracking never scales in, and the quiet hours pay for the busy hours' capacity.
    curve = (12.0,) * 12 + (14.0,) * 12
    held = provisioned_capacity(3600 * (12 * 12 + 12 * 14), curve, NO_FLOOR, 0)
    assert held.held == pytest.approx((20.0,) * 24)


def test_light_traffic_pays_the_floor_of_each_scaled_resource() -> None:
    held = provisioned_capacity(100, FLAT, AutoScaling(), 5)
    assert held.held == pytest.approx((15.0,) * 24)  # 5 on the table and on each of 2 GSIs
    assert held.peak == 15


def usage_of(sends: float, curve: tuple[float, ...] = FLAT) -> UsageProfile:
    return replace(IDLE, sends_per_day=sends, daily_load_curve=curve)


def test_provisioned_writes_by_hand() -> None:
    # measurements(): 10 write units a send. 1 user sending 60,480 a day: 604,800 units, 7 a
    # second, so 10 WCU held all day at $1 a WCU-hour.
    a = replace(QUIET, dynamodb_capacity_mode="provisioned", autoscaling=NO_FLOOR)
    table = prices(dynamodb_write_capacity_unit_hour=1.0, dynamodb_write_request_unit=99.0)
    bill = monthly_cost(1, measurements(), usage_of(60_480), table, a).by_service()
    assert bill["DynamoDB writes"] == pytest.approx(10 * 24 * DAYS_PER_MONTH)


def test_the_table_class_picks_its_prices() -> None:
    usage = replace(usage_of(1), history_days=100, unread_share=0)
    a = replace(QUIET, dynamodb_table_class="STANDARD_INFREQUENT_ACCESS")
    table = prices(
        dynamodb_write_request_unit=1.0,
        dynamodb_write_request_unit_ia=2.0,
        dynamodb_storage=1.0,
        dynamodb_storage_ia=3.0,
    )
    bill = monthly_cost(1000, measurements(), usage, table, a).by_service()
    assert bill["DynamoDB writes"] == pytest.approx(1000 * DAYS_PER_MONTH * 10 * 2.0)
    stored_gb = 1000 * 100 * (824 + 200) / 1024**3
    assert bill["DynamoDB storage"] == pytest.approx(stored_gb * 3.0)


def test_the_standard_free_tier_does_not_cover_standard_ia() -> None:
    m, usage, table = load_profile(), UsageProfile(), load_prices()
    provisioned = Assumptions(dynamodb_capacity_mode="provisioned")
    standard = monthly_cost(1_000, m, usage, table, provisioned)
    ia = monthly_cost(1_000, m, usage, table, replace(provisioned, dynamodb_table_class=INFREQUENT))
    assert any(line.item.startswith("free tier") for line in standard.lines)
    assert not any(
        line.item.startswith("free tier") and line.service.startswith("DynamoDB")
        for line in ia.lines
    )
    assert ia.by_service()["DynamoDB writes"] > standard.by_service()["DynamoDB writes"]


def test_the_default_deployment_is_todays_on_demand_standard_table() -> None:
    a = Assumptions()
    assert (a.dynamodb_capacity_mode, a.dynamodb_table_class, a.retention_days) == (
        "on-demand",
        "STANDARD",
        None,
    )
    items = [
        line.item for line in monthly_cost(10, load_profile(), UsageProfile(), load_prices()).lines
    ]
    assert "read request units" in items and "write request units" in items
    assert "table and indexes" in items


def test_an_unknown_mode_or_class_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity_mode"):
        Assumptions(dynamodb_capacity_mode="reserved")
    with pytest.raises(ValueError, match="table_class"):
        Assumptions(dynamodb_table_class="GLACIER")


def test_the_report_names_the_cheapest_setup_of_each_tier() -> None:
    m, usage, table, a = load_profile(), UsageProfile(), load_prices(), Assumptions()
    text = capacity_section([1_000, 1_000_000], m, usage, table, a)
    for n in (1_000, 1_000_000):
        on_demand = dynamodb_cost(n, m, usage, table, a)
        provisioned = dynamodb_cost(
            n, m, usage, table, replace(a, dynamodb_capacity_mode="provisioned")
        )
        winner, loser = (
            ("provisioned", "on-demand")
            if provisioned < on_demand
            else ("on-demand", "provisioned")
        )
        gap = f"${abs(on_demand - provisioned):,.2f}"
        assert f"{n:,} users: {winner} wins over {loser} by {gap} (Standard)" in text
    assert "1.92x the average" in text
    # $0.00065 a WCU-hour serves 3,600 writes: $0.18 a million, 29% of on-demand's $0.625.
    assert "more than 29% (reads) / 29% (writes)" in text


def test_the_figures_in_the_docs_are_the_models_today() -> None:
    # docs/cost.md, "Capacity mode, table class and retention": a change to the model or the
    # prices must update its tables.
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cost.md").read_text()
    section = doc.split("## Capacity mode, table class and retention", 1)[1].split("\n## ", 1)[0]
    m, usage, table, a = load_profile(), UsageProfile(), load_prices(), Assumptions()
    for n in (1_000, 10_000, 1_000_000):
        for mode in ("on-demand", "provisioned"):
            for table_class in ("STANDARD", INFREQUENT):
                setup = replace(a, dynamodb_capacity_mode=mode, dynamodb_table_class=table_class)
                assert f"{dynamodb_cost(n, m, usage, table, setup):,.2f}" in section, (n, setup)
        for days in (None, 180, 90, 30, 7):
            storage = monthly_cost(n, m, usage, table, replace(a, retention_days=days))
            assert f"{storage.by_service()['DynamoDB storage']:,.2f}" in section, (n, days)
