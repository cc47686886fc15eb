"""deploy/grafana-dashboard.json asks only for what a real server's /metrics serves: every metric
name in every panel's PromQL, every label it filters or groups on, and every label value it
matches; and every InboxQL metric family served has a panel."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.e2e.test_subscriptions import auth, connected, next_payload, subscribe

Client = Callable[[str], GraphQLClient]
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"

# The sample names a family of each type is served as. In the text format a counter's TYPE line
# already names it `..._total`; `..._created` timestamps come as gauge families of their own.
SUFFIXES = {
    "counter": ("",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
KEYWORDS |= {"and", "or", "unless", "offset", "inf", "nan"}
IDENTIFIER = re.compile(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label names (inside braces or a grouping) or range durations."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = GROUPING.sub(" ", bare)
    names = set()
    for match in IDENTIFIER.finditer(bare):
        is_call = bare[match.end() :].lstrip().startswith("(")
        if not is_call and match.group().lower() not in KEYWORDS:
            names.add(match.group())
    return names


def grouping_labels(expr: str) -> set[str]:
    return {label.strip() for group in GROUPING.findall(expr) for label in group.split(",")} - {""}


@dataclass
class Scrape:
    """What one /metrics answer serves: sample names each family type stands for, even for a
    family with no sample yet, and the labels and values of the samples it holds."""

    families: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Scrape:
        scrape = cls()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                scrape.families[name] = kind
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                seen = scrape.labels.setdefault(sample.name, defaultdict(set))
                for label, value in sample.labels.items():
                    seen[label].add(value)
        return scrape

    def sample_names(self) -> set[str]:
        return {
            name + suffix
            for name, kind in self.families.items()
            for suffix in SUFFIXES.get(kind, ("",))
        }


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel, rows' nested panels included."""

    def walk(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                yield panel["title"], target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard["panels"])


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, stage) (rate(a_bucket{stage="x"}[$__rate_interval])))'
        " / on (stage) group_left b_total offset 5m + max(c) * 1e3"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}
    assert grouping_labels(expr) == {"le", "stage"}


def test_the_dashboard_is_an_importable_model_on_a_templated_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = dashboard["templating"]["list"]
    assert {"name": "datasource", "type": "datasource", "query": "prometheus"}.items() <= (
        variables[0].items()
    )
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


async def test_every_panel_reads_what_metrics_serves(
    server: Server, http: httpx.AsyncClient, as_user: Client
) -> None:
    # Some series exist only after traffic (per operation, per open subscription): make them.
    alice = new_user("alice")
    assert await as_user(alice).data("{ unreadCount }") == {"unreadCount": 0}
    async with connected(server, auth(server, alice)) as ws:
        await subscribe(ws, "badge", "subscription { unreadCount }")
        assert await next_payload(ws, "badge") == {"data": {"unreadCount": 0}}
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    scrape = Scrape.parse(response.text)
    servable = scrape.sample_names()
    used: set[str] = set()

    for title, expr in expressions(json.loads(DASHBOARD.read_text())):
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= servable, (title, sorted(names - servable))
        used |= names
        for name, matchers in SELECTOR.findall(expr):
            served = scrape.labels.get(name, {})
            for label, operator, value in MATCHER.findall(matchers):
                assert label in served, (title, name, label, sorted(served))
                if operator == "=":
                    assert value in served[label], (title, name, label, value)
        labels = {label for name in names for label in scrape.labels.get(name, {})}
        assert grouping_labels(expr) <= labels, (title, sorted(grouping_labels(expr) - labels))

    unused = {
        family
        for family, kind in scrape.families.items()
        if family.startswith("inboxql_")
        and not family.endswith("_created")
        and not any(family + suffix in used for suffix in SUFFIXES[kind])
    }
    assert not unused, f"families /metrics serves that no panel shows: {sorted(unused)}"
