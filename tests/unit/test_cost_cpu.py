"""The cost model's CPU side: API tasks and Lambda duration from measured CPU per operation,
by hand, and the shipped CPU profile."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.bill import monthly_cost
from services.cost.cpu import (
    DEFAULT_CPU_PROFILE,
    REQUIRED_CPU,
    CpuCosts,
    api_cpu_ms_per_day,
    lambda_seconds_per_invocation,
    load_cpu_profile,
    parse_cpu_profile,
)
from services.cost.errors import CostModelError
from services.cost.line_items import LineItem
from services.cost.profile import load_profile
from services.cost.report import cost_report
from services.cost.units import DAYS_PER_MONTH, HOURS_PER_MONTH
from tests.unit.test_cost_model import IDLE, QUIET, measurements, prices

CPU = CpuCosts(
    unread_count_ms=2.0,
    inbox_page_executed_ms=20.0,
    inbox_page_cached_ms=4.0,
    send_api_ms=5.0,
    delivery_worker_ms=10.0,
    idle_subscription_ms_per_hour=36.0,
)


def api_line(users: int, usage: UsageProfile, assumptions: Assumptions) -> LineItem:
    m = replace(measurements(), cpu=CPU)
    bill = monthly_cost(users, m, usage, prices(fargate_vcpu_hour=1.0), assumptions)
    (line,) = [line for line in bill.lines if line.service == "API compute (Fargate)"]
    return line


def test_api_tasks_follow_the_measured_cpu_of_the_request_mix() -> None:
    usage = replace(IDLE, sends_per_day=86_400, inbox_pages_per_day=86_400)
    usage = replace(usage, inbox_page_response_cache_hit_ratio=0.5)
    # A user's second: a send (5 ms) and a page, half cached (4) and half executed (20): 17 ms.
    assert api_cpu_ms_per_day(CPU, usage) / 86_400 == pytest.approx(17.0)
    a = replace(QUIET, api_min_tasks=1, peak_to_average=2.0, api_target_cpu_utilisation=0.5)
    # 100 users: 1,700 ms a second, 3,400 at the peak, 500 ms a task a second at 50%: 7 tasks.
    line = api_line(100, usage, a)
    assert line.quantity == pytest.approx(7 * HOURS_PER_MONTH)
    assert "7 tasks" in line.item and "8.50 ms CPU a request" in line.item


def test_idle_subscriptions_add_their_cpu() -> None:
    usage = replace(IDLE, live_connection_hours_per_day=12)
    a = replace(QUIET, api_min_tasks=1, peak_to_average=1.0, connections_per_task=1e9)
    # 10,000 users, half online, two subscriptions each at 36 ms an hour: 100 ms a second,
    # one task at 60% (600 ms a second); 100,000 users need 1,000 ms a second: 2 tasks.
    assert api_line(10_000, usage, a).quantity == pytest.approx(HOURS_PER_MONTH)
    assert api_line(100_000, usage, a).quantity == pytest.approx(2 * HOURS_PER_MONTH)


def test_lambda_duration_is_the_batch_cpu_at_its_memory_share_plus_the_wait() -> None:
    a = Assumptions(lambda_memory_mb=442.25, lambda_wait_seconds_per_invocation=0.02)
    # A quarter of a vCPU: 10 deliveries of 10 ms CPU take 400 ms, plus 20 ms of waiting.
    assert lambda_seconds_per_invocation(CPU, a, 10) == pytest.approx(0.42)
    # Memory beyond one vCPU does not make one thread faster.
    big = replace(a, lambda_memory_mb=4096)
    assert lambda_seconds_per_invocation(CPU, big, 10) == pytest.approx(0.12)


def test_lambda_bill_uses_that_duration() -> None:
    usage = replace(IDLE, sends_per_day=10)
    m = replace(measurements(), cpu=CPU)
    a = replace(QUIET, lambda_memory_mb=1769, lambda_wait_seconds_per_invocation=0.05)
    bill = monthly_cost(1, m, usage, prices(lambda_gb_second_x86=1.0), a)
    # One user's 10 sends a day come in batches of 1: 10 ms of CPU and 50 ms of wait each.
    expected = 10 * DAYS_PER_MONTH * 0.06 * 1769 / 1024
    assert bill.by_service()["Lambda (delivery worker)"] == pytest.approx(expected)


def test_shipped_cpu_profile_has_every_figure_with_its_provenance() -> None:
    data: Any = json.loads(DEFAULT_CPU_PROFILE.read_text())
    assert data["method"] and data["machine"]
    for key in REQUIRED_CPU:
        entry = data["operations"][key]
        assert entry["ms"] >= 0 and entry["measured_on"], key
        assert entry["measured_at"][:4].isdigit(), key
        assert entry["command"].startswith("uv run python -m bench"), key
    cpu = load_cpu_profile()
    assert cpu.inbox_page_executed_ms > cpu.inbox_page_cached_ms > 0
    assert cpu.send_api_ms > 0 and cpu.delivery_worker_ms > 0
    assert load_profile().cpu == cpu


def test_cpu_profile_missing_a_figure_is_refused() -> None:
    data: Any = json.loads(DEFAULT_CPU_PROFILE.read_text())
    del data["operations"]["delivery_worker"]
    with pytest.raises(CostModelError, match="delivery_worker"):
        parse_cpu_profile(data)


def test_report_says_where_the_cpu_figures_come_from() -> None:
    text = cost_report([1_000_000], None, None)
    assert "services/cost/cpu_profile.json" in text
    assert "--write-cpu-profile" in text
    assert "ms CPU a request" in text and "ms an invocation" in text
