"""The demo inbox at `/` in headless Chromium, two users in two browser contexts: a message sent
from one compose box shows up live in the other's inbox and badge, opening it and "Mark all
read" bring the badge back to 0, and "Load more" pages through older messages. A screenshot of
each step is kept in the test's artifacts dir; no request leaves the server's origin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    WebSocketRoute,
    expect,
)

from tests.conftest import new_user
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


@dataclass
class Scene:
    """Alice and Bob, signed in on the demo page in two browser contexts."""

    server: Server
    record: Recorder
    alice: str
    bob: str
    alice_page: Page
    bob_page: Page

    @property
    def badge(self) -> Locator:
        return self.alice_page.get_by_test_id("unread-badge")

    @property
    def items(self) -> Locator:
        return self.alice_page.get_by_test_id("inbox-item")

    @property
    def unread_items(self) -> Locator:
        return self.alice_page.locator('[data-testid="inbox-item"][data-read="false"]')


async def ids_of(items: Locator) -> list[str]:
    ids: list[str] = await items.evaluate_all("items => items.map(item => item.dataset.id)")
    return ids


def assert_stayed_home(record: Recorder, server: Server) -> None:
    origin = urlsplit(server.url).netloc
    foreign = [url for url in record.urls if urlsplit(url).netloc != origin]
    assert foreign == [], f"the demo page reached beyond this server: {foreign}"
    assert record.page_errors == []


async def test_two_users_message_live_and_read(
    browser: Browser, server: Server, as_user: Client, artifacts: Path
) -> None:
    record = Recorder(artifacts)
    alice_context, bob_context = await browser.new_context(), await browser.new_context()
    scene = Scene(
        server,
        record,
        new_user("alice"),
        new_user("bob"),
        await record.open(alice_context),
        await record.open(bob_context),
    )
    # Each context signs in with its own dev token and opens its own subscriptions.
    await sign_in(scene.alice_page, server, scene.alice)
    await sign_in(scene.bob_page, server, scene.bob)
    await expect(scene.badge).to_have_text("0")
    await expect(scene.alice_page.get_by_test_id("inbox-empty")).to_be_visible()
    await record.shot(scene.alice_page, "alice-signed-in")
    await record.shot(scene.bob_page, "bob-signed-in")

    first = await bob_sends_alice_sees_it_live(scene)
    await alice_opens_it(scene, first)
    follow_ups = await alice_marks_all_read(scene)
    await a_refused_send_is_shown(scene)
    ids = await alice_pages_through_the_inbox(scene, as_user, [first, *follow_ups])
    await alice_pages_through_the_conversation(scene, first, ids)

    await alice_context.close()
    await bob_context.close()
    assert [path.name for path in record.shots] == [
        "01-alice-signed-in.png",
        "02-bob-signed-in.png",
        "03-bob-sent.png",
        "04-alice-received-live.png",
        "05-alice-opened.png",
        "06-alice-three-unread.png",
        "07-alice-marked-all-read.png",
        "08-bob-send-refused.png",
        "09-alice-first-page.png",
        "10-alice-load-more.png",
        "11-alice-conversation.png",
    ]
    assert all(path.is_file() for path in record.shots)
    assert any(url.startswith(server.ws_url) for url in record.urls), "no WebSocket opened"
    assert_stayed_home(record, server)


async def bob_sends_alice_sees_it_live(scene: Scene) -> str:
    """Bob's compose box; alice's badge and inbox update without a reload."""
    await scene.alice_page.evaluate("window.notReloaded = true")
    body = "Hello alice <b>not bold</b> & welcome"
    await send_from_page(scene.bob_page, scene.alice, body)
    await scene.record.shot(scene.bob_page, "bob-sent")
    await expect(scene.badge).to_have_text("1", timeout=LIVE_MS)
    await expect(scene.items).to_have_count(1, timeout=LIVE_MS)
    await expect(scene.items.first).to_have_attribute("data-read", "false")
    await expect(scene.items.first.get_by_test_id("inbox-body")).to_have_text(body)
    await expect(scene.items.first.get_by_test_id("inbox-sender")).to_have_text(scene.bob)
    assert await scene.alice_page.evaluate("window.notReloaded") is True
    assert await scene.alice_page.locator("#inbox-list b").count() == 0, "body parsed as HTML"
    await scene.record.shot(scene.alice_page, "alice-received-live")
    return body


async def alice_opens_it(scene: Scene, body: str) -> None:
    """Opening shows the message and its conversation, marks it read: the badge goes to 0."""
    await scene.items.first.click()
    await expect(scene.alice_page.get_by_test_id("message-body")).to_have_text(body)
    await expect(scene.alice_page.get_by_test_id("conversation-with")).to_have_text(scene.bob)
    await expect(scene.badge).to_have_text("0", timeout=LIVE_MS)
    await expect(scene.items.first).to_have_attribute("data-read", "true")
    await scene.record.shot(scene.alice_page, "alice-opened")


async def alice_marks_all_read(scene: Scene) -> list[str]:
    bodies = [f"follow-up {n}" for n in range(1, 4)]
    for body in bodies:
        await send_from_page(scene.bob_page, scene.alice, body)
    await expect(scene.badge).to_have_text("3", timeout=LIVE_MS)
    await expect(scene.items).to_have_count(4, timeout=LIVE_MS)
    await expect(scene.unread_items).to_have_count(3)
    await expect(scene.items.first.get_by_test_id("inbox-body")).to_have_text(bodies[-1])
    await scene.record.shot(scene.alice_page, "alice-three-unread")
    await scene.alice_page.get_by_test_id("mark-all-read").click()
    await expect(scene.badge).to_have_text("0", timeout=LIVE_MS)
    await expect(scene.unread_items).to_have_count(0)
    await scene.record.shot(scene.alice_page, "alice-marked-all-read")
    return bodies


async def a_refused_send_is_shown(scene: Scene) -> None:
    """The server's BAD_USER_INPUT message shows inline, and what was typed stays."""
    await compose(scene.bob_page, scene.alice, "   ")
    await expect(scene.bob_page.get_by_test_id("compose-error")).to_contain_text("body")
    await expect(scene.bob_page.get_by_test_id("compose-body")).to_have_value("   ")
    await scene.record.shot(scene.bob_page, "bob-send-refused")


