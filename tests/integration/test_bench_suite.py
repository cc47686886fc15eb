"""The benchmark suite's quick mode on the session's local stack: every benchmark runs to the
end and reports what it must, and the numbers that are correctness (not speed) are right.
Benchmarks are not tests: no figure of speed is asserted here."""

from __future__ import annotations

from pathlib import Path

import orjson

from bench.__main__ import BENCHMARKS, run_benchmarks, write_results
from bench.context import BenchContext
from bench.cpu import PROFILE_KEY
from services.cost.cpu import REQUIRED_CPU
from services.local.stack import StackEndpoints


def test_quick_suite_runs_every_benchmark(stack: StackEndpoints, tmp_path: Path) -> None:
    context = BenchContext(quick=True, log_dir=tmp_path, stack=stack)
    figures, failures, _ = run_benchmarks(context, list(BENCHMARKS))
    assert failures == {}
    assert {f.target_id for f in figures} == set(BENCHMARKS)
    by_name = {f.name: f for f in figures}

    for figure in figures:
        assert figure.verdict in ("PASS", "MISS", "info"), figure
        if figure.baseline is not None:
            assert figure.baseline > 0 and figure.ratio is not None, figure
    # Every load was measured: requests served, and a same-run baseline for each ratio.
    assert by_name["messages(first: 20), in-memory store"].value > 0
    assert by_name["messages(first: 20) end to end, local stack"].value > 0
    executed_end_to_end = by_name["  the same page executed every time (response cache off)"]
    assert executed_end_to_end.target == 0.60 and executed_end_to_end.value > 0  # target 2
    # Issue 14 target 5: issue 13's read paths, each against the executed inbox page.
    executed = by_name["  messages(first: 20), without the response cache"]
    assert executed.target == 0.10, executed  # target 1
    executed_page = executed.value
    for name, target in (
        ("conversations(first: 20), executed", 0.5),
        ("changes(since, first: 100), executed", 1.0),
        ("changes(since, first: 20), executed", None),
    ):
        read_path = by_name[name]
        assert read_path.value > 0 and read_path.target == target, read_path
        assert read_path.baseline == executed_page, read_path
    # A repeated page is answered from the response cache; executed, its bodies come from
    # the body cache.
    assert by_name["response cache hit ratio under that load"].value > 0.99
    assert by_name["  body cache hit ratio, executed every time"].value == 1.0
    # Live updates: every subscription opened, one shared pub/sub connection, nothing lost.
    assert by_name["concurrent unreadCount subscriptions"].verdict == "PASS"
    assert by_name["server Redis pub/sub connections"].value == 1
    lost = [f for f in figures if f.name == "lost pushes"]
    assert len(lost) == 2 and all(f.value == 0 for f in lost)
    # The cost figures come with their breakdown by table and index.
    send = by_name["send: write units per message, all included"]
    assert set(send.detail["by_table_index"]) >= {"table", "lsi:unread", "gsi:conversation"}

    # Issue 14 target 6: the server's CPU per operation, each with what it was measured on,
    # every figure the cost model reads among them. A turn that served requests spent CPU.
    # (Besides the server's, target 3 prints its bare baseline's CPU: not the cost model's.)
    measured = [f for f in figures if f.unit == "ms CPU"]
    assert all(f.detail["measured_on"] for f in measured), measured
    cpu = {f.detail[PROFILE_KEY]: f for f in measured if PROFILE_KEY in f.detail}
    assert set(cpu) >= set(REQUIRED_CPU)
    assert len(measured) == len(cpu) + 1
    for key, figure in cpu.items():
        assert figure.verdict == "info" and figure.detail["measured_on"], figure
        assert figure.value > 0 or key == "idle_subscription_hour", figure
    assert cpu["delivery_worker"].detail["messages"] == cpu["send_api"].detail["run"]["completed"]

    out = tmp_path / "last.json"
    write_results(out, figures, failures, {}, elapsed=1.0, quick=True)
    written = orjson.loads(out.read_bytes())
    assert len(written["figures"]) == len(figures)
    assert {f["verdict"] for f in written["figures"]} <= {"PASS", "MISS", "info"}
