"""InboxQL's GraphiQL page (graphiql.html): the IDE with the headers and tabs this server
prefills, loading its bundle from this server or from the CDN."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.local.npm_assets import GRAPHIQL

GRAPHIQL_TEMPLATE = Path(__file__).with_name("graphiql.html")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "operations"
TAB_ORDER = ("Inbox", "SendMessage", "OnUnreadCount", "OnMessageReceived", "MarkRead")


def example_operations() -> list[str]:
    """The documents in examples/operations, most used first, for GraphiQL's tabs."""
    found = {path.stem: path.read_text() for path in EXAMPLES.glob("*.graphql")}
    first = [name for name in TAB_ORDER if name in found]
    return [found[name] for name in first + sorted(set(found) - set(first))]


def graphiql_page(
    headers: Mapping[str, str], assets: Mapping[str, str] | None, tabs: Sequence[str]
) -> str:
    """`assets` maps each file of the GRAPHIQL bundle to the URL the page loads it from (None:
    the CDN); `tabs` are documents, each opened in a tab."""
    page = (
        GRAPHIQL_TEMPLATE.read_text()
        .replace("__DEFAULT_HEADERS__", json.dumps(json.dumps(headers, indent=2)))
        # `</` could close the page's <script> early: JSON allows escaping the slash.
        .replace("__DEFAULT_TABS__", json.dumps(list(tabs)).replace("</", "<\\/"))
    )
    urls = assets or {name: GRAPHIQL.cdn_url(name) for name in GRAPHIQL.files}
    for name in GRAPHIQL.files:
        page = page.replace(f"__ASSET[{name}]__", html.escape(urls[name], quote=True))
    return page