async def alice_pages_through_the_inbox(
    scene: Scene, as_user: Client, earlier: list[str]
) -> list[str]:
    """25 more (sent through the API to save time) arrive live; after a reload the inbox shows
    the newest 20, and "Load more" brings the rest, each once, newest first."""
    bodies = [f"page {n:02d}" for n in range(25)]
    for body in bodies:
        await as_user(scene.bob).send(scene.alice, body)
    await expect(scene.badge).to_have_text("25", timeout=LIVE_MS)
    await expect(scene.items).to_have_count(29, timeout=LIVE_MS)
    page = scene.alice_page
    await page.reload()
    await expect_signed_in(page, scene.alice)  # the session survives a reload
    await expect(scene.items).to_have_count(20)
    await expect(scene.items.first.get_by_test_id("inbox-body")).to_have_text(bodies[-1])
    await expect(page.get_by_test_id("inbox-more")).to_be_visible()
    await scene.record.shot(page, "alice-first-page")
    await page.get_by_test_id("inbox-more").click()
    await expect(scene.items).to_have_count(29)
    await expect(page.get_by_test_id("inbox-more")).to_be_hidden()
    ids = await ids_of(scene.items)
    assert len(set(ids)) == 29, "a message shown twice"
    assert ids == sorted(ids, reverse=True), "inbox not newest first"
    shown = await scene.items.get_by_test_id("inbox-body").all_text_contents()
    assert sorted(shown) == sorted([*earlier, *bodies])
    await scene.record.shot(page, "alice-load-more")
    return ids


async def alice_pages_through_the_conversation(scene: Scene, first: str, ids: list[str]) -> None:
    page = scene.alice_page
    await scene.items.last.click()
    await expect(page.get_by_test_id("message-body")).to_have_text(first)
    thread = page.get_by_test_id("conversation-item")
    await expect(thread).to_have_count(20)
    await page.get_by_test_id("conversation-more").click()
    await expect(thread).to_have_count(29)
    await expect(page.get_by_test_id("conversation-more")).to_be_hidden()
    assert await ids_of(thread) == ids, "the conversation is not those 29, newest first"
    await scene.record.shot(page, "alice-conversation")


async def test_after_a_dropped_connection_the_page_catches_up(
    browser: Browser, server: Server, as_user: Client, artifacts: Path
) -> None:
    """While the socket is down, a message arrives that the live feed can't bring: on
    reconnecting the page re-reads the inbox, and the badge restarts from the current count."""
    alice, bob = new_user("alice"), new_user("bob")
    record = Recorder(artifacts)
    page = await record.open(await browser.new_context())
    sockets: list[WebSocketRoute] = []
    network = {"down": False}

    async def route(socket: WebSocketRoute) -> None:
        if network["down"]:
            await socket.close(code=1012, reason="test: the server is away")
        else:
            socket.connect_to_server()
            sockets.append(socket)

    await page.route_web_socket(server.ws_url, route)
    badge = page.get_by_test_id("unread-badge")
    items = page.get_by_test_id("inbox-item")
    status = page.get_by_test_id("connection-status")
    await sign_in(page, server, alice)
    await as_user(bob).send(alice, "before the drop")
    await expect(badge).to_have_text("1", timeout=LIVE_MS)
    await expect(items).to_have_count(1, timeout=LIVE_MS)

    network["down"] = True
    await sockets[-1].close(code=1012, reason="test: the server went away")
    await expect(status).to_have_text("reconnecting…")
    await as_user(bob).send(alice, "while away")
    await as_user(alice).wait_for_count(2)
    await record.shot(page, "alice-disconnected")
    assert await items.count() == 1

    network["down"] = False
    await expect(status).to_have_text("live", timeout=LIVE_MS)
    await expect(badge).to_have_text("2", timeout=LIVE_MS)
    await expect(items).to_have_count(2, timeout=LIVE_MS)
    await expect(items.first.get_by_test_id("inbox-body")).to_have_text("while away")
    await record.shot(page, "alice-reconnected")
    assert len(sockets) == 2

    # And the feed works again on the new socket.
    await as_user(bob).send(alice, "after the drop")
    await expect(badge).to_have_text("3", timeout=LIVE_MS)
    await expect(items.first.get_by_test_id("inbox-body")).to_have_text("after the drop")
    assert all(path.is_file() for path in record.shots)
    assert_stayed_home(record, server)


async def test_sign_in_refusal_and_sign_out(browser: Browser, server: Server) -> None:
    page = await browser.new_page()
    await page.goto(f"{server.url}/")
    await page.get_by_test_id("signin-user").fill("no#hash")
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("signin-error")).to_contain_text("user id")
    await expect(page.get_by_test_id("app")).to_be_hidden()

    await page.get_by_test_id("signin-as-carol").click()
    await expect_signed_in(page, "carol")
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("signin")).to_be_visible()
    await page.reload()  # the token was forgotten, so the page asks again
    await expect(page.get_by_test_id("signin")).to_be_visible()
    await expect(page.get_by_test_id("app")).to_be_hidden()
