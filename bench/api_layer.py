"""Target 1: the API layer alone. InboxQL's schema and HTTP layer over in-memory fakes, against
a bare Starlette route returning precomputed JSON, in the same server process and run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from bench.context import BENCH_JWT_SECRET, BenchContext
from bench.cpu import cpu_figure
from bench.documents import (
    CHANGES_PAGE_OF_20_QUERY,
    CHANGES_QUERY,
    CONVERSATIONS_QUERY,
    PAGE_QUERY,
    UNREAD_QUERY,
)
from bench.figures import Figure
from bench.latency import LatencyDistribution, sum_histograms
from bench.processes import ServerProcess, http_load, serving
from bench.serve import FAKE_USER
from services.domain import UserId
from services.tokens.verifiers import HmacTokenVerifier

CONCURRENCY = 32


def token_for(user: UserId) -> str:
    return HmacTokenVerifier(BENCH_JWT_SECRET).issue(user, ttl_seconds=3600)


def check_answers(url: str, token: str, query: str) -> dict[str, Any]:
    """One request before the load: a figure for wrong answers would mean nothing."""
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"{query!r} answered {response.status_code}: {body}")
    return body


def interleaved(
    server: ServerProcess,
    token: str,
    subjects: dict[str, str],
    *,
    rounds: int,
    seconds: float,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The raw route and each query in turn, `rounds` times, so that whatever else loads the
    machine weighs on all of them alike. Returns the baseline's and each subject's totals,
    each with the server's CPU per request over its turns (`cpu_ms`)."""
    totals: dict[str, dict[str, Any]] = {}
    port = server.port
    pid = server.process.pid

    def add(name: str, result: dict[str, Any]) -> None:
        total = totals.setdefault(
            name,
            {"requests": 0, "seconds": 0.0, "errors": 0, "runs": [], "cpu_seconds": 0.0},
        )
        total["requests"] += result["requests"]
        total["seconds"] += result["seconds"]
        total["errors"] += result["errors"]
        total["runs"].append(result)
        total["rps"] = total["requests"] / total["seconds"]
        total["cpu_seconds"] += result["cpu_seconds"]
        total["completed"] = total.get("completed", 0) + result["completed"]
        total["cpu_ms"] = 1000 * total["cpu_seconds"] / total["completed"]

    for _ in range(rounds):
        raw = http_load(port, path="/raw", concurrency=CONCURRENCY, seconds=seconds, server_pid=pid)
        add("raw", raw)
        for name, query in subjects.items():
            body = {"query": query}
            add(
                name,
                http_load(
                    port,
                    path="/graphql",
                    body=body,
                    token=token,
                    concurrency=CONCURRENCY,
                    seconds=seconds,
                    server_pid=pid,
                ),
            )
    for name, total in totals.items():
        if total["errors"]:
            first = next(r["first_error"] for r in total["runs"] if r["errors"])
            raise RuntimeError(f"{name}: {total['errors']} bad answers under load: {first}")
    raw_total = totals.pop("raw")
    return raw_total, totals


def check_read_paths(url: str, token: str) -> None:
    """Issue 13's pages as full as the figures assume: 20 conversations, 100 changes."""
    listed = check_answers(url, token, CONVERSATIONS_QUERY)["data"]["conversations"]
    if len(listed["edges"]) != 20 or not listed["pageInfo"]["hasNextPage"]:
        raise RuntimeError(f"a full page of 20 conversations expected: {listed}")
    changes = check_answers(url, token, CHANGES_QUERY)["data"]["changes"]
    if len(changes["events"]) != 100 or not changes["hasMore"]:
        raise RuntimeError(f"a full page of 100 changes expected: {changes}")


