"""The bill of one tier as line items, and the services they add up to in the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.cost.prices import Price

SERVICES = (
    "DynamoDB reads",
    "DynamoDB writes",
    "DynamoDB storage",
    "SQS",
    "Lambda (delivery worker)",
    "ElastiCache Serverless (Valkey)",
    "API compute (Fargate)",
    "Load balancer (ALB)",
    "VPC endpoints",
    "Data transfer out",
)


@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    quantity: float
    unit: str
    cost: float


@dataclass(frozen=True)
class TierCost:
    users: int
    lines: tuple[LineItem, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)

    def by_service(self) -> dict[str, float]:
        totals = dict.fromkeys(SERVICES, 0.0)
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.cost
        return totals


def charged(service: str, item: str, rate: Price, quantity: float, unit: str) -> list[LineItem]:
    """A metered line, and its free tier as a line of its own when the price has one."""
    lines = [LineItem(service, item, quantity, unit, rate.cost(quantity))]
    if rate.free_per_month:
        free = min(quantity, rate.free_per_month)
        lines.append(
            LineItem(
                service,
                f"free tier ({rate.free_per_month:,.0f} {unit})",
                free,
                unit,
                -rate.cost(free),
            )
        )
    return lines
