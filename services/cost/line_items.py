"""The bill of one tier as line items, and the services they add up to in the report."""

from __future__ import annotations

from dataclasses import dataclass, field

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
