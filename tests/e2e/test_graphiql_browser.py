"""GraphiQL in headless Chromium: assets served by InboxQL itself (no CDN), a query runs with the
header typed into the editor, and a subscription authenticated through `connection_init`
receives a push."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Browser, Page

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.polling import eventually

Client = Callable[[str], GraphQLClient]
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


async def set_editor(page: Page, selector: str, value: str) -> None:
    await page.evaluate(
        "([selector, value]) => document.querySelector(selector).CodeMirror.setValue(value)",
        [selector, value],
    )


async def wait_for_response(page: Page, expected: object) -> None:
    text = ""

    async def shown() -> bool:
        nonlocal text
        text = await editor_value(page, RESPONSE)
        try:
            return bool(json.loads(text) == expected)
        except ValueError:
            return False

    await eventually(
        shown, lambda: f"GraphiQL to show {expected}, not {text!r}", timeout=20, interval=0.1
    )


async def editor_value(page: Page, selector: str) -> str:
    text: str = await page.evaluate(
        "(selector) => document.querySelector(selector).CodeMirror.getValue()", selector
    )
    return text


async def run(page: Page, query: str) -> None:
    # GraphiQL fills its editors from its own state once it has mounted, which can overwrite a
    # value set too early: set until it holds, then run.
    async def taken() -> bool:
        if await editor_value(page, QUERY_EDITOR) == query:
            return True
        await set_editor(page, QUERY_EDITOR, query)
        return False

    await eventually(taken, "GraphiQL's query editor to take the query", timeout=20, interval=0.2)
    await set_editor(page, RESPONSE, "")
    await page.click(".graphiql-execute-button")


async def test_graphiql_query_and_subscription(
    browser: Browser, server: Server, as_user: Client, artifacts: Path
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    page = await browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    async with page.expect_response(lambda r: r.request.method == "POST"):  # introspection
        await page.goto(f"{server.url}/graphql")
    await page.wait_for_selector(QUERY_EDITOR)
    await page.screenshot(path=str(artifacts / "graphiql-opened.png"))
    tabs = await page.locator(".graphiql-tab").count()
    assert tabs >= 10, f"expected a tab per example operation, saw {tabs}"
    headers = json.dumps({"Authorization": f"Bearer {server.token(alice)}"})

    async def headers_hold_the_token() -> bool:
        # The editor can drop keystrokes typed while GraphiQL is still settling: type again.
        if await editor_value(page, HEADERS_EDITOR) == headers:
            return True
        await set_editor(page, HEADERS_EDITOR, headers)
        return False

    await eventually(
        headers_hold_the_token, "the headers editor to hold the token", timeout=30, interval=0.2
    )

    await run(page, "{ unreadCount }")
    await wait_for_response(page, {"data": {"unreadCount": 0}})

    await run(page, "subscription { unreadCount }")
    await wait_for_response(page, {"data": {"unreadCount": 0}})
    await as_user(bob).send(alice, "hello GraphiQL")
    await wait_for_response(page, {"data": {"unreadCount": 1}})
    await page.screenshot(path=str(artifacts / "graphiql-subscription.png"))

    foreign = [url for url in requested if not url.startswith(server.url)]
    assert foreign == [], f"GraphiQL reached beyond this server: {foreign}"
