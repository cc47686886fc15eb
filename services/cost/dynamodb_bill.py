"""DynamoDB's line items for the capacity mode, table class and retention the deployment uses
(`Assumptions.dynamodb_capacity_mode`, `dynamodb_table_class`, `retention_days`).

- On-demand bills the request units the month's traffic consumes, whenever it comes.
- Provisioned bills the capacity auto-scaling holds each hour (`capacity_mode`), from the
  same units spread over the daily load curve; the free tier's 25 RCU and 25 WCU are
  Standard's only.
- Standard-IA stores for $0.10 a GB-month instead of $0.25 (no 25 GB free) and charges
  a quarter more for requests and capacity; point-in-time recovery costs the same.
"""

from __future__ import annotations

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.capacity_mode import provisioned_capacity
from services.cost.line_items import LineItem, charged
from services.cost.prices import PriceTable
from services.cost.profile import Measurements, OperationCost
from services.cost.retention import expiry_units, stored_messages
from services.cost.units import DAYS_PER_MONTH, GB

INFREQUENT_ACCESS = "STANDARD_INFREQUENT_ACCESS"
# (read price, write price) by capacity mode and table class.
REQUEST_PRICES = {
    ("on-demand", "STANDARD"): ("dynamodb_read_request_unit", "dynamodb_write_request_unit"),
    ("on-demand", INFREQUENT_ACCESS): (
        "dynamodb_read_request_unit_ia",
        "dynamodb_write_request_unit_ia",
    ),
    ("provisioned", "STANDARD"): (
        "dynamodb_read_capacity_unit_hour",
        "dynamodb_write_capacity_unit_hour",
    ),
    ("provisioned", INFREQUENT_ACCESS): (
        "dynamodb_read_capacity_unit_hour_ia",
        "dynamodb_write_capacity_unit_hour_ia",
    ),
}
STORAGE_PRICES = {"STANDARD": "dynamodb_storage", INFREQUENT_ACCESS: "dynamodb_storage_ia"}


def dynamodb_lines(
    users: int,
    month: OperationCost,
    *,
    m: Measurements,
    usage: UsageProfile,
    prices: PriceTable,
    a: Assumptions,
) -> list[LineItem]:
    """Reads, writes, storage and backups, for the month's units `month` of `users` users
    and, under a retention, the units that set read messages' expiry."""
    month = month.plus(expiry_units(usage, a).scaled(users * DAYS_PER_MONTH))
    return [
        *_requests(month, usage, prices, a),
        *_storage(users, m, usage, prices, a),
    ]


def _requests(
    month: OperationCost, usage: UsageProfile, prices: PriceTable, a: Assumptions
) -> list[LineItem]:
    read_price, write_price = REQUEST_PRICES[(a.dynamodb_capacity_mode, a.dynamodb_table_class)]
    suffix = ", IA" if a.dynamodb_table_class == INFREQUENT_ACCESS else ""
    if a.dynamodb_capacity_mode == "on-demand":
        return [
            *charged(
                "DynamoDB reads",
                f"read request units{suffix}",
                prices[read_price],
                month.read_units,
                "RRU",
            ),
            *charged(
                "DynamoDB writes",
                f"write request units{suffix}",
                prices[write_price],
                month.write_units,
                "WRU",
            ),
        ]
    lines: list[LineItem] = []
    scaling = a.autoscaling
    for service, kind, units, floor, price, unit in (
        ("DynamoDB reads", "read", month.read_units, scaling.min_read_units, read_price, "RCU"),
        (
            "DynamoDB writes",
            "write",
            month.write_units,
            scaling.min_write_units,
            write_price,
            "WCU",
        ),
    ):
        held = provisioned_capacity(units / DAYS_PER_MONTH, usage.daily_load_curve, scaling, floor)
        item = f"{kind} capacity{suffix}: peak {held.peak:,.0f} {unit}, {held.utilisation:.0%} used"
        unit_hours = held.unit_hours_per_day * DAYS_PER_MONTH
        lines += charged(service, item, prices[price], unit_hours, f"{unit}-hours")
    return lines


def _storage(
    users: int, m: Measurements, usage: UsageProfile, prices: PriceTable, a: Assumptions
) -> list[LineItem]:
    stored_gb = users * stored_messages(usage, m, a.retention_days).bytes / GB
    item = "table and indexes"
    if a.dynamodb_table_class == INFREQUENT_ACCESS:
        item += ", IA"
    if a.retention_days is not None:
        item += f", read kept {a.retention_days:g} days"
    price = prices[STORAGE_PRICES[a.dynamodb_table_class]]
    lines = charged("DynamoDB storage", item, price, stored_gb, "GB-month")
    if a.point_in_time_recovery:
        lines += charged(
            "DynamoDB storage",
            "point-in-time recovery",
            prices["dynamodb_pitr"],
            stored_gb,
            "GB-month",
        )
    return lines
