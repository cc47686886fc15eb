"""The report's DynamoDB choices: each tier's DynamoDB bill in both capacity modes and both
table classes, where each wins, and what a retention saves against keeping every message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from services.cost.assumptions import CAPACITY_MODES, TABLE_CLASSES, Assumptions, UsageProfile
from services.cost.bill import monthly_cost
from services.cost.dynamodb_bill import INFREQUENT_ACCESS
from services.cost.load_curve import peak_to_average
from services.cost.prices import PriceTable
from services.cost.profile import Measurements

DYNAMODB_SERVICES = ("DynamoDB reads", "DynamoDB writes", "DynamoDB storage")
RETENTIONS = (180.0, 90.0, 30.0, 7.0)
COLUMN = 16


def class_name(table_class: str) -> str:
    return "Standard-IA" if table_class == INFREQUENT_ACCESS else "Standard"


def setup_line(a: Assumptions) -> str:
    kept = (
        "every message kept"
        if a.retention_days is None
        else f"read messages kept {a.retention_days:g} days"
    )
    return (
        f"  DynamoDB: {a.dynamodb_capacity_mode} capacity, {class_name(a.dynamodb_table_class)} "
        f"table class, {kept} (`--capacity-mode`, `--table-class`, `--retention-days`)"
    )


def dynamodb_cost(
    users: int, m: Measurements, usage: UsageProfile, prices: PriceTable, a: Assumptions
) -> float:
    """Reads, writes, storage and backups a month, as `a` deploys DynamoDB."""
    services = monthly_cost(users, m, usage, prices, a).by_service()
    return sum(services[name] for name in DYNAMODB_SERVICES)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def capacity_section(
    users: Sequence[int],
    m: Measurements,
    usage: UsageProfile,
    prices: PriceTable,
    a: Assumptions,
) -> str:
    """Each tier's DynamoDB bill in each capacity mode and table class, and the cheapest."""
    scaling = a.autoscaling
    setups = [(mode, table_class) for mode in CAPACITY_MODES for table_class in TABLE_CLASSES]
    od_read, od_write = prices["dynamodb_read_request_unit"], prices["dynamodb_write_request_unit"]
    pr_read = prices["dynamodb_read_capacity_unit_hour"]
    pr_write = prices["dynamodb_write_capacity_unit_hour"]
    # A capacity unit-hour serves 3,600 units if it is used all hour.
    read_even = pr_read.cost(1) / 3600 / od_read.cost(1)
    write_even = pr_write.cost(1) / 3600 / od_write.cost(1)
    lines = [
        "DynamoDB by capacity mode and table class ($/month: reads, writes, storage, backups)",
        f"  provisioned: target tracking at {scaling.target_utilisation:.0%} on the table and "
        f"each GSI ({scaling.scaled_resources} in all), at least "
        f"{scaling.min_read_units:g} RCU and {scaling.min_write_units:g} WCU each; the load "
        f"curve's busiest hour is {peak_to_average(usage.daily_load_curve):.2f}x the average",
        f"  provisioned is cheaper once its capacity is used more than {read_even:.0%} (reads) "
        f"/ {write_even:.0%} (writes) on average: its price over on-demand's",
        f"  {'users':<12}"
        + "".join(f" {f'{mode}, {class_name(c)}':>{COLUMN + 10}}" for mode, c in setups)
        + "   cheapest",
    ]
    verdicts = []
    for n in users:
        costs = {
            (mode, c): dynamodb_cost(
                n, m, usage, prices, replace(a, dynamodb_capacity_mode=mode, dynamodb_table_class=c)
            )
            for mode, c in setups
        }
        best = min(costs, key=lambda setup: costs[setup])
        lines.append(
            f"  {n:<12,}"
            + "".join(f" {_money(costs[setup]):>{COLUMN + 10}}" for setup in setups)
            + f"   {best[0]}, {class_name(best[1])}"
        )
        verdicts.append(_verdict(n, costs, a))
    return "\n".join([*lines, *verdicts])


def _verdict(n: int, costs: dict[tuple[str, str], float], a: Assumptions) -> str:
    mode, table_class = a.dynamodb_capacity_mode, a.dynamodb_table_class
    other_mode = next(x for x in CAPACITY_MODES if x != mode)
    other_class = next(x for x in TABLE_CLASSES if x != table_class)
    mode_gap = costs[(other_mode, table_class)] - costs[(mode, table_class)]
    class_gap = costs[(mode, other_class)] - costs[(mode, table_class)]
    by_mode = (mode, other_mode) if mode_gap >= 0 else (other_mode, mode)
    by_class = (table_class, other_class) if class_gap >= 0 else (other_class, table_class)
    return (
        f"  {n:,} users: {by_mode[0]} wins over {by_mode[1]} by {_money(abs(mode_gap))} "
        f"({class_name(table_class)}); {class_name(by_class[0])} wins over "
        f"{class_name(by_class[1])} by {_money(abs(class_gap))} ({mode})"
    )


def retention_section(
    users: Sequence[int],
    m: Measurements,
    usage: UsageProfile,
    prices: PriceTable,
    a: Assumptions,
) -> str:
    """Each tier's DynamoDB bill when everything is kept, and with each retention: storage
    falls, but every read message's expiry is written (its units, `retention.expiry_units`),
    so the net is what a retention saves."""
    given = () if a.retention_days is None else (a.retention_days,)
    retentions = sorted({*RETENTIONS, *given}, reverse=True)
    lines = [
        "Retention: read messages older than N days expire through TTL (its deletes are free);",
        f"  unread ones never do. {usage.read_share:.0%} of messages are ever read, "
        f"{usage.history_days:g} days of history. Setting a read message's expiry costs "
        f"{a.retention_write_units_per_read_message:g} WU",
        f"  ($/month: DynamoDB storage and backups, then the net saving after those writes, in "
        f"{a.dynamodb_capacity_mode} capacity)",
        f"  {'users':<12} {'keep all':>{COLUMN}}"
        + "".join(f" {f'{days:g} days':>{COLUMN + 14}}" for days in retentions),
    ]
    for n in users:
        kept_storage, kept_total = _dynamodb(n, m, usage, prices, replace(a, retention_days=None))
        row = f"  {n:<12,} {_money(kept_storage):>{COLUMN}}"
        for days in retentions:
            storage, total = _dynamodb(n, m, usage, prices, replace(a, retention_days=days))
            saving = kept_total - total
            net = f"-{_money(saving)}" if saving >= 0 else f"+{_money(-saving)}"
            row += f" {f'{_money(storage)} ({net})':>{COLUMN + 14}}"
        lines.append(row)
    return "\n".join(lines)


def _dynamodb(
    users: int, m: Measurements, usage: UsageProfile, prices: PriceTable, a: Assumptions
) -> tuple[float, float]:
    """DynamoDB's storage line, and its whole bill."""
    by_service = monthly_cost(users, m, usage, prices, a).by_service()
    return by_service["DynamoDB storage"], sum(by_service[s] for s in DYNAMODB_SERVICES)