def _measure(
    context: BenchContext,
    token: str,
    options: Sequence[str],
    rounds: int,
    *,
    read_paths: bool = False,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    subjects = {"messages": PAGE_QUERY, "unread": UNREAD_QUERY}
    with serving("fake", context.log_dir, options=options) as server:
        page = check_answers(server.url, token, PAGE_QUERY)
        if len(page["data"]["messages"]["edges"]) != 20:
            raise RuntimeError(f"a page of 20 expected: {page}")
        check_answers(server.url, token, UNREAD_QUERY)
        if read_paths:
            check_read_paths(server.url, token)
            subjects |= {
                "conversations": CONVERSATIONS_QUERY,
                "changes": CHANGES_QUERY,
                "changes20": CHANGES_PAGE_OF_20_QUERY,
            }
        return interleaved(server, token, subjects, rounds=rounds, seconds=context.seconds(5.0))


def run(context: BenchContext) -> list[Figure]:
    token = token_for(FAKE_USER)
    raw, subjects = _measure(context, token, (), rounds=1 if context.quick else 2)
    # What the response cache buys: the same server executing every query.
    proposals = {"without the response cache": ("--no-response-cache",)}
    baseline = f"raw precomputed-JSON Starlette route, req/s ({raw['requests']} requests)"
    figures = [
        Figure(
            1,
            "messages(first: 20), in-memory store",
            subjects["messages"]["rps"],
            "req/s",
            target=0.25,
            baseline=raw["rps"],
            baseline_name=baseline,
            detail={"runs": subjects["messages"]["runs"], "baseline_runs": raw["runs"]},
        ),
        Figure(
            1,
            "unreadCount, in-memory store",
            subjects["unread"]["rps"],
            "req/s",
            target=0.40,
            baseline=raw["rps"],
            baseline_name=baseline,
            detail={"runs": subjects["unread"]["runs"]},
        ),
    ]
    for proposal, options in proposals.items():
        proposed_raw, proposed = _measure(context, token, options, rounds=1, read_paths=True)
        # Issue 14 target 1: the executed page, what a reader whose inbox changed gets.
        for name, label, target in (
            ("messages", "messages(first: 20)", 0.10),
            ("unread", "unreadCount", None),
        ):
            figures.append(
                Figure(
                    1,
                    f"  {label}, {proposal}",
                    proposed[name]["rps"],
                    "req/s",
                    target=target,
                    baseline=proposed_raw["rps"],
                    baseline_name="raw route, same server",
                    detail={"runs": proposed[name]["runs"], "baseline_runs": proposed_raw["runs"]},
                    latency=(
                        executed_page_latency(proposed, proposed_raw)
                        if name == "messages"
                        else None
                    ),
                )
            )
        figures += read_path_figures(proposed)
        figures += cpu_figures(subjects, proposed, raw)
    return figures


def executed_page_latency(
    executed: dict[str, dict[str, Any]], raw: dict[str, Any]
) -> LatencyDistribution:
    """The executed page's latency over its turns, the raw route's over its own beside it."""
    return LatencyDistribution(
        "t1-executed-page-in-memory",
        f"messages(first: 20) executed, in-memory store, {CONCURRENCY} connections",
        sum_histograms(executed["messages"]["runs"]),
        sum_histograms(raw["runs"]),
        "the raw precomputed-JSON route, same server, in turns",
    )


def cpu_figures(
    cached: dict[str, dict[str, Any]],
    executed: dict[str, dict[str, Any]],
    raw: dict[str, Any],
) -> list[Figure]:
    """The server's CPU per request in the turns above (info: the cost model reads the local
    stack's figures, bench/query_path.py; these show the API layer's share)."""
    where = "bench.serve fake (in-memory store), {}, {} connections"
    return [
        cpu_figure(
            1,
            f"CPU: {label}, in-memory store",
            subjects[name]["cpu_ms"],
            key=key,
            measured_on=where.format(cache, CONCURRENCY),
            detail={"completed": subjects[name]["completed"], "raw_route_ms": raw["cpu_ms"]},
        )
        for label, subjects, name, key, cache in (
            ("unreadCount", executed, "unread", "unread_count_in_memory", "response cache off"),
            (
                "messages(first: 20) executed",
                executed,
                "messages",
                "inbox_page_executed_in_memory",
                "response cache off",
            ),
            (
                "messages(first: 20) cached",
                cached,
                "messages",
                "inbox_page_cached_in_memory",
                "response cache on",
            ),
        )
    ]


def read_path_figures(executed: dict[str, dict[str, Any]]) -> list[Figure]:
    """Issue 14 target 5, each against the executed inbox page measured in turns with it."""
    page = executed["messages"]
    baseline = f"messages(first: 20) executed, same server, req/s ({page['requests']} requests)"
    return [
        Figure(
            1,
            f"{label}, executed",
            executed[name]["rps"],
            "req/s",
            target=target,
            baseline=page["rps"],
            baseline_name=baseline,
            detail={"runs": executed[name]["runs"], "baseline_runs": page["runs"]},
        )
        for name, label, target in (
            ("conversations", "conversations(first: 20)", 0.5),
            ("changes", "changes(since, first: 100)", 1.0),
            # The same number of items as the inbox page: what a page of changes costs
            # against a page of messages, item for item (docs/performance.md).
            ("changes20", "changes(since, first: 20)", None),
        )
    ]
