"""The monthly bill for a number of users: each service's line items from the day's traffic
(`workload`), the measured profile, the assumptions and the price table."""

from __future__ import annotations

import math

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.cpu import (
    api_cpu_ms_per_day,
    idle_connection_cpu_ms_per_hour,
    lambda_seconds_per_invocation,
)
from services.cost.dynamodb_bill import dynamodb_lines
from services.cost.line_items import LineItem, TierCost, charged
from services.cost.prices import PriceTable
from services.cost.profile import Measurements, OperationCost
from services.cost.units import DAYS_PER_MONTH, GB, HOURS_PER_MONTH
from services.cost.workload import (
    daily_operations,
    requests_per_day,
    response_bytes_per_day,
    worker_batch_size,
)


def monthly_cost(
    users: int,
    measurements: Measurements,
    usage: UsageProfile,
    prices: PriceTable,
    assumptions: Assumptions | None = None,
) -> TierCost:
    """The monthly bill for `users` users, as line items per service."""
    if users < 0:
        raise ValueError("users must be >= 0")
    t = _Tier(users, measurements, usage, prices, assumptions or Assumptions())
    t.dynamodb()
    t.sqs()
    t.worker()
    t.cache()
    t.api()
    t.network()
    return TierCost(users, tuple(t.lines))


class _Tier:
    """The line items of one tier, service by service."""

    def __init__(
        self, users: int, m: Measurements, usage: UsageProfile, p: PriceTable, a: Assumptions
    ) -> None:
        self.users, self.m, self.usage, self.p, self.a = users, m, usage, p, a
        self.batch = worker_batch_size(users, usage, a, m.worker_batch_size)
        self.total = OperationCost()
        for calls, cost in daily_operations(m, usage, self.batch).values():
            self.total = self.total.plus(cost.scaled(calls * users * DAYS_PER_MONTH))
        self.online = min(1.0, usage.live_connection_hours_per_day / 24)
        self.lines: list[LineItem] = []

    def add(self, service: str, item: str, quantity: float, unit: str, cost: float) -> None:
        self.lines.append(LineItem(service, item, quantity, unit, cost))

    def charge(self, service: str, item: str, price: str, quantity: float, unit: str) -> None:
        """A metered line, and its free tier as a line of its own when the price has one."""
        self.lines += charged(service, item, self.p[price], quantity, unit)

    def dynamodb(self) -> None:
        """Reads and writes in the deployment's capacity mode, storage in its table class, with
        its retention (services/cost/dynamodb_bill.py)."""
        self.lines += dynamodb_lines(
            self.users, self.total, m=self.m, usage=self.usage, prices=self.p, a=self.a
        )

    def sqs(self) -> None:
        """Sends, receives and deletes as measured (per 64 KB), plus the idle long polls."""
        requests = self.total.sqs_requests + self.a.sqs_idle_receives_per_month
        self.charge("SQS", "requests (64 KB each)", "sqs_standard_request", requests, "requests")

    def worker(self) -> None:
        """One invocation per batch, each as long as its measured CPU and the stated wait."""
        a = self.a
        invocations = self.users * self.usage.sends_per_day * DAYS_PER_MONTH / self.batch
        seconds = lambda_seconds_per_invocation(self.m.cpu, a, self.batch)
        gb_seconds = invocations * seconds * a.lambda_memory_mb / 1024
        service = "Lambda (delivery worker)"
        self.charge(
            service,
            f"invocations (batches of {self.batch:.1f})",
            "lambda_request",
            invocations,
            "requests",
        )
        item = f"duration ({seconds * 1000:.0f} ms an invocation)"
        self.charge(service, item, "lambda_gb_second_x86", gb_seconds, "GB-s")

    def cache(self) -> None:
        """A day of bodies (each stays 24 h once read), at least the minimum; ECPUs measured."""
        usage, a = self.usage, self.a
        minimum = self.p["elasticache_valkey_serverless_storage"].minimum_gb
        per_body = usage.average_body_chars + a.cache_bytes_per_message_excluding_body
        cached_gb = self.users * usage.sends_per_day * per_body / GB
        gb_hours = max(cached_gb, minimum) * HOURS_PER_MONTH
        service = "ElastiCache Serverless (Valkey)"
        item = f"data stored (at least {minimum:g} GB)"
        self.charge(service, item, "elasticache_valkey_serverless_storage", gb_hours, "GB-hours")
        ecpus = self.total.redis_ecpus + self.total.redis_push_ecpus
        self.charge(service, "ECPUs", "elasticache_valkey_serverless_ecpu", ecpus, "ECPUs")

    def api(self) -> None:
        """Enough Fargate tasks for the peak hour's live connections (memory) and for the CPU
        of its requests and idle sockets (measured), at the target utilisation."""
        a, cpu = self.a, self.m.cpu
        connections = self.users * self.online
        requests_ms = self.users * api_cpu_ms_per_day(cpu, self.usage) / 86_400
        idle_ms = connections * idle_connection_cpu_ms_per_hour(cpu) / 3_600
        per_task_ms = 1000 * a.api_task_vcpu * a.api_target_cpu_utilisation
        tasks = max(
            a.api_min_tasks,
            math.ceil(connections * a.peak_to_average / a.connections_per_task),
            math.ceil((requests_ms + idle_ms) * a.peak_to_average / per_task_ms),
        )
        hours = tasks * HOURS_PER_MONTH
        cost = self.p["fargate_vcpu_hour"].cost(hours * a.api_task_vcpu) + self.p[
            "fargate_gb_hour"
        ].cost(hours * a.api_task_gb)
        per_request = api_cpu_ms_per_day(cpu, self.usage) / max(requests_per_day(self.usage), 1)
        item = (
            f"{tasks} tasks of {a.api_task_vcpu:g} vCPU, {a.api_task_gb:g} GB "
            f"({per_request:.2f} ms CPU a request, {a.api_target_cpu_utilisation:.0%} at peak)"
        )
        self.add("API compute (Fargate)", item, hours, "task-hours", cost)

    def network(self) -> None:
        """The ALB (hours, and LCUs from the largest dimension of the average hour), the SQS
        interface endpoint in each AZ, and data out to clients."""
        a, usage = self.a, self.usage
        out_gb = self.users * response_bytes_per_day(usage, a) * DAYS_PER_MONTH / GB
        new_connections_per_second = self.users * usage.live_sessions_per_day * 2 / 86_400
        lcus = max(
            new_connections_per_second / 25,
            self.users * self.online / 3000,
            out_gb / HOURS_PER_MONTH,
        )
        hours = a.load_balancers * HOURS_PER_MONTH
        self.charge("Load balancer (ALB)", "load balancer hours", "alb_hour", hours, "hours")
        self.charge("Load balancer (ALB)", "LCU-hours", "alb_lcu_hour", lcus * hours, "LCU-hours")
        endpoint_hours = a.availability_zones * HOURS_PER_MONTH
        self.charge(
            "VPC endpoints",
            "SQS interface endpoint",
            "vpc_interface_endpoint_hour",
            endpoint_hours,
            "AZ-hours",
        )
        self.charge("Data transfer out", "responses and pushes", "data_transfer_out", out_gb, "GB")
