"""The price table: `services/cost/prices.json`, every price with its source and date.

`load_prices(path)` is the only I/O; `parse_prices` checks the table has every price the model
charges (`REQUIRED_PRICES`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.cost.errors import CostModelError

DEFAULT_PRICES = Path(__file__).with_name("prices.json")
REQUIRED_PRICES = (
    "dynamodb_write_request_unit",
    "dynamodb_read_request_unit",
    "dynamodb_write_request_unit_ia",
    "dynamodb_read_request_unit_ia",
    "dynamodb_write_capacity_unit_hour",
    "dynamodb_read_capacity_unit_hour",
    "dynamodb_write_capacity_unit_hour_ia",
    "dynamodb_read_capacity_unit_hour_ia",
    "dynamodb_storage",
    "dynamodb_storage_ia",
    "dynamodb_pitr",
    "sqs_standard_request",
    "lambda_request",
    "lambda_gb_second_x86",
    "elasticache_valkey_serverless_storage",
    "elasticache_valkey_serverless_ecpu",
    "fargate_vcpu_hour",
    "fargate_gb_hour",
    "alb_hour",
    "alb_lcu_hour",
    "data_transfer_out",
    "vpc_interface_endpoint_hour",
)


@dataclass(frozen=True)
class Price:
    value: float
    per: float
    unit: str
    region: str
    source: str
    as_of: str
    free_per_month: float = 0.0
    minimum_gb: float = 0.0
    confirmed: str = ""

    def cost(self, quantity: float) -> float:
        """Cost of `quantity` units (in the unit `per` counts), before any free tier."""
        return quantity * self.value / self.per


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    compiled_on: str = ""

    def __getitem__(self, name: str) -> Price:
        return self.prices[name]


def load_prices(path: Path | None = None) -> PriceTable:
    data: Any = json.loads((path or DEFAULT_PRICES).read_text())
    return parse_prices(data)


def parse_prices(data: Any) -> PriceTable:
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise CostModelError("a price table is an object with a 'prices' object")
    prices: dict[str, Price] = {}
    for name, entry in data["prices"].items():
        missing = [
            k for k in ("value", "per", "unit", "region", "source", "as_of") if k not in entry
        ]
        if missing:
            raise CostModelError(f"price {name!r} lacks {', '.join(missing)}")
        prices[name] = Price(
            value=float(entry["value"]),
            per=float(entry["per"]),
            unit=str(entry["unit"]),
            region=str(entry["region"]),
            source=str(entry["source"]),
            as_of=str(entry["as_of"]),
            free_per_month=float(entry.get("free_per_month", 0.0)),
            minimum_gb=float(entry.get("minimum_gb", 0.0)),
            confirmed=str(entry.get("confirmed", "")),
        )
    absent = [name for name in REQUIRED_PRICES if name not in prices]
    if absent:
        raise CostModelError(f"the price table lacks {', '.join(absent)}")
    return PriceTable(prices, str(data.get("compiled_on", "")))
