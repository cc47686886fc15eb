"""What the demo page's browser tests share: signing in, sending from the page, a recorder of
the URLs, script errors and screenshots, and the check that the page stayed on its origin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.e2e.conftest import GraphQLClient, Server

Client = Callable[[str], GraphQLClient]
LIVE_MS = 20_000  # a delivery, as seen by a subscriber (the e2e delivery deadline)


class Recorder:
    """Every URL the pages asked for (HTTP and WebSocket), every script error, every shot."""

    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.urls: list[str] = []
        self.page_errors: list[str] = []
        self.shots: list[Path] = []

    async def open(self, context: BrowserContext) -> Page:
        context.on("request", lambda request: self.urls.append(request.url))
        page = await context.new_page()
        page.on("websocket", lambda socket: self.urls.append(socket.url))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        return page

    async def shot(self, page: Page, name: str) -> None:
        path = self.artifacts / f"{len(self.shots) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.is_file() and path.stat().st_size > 0, path
        self.shots.append(path)


async def sign_in(page: Page, server: Server, user: str) -> None:
    await page.goto(f"{server.url}/")
    await page.get_by_test_id("signin-user").fill(user)
    await page.get_by_test_id("signin-submit").click()
    await expect_signed_in(page, user)


async def expect_signed_in(page: Page, user: str) -> None:
    await expect(page.get_by_test_id("current-user")).to_have_text(user)
    await expect(page.get_by_test_id("connection-status")).to_have_text("live", timeout=LIVE_MS)
    # The subscription's first value: from here on, every change reaches the badge.
    await expect(page.get_by_test_id("unread-badge")).not_to_have_text("…", timeout=LIVE_MS)


async def compose(page: Page, to: str, body: str) -> None:
    await page.get_by_test_id("compose-recipient").fill(to)
    await page.get_by_test_id("compose-body").fill(body)
    await page.get_by_test_id("compose-send").click()


async def send_from_page(page: Page, to: str, body: str) -> None:
    await compose(page, to, body)
    await expect(page.get_by_test_id("compose-status")).to_have_text(f"Sent to {to}.")
    await expect(page.get_by_test_id("compose-body")).to_have_value("")


def conversation_row(page: Page, with_user: str) -> Locator:
    """The row of the conversation with `with_user` in `page`'s conversation list."""
    return page.locator(f'[data-testid="conversation-row"][data-with="{with_user}"]')


async def ids_of(items: Locator) -> list[str]:
    ids: list[str] = await items.evaluate_all("items => items.map(item => item.dataset.id)")
    return ids


def assert_stayed_home(record: Recorder, server: Server) -> None:
    origin = urlsplit(server.url).netloc
    foreign = [url for url in record.urls if urlsplit(url).netloc != origin]
    assert foreign == [], f"the demo page reached beyond this server: {foreign}"
    assert record.page_errors == []
