"""A retention in the cost model: read messages older than N days expire, unread ones never;
what the report says it saves; and `server.py cost`'s options for the deployment."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.bill import monthly_cost
from services.cost.dynamodb_report import retention_section
from services.cost.prices import load_prices
from services.cost.profile import OperationCost, load_profile
from services.cost.report import cost_report
from services.cost.retention import expiry_units, stored_messages
from tests.unit.test_cost_model import IDLE, QUIET, measurements, prices

REPO = Path(__file__).resolve().parents[2]
# measurements(): 824 bytes a message besides its body, 176 more while unread.
USAGE = replace(IDLE, sends_per_day=1, history_days=100, unread_share=0.5, read_share=0.8)


def test_keeping_everything_stores_the_whole_history() -> None:
    kept = stored_messages(USAGE, measurements(), None)
    assert (kept.within_retention, kept.unread_past_retention) == (100, 0)
    assert kept.bytes == pytest.approx(100 * (824 + 200 + 0.5 * 176))
    # A retention longer than the history expires nothing.
    assert stored_messages(USAGE, measurements(), 365) == kept


def test_a_retention_keeps_its_days_and_the_older_messages_never_read() -> None:
    # 10 days of everything; of the 90 days before, the 20% never read stay, all unread.
    kept = stored_messages(USAGE, measurements(), 10)
    assert kept.within_retention == 10
    assert kept.unread_past_retention == pytest.approx(90 * 0.2)
    expected = 10 * (824 + 200 + 0.5 * 176) + 18 * (824 + 200 + 176)
    assert kept.bytes == pytest.approx(expected)


def test_when_everything_is_read_a_retention_keeps_only_its_days() -> None:
    everything_read = replace(USAGE, read_share=1.0)
    assert stored_messages(everything_read, measurements(), 0).bytes == 0
    with pytest.raises(ValueError):
        stored_messages(USAGE, measurements(), -1)


def test_the_bill_stores_what_the_retention_keeps() -> None:
    table = prices(dynamodb_storage=1.0, dynamodb_pitr=0.5)
    a = replace(QUIET, point_in_time_recovery=True, retention_days=10)
    bill = monthly_cost(1000, measurements(), USAGE, table, a)
    gb = 1000 * stored_messages(USAGE, measurements(), 10).bytes / 1024**3
    assert bill.by_service()["DynamoDB storage"] == pytest.approx(gb * 1.5)
    assert "table and indexes, read kept 10 days" in [line.item for line in bill.lines]


def test_shorter_retentions_save_more_and_the_report_says_how_much() -> None:
    m, usage, table = load_profile(), UsageProfile(), load_prices()
    costs = [
        monthly_cost(1_000_000, m, usage, table, Assumptions(retention_days=days)).by_service()[
            "DynamoDB storage"
        ]
        for days in (None, 180, 90, 30, 7)
    ]
    assert costs == sorted(costs, reverse=True) and costs[-1] > 0
    for mode in ("on-demand", "provisioned"):
        a = Assumptions(dynamodb_capacity_mode=mode)
        text = retention_section([1_000_000], m, usage, table, a)
        kept, ninety = (
            monthly_cost(1_000_000, m, usage, table, replace(a, retention_days=days)).by_service()
            for days in (None, 90)
        )
        dynamodb = ("DynamoDB reads", "DynamoDB writes", "DynamoDB storage")
        net = sum(kept[s] for s in dynamodb) - sum(ninety[s] for s in dynamodb)
        shown = f"-${net:,.2f}" if net >= 0 else f"+${-net:,.2f}"
        assert f"${kept['DynamoDB storage']:,.2f}" in text
        assert f"${ninety['DynamoDB storage']:,.2f} ({shown})" in text
        assert "90% of messages are ever read, 365 days of history" in text
        assert f"in {mode} capacity" in text


def test_a_retention_writes_every_read_messages_expiry() -> None:
    # 1 send a day, 80% read, none by markRead: 0.8 messages a day get their expiry from the
    # walk after a horizon, at 8 WU and 1.4 RU each.
    usage = replace(USAGE, mark_reads_per_day=0)
    assert expiry_units(usage, Assumptions()) == OperationCost()
    units = expiry_units(usage, Assumptions(retention_days=30))
    assert units.write_units == pytest.approx(0.8 * 8)
    assert units.read_units == pytest.approx(0.8 * 1.4)
    # Read by markRead, the expiry rides in its transaction: writes, no walk's reads.
    units = expiry_units(replace(usage, mark_reads_per_day=5), Assumptions(retention_days=30))
    assert units.write_units == pytest.approx(6.4)
    assert units.read_units == 0
    # The bill pays them: 1,000 users for a month (730 hours), at $1 a write unit.
    table = prices(dynamodb_write_request_unit=1.0)
    a = replace(QUIET, retention_days=30)
    with_expiry = monthly_cost(1000, measurements(), usage, table, a).by_service()
    without = monthly_cost(1000, measurements(), usage, table, QUIET).by_service()
    assert with_expiry["DynamoDB writes"] - without["DynamoDB writes"] == pytest.approx(
        1000 * (730 / 24) * 0.8 * 8
    )


def test_a_retention_given_is_a_column_of_its_own() -> None:
    m, usage, table = load_profile(), UsageProfile(), load_prices()
    text = retention_section([1_000], m, usage, table, Assumptions(retention_days=45))
    assert "45 days" in text.splitlines()[3]  # the header row, under three lines of prose


def test_the_report_keeps_todays_headline_and_adds_the_dynamodb_choices() -> None:
    text = cost_report([1_000, 1_000_000], None, None)
    assert "DynamoDB: on-demand capacity, Standard table class, every message kept" in text
    assert "DynamoDB by capacity mode and table class" in text
    assert "Retention: read messages older than N days expire through TTL" in text
    assert "DynamoDB reads: read request units" in text
    assert "DynamoDB storage: table and indexes " in text


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "server.py", "cost", "--users", "1000", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cost_command_prices_the_deployment_its_options_describe() -> None:
    done = run(
        "--capacity-mode",
        "provisioned",
        "--table-class",
        "STANDARD_INFREQUENT_ACCESS",
        "--retention-days",
        "30",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert (
        "DynamoDB: provisioned capacity, Standard-IA table class, read messages kept 30 days" in out
    )
    assert "DynamoDB writes: write capacity, IA: peak" in out
    assert "DynamoDB storage: table and indexes, IA, read kept 30 days" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--retention-days", "-1"), "a retention is 0 days or more"),
        (("--retention-days", "soon"), "not a number of days"),
        (("--capacity-mode", "reserved"), "invalid choice"),
        (("--table-class", "GLACIER"), "invalid choice"),
    ],
)
def test_a_wrong_option_is_a_usage_error(args: tuple[str, ...], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
