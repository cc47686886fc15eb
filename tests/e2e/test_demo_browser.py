"""The demo chat at `/` in headless Chromium, two users in two browser contexts: a message sent
from one compose box shows up live in the other's conversation list and badge, opening the
conversation and "Mark all read" bring the badge back to 0, and "Load older" pages through a
long thread. A screenshot of each step is kept in the test's artifacts dir; no request leaves the
server's origin. (tests/e2e/test_demo_chat.py: "Seen", typing and catching up.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, WebSocketRoute, expect

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.e2e.demo_page import (
    LIVE_MS,
    Client,
    Recorder,
    assert_stayed_home,
    compose,
    conversation_row,
    expect_signed_in,
    ids_of,
    send_from_page,
    sign_in,
)


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
    def rows(self) -> Locator:
        return self.alice_page.get_by_test_id("conversation-row")

    def row(self, with_user: str) -> Locator:
        return conversation_row(self.alice_page, with_user)

    @property
    def thread(self) -> Locator:
        return self.alice_page.get_by_test_id("conversation-item")


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
    await expect(scene.alice_page.get_by_test_id("conversations-empty")).to_be_visible()
    await record.shot(scene.alice_page, "alice-signed-in")
    await record.shot(scene.bob_page, "bob-signed-in")

    first = await bob_sends_alice_sees_it_live(scene)
    await alice_opens_it(scene, first)
    await alice_marks_all_read(scene, as_user)
    await a_refused_send_is_shown(scene)
    await alice_pages_through_the_thread(scene, as_user, first)

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
        "09-alice-thread-first-page.png",
        "10-alice-thread-load-older.png",
    ]
    assert all(path.is_file() for path in record.shots)
    assert any(url.startswith(server.ws_url) for url in record.urls), "no WebSocket opened"
    assert_stayed_home(record, server)


async def bob_sends_alice_sees_it_live(scene: Scene) -> str:
    """Bob's compose box; alice's badge and conversation list update without a reload."""
    await scene.alice_page.evaluate("window.notReloaded = true")
    body = "Hello alice <b>not bold</b> & welcome"
    await send_from_page(scene.bob_page, scene.alice, body)
    await scene.record.shot(scene.bob_page, "bob-sent")
    await expect(scene.badge).to_have_text("1", timeout=LIVE_MS)
    await expect(scene.rows).to_have_count(1, timeout=LIVE_MS)
    row = scene.row(scene.bob)
    await expect(row.get_by_test_id("conversation-unread")).to_have_text("1")
    await expect(row.get_by_test_id("conversation-last")).to_have_text(body)
    await expect(row.get_by_test_id("conversation-user")).to_have_text(scene.bob)
    assert await scene.alice_page.evaluate("window.notReloaded") is True
    assert await scene.alice_page.locator("#conversations b").count() == 0, "body parsed as HTML"
    # Bob's own list has the conversation too, from his send, with nothing unread.
    bob_row = conversation_row(scene.bob_page, scene.alice)
    await expect(bob_row.get_by_test_id("conversation-last")).to_have_text(body)
    await expect(bob_row).to_have_attribute("data-unread", "0")
    await scene.record.shot(scene.alice_page, "alice-received-live")
    return body


async def alice_opens_it(scene: Scene, body: str) -> None:
    """Opening shows the thread and marks it read: the badges go to 0."""
    await scene.row(scene.bob).click()
    await expect(scene.alice_page.get_by_test_id("conversation-with")).to_have_text(scene.bob)
    await expect(scene.thread.get_by_test_id("conversation-body")).to_have_text([body])
    await expect(scene.badge).to_have_text("0", timeout=LIVE_MS)
    await expect(scene.row(scene.bob)).to_have_attribute("data-unread", "0")
    await expect(scene.row(scene.bob).get_by_test_id("conversation-unread")).to_be_hidden()
    await expect(scene.thread.first).to_have_attribute("data-read", "true")
    await scene.record.shot(scene.alice_page, "alice-opened")


async def alice_marks_all_read(scene: Scene, as_user: Client) -> None:
    """Carol writes three times (her conversation is not open, so they stay unread) and goes to
    the top of the list; "Mark all read" clears them."""
    carol = new_user("carol")
    bodies = [f"follow-up {n}" for n in range(1, 4)]
    for body in bodies:
        await as_user(carol).send(scene.alice, body)
    await expect(scene.badge).to_have_text("3", timeout=LIVE_MS)
    await expect(scene.rows).to_have_count(2, timeout=LIVE_MS)
    await expect(scene.rows.get_by_test_id("conversation-user")).to_have_text([carol, scene.bob])
    await expect(scene.row(carol).get_by_test_id("conversation-unread")).to_have_text("3")
    await expect(scene.row(carol).get_by_test_id("conversation-last")).to_have_text(bodies[-1])
    await scene.record.shot(scene.alice_page, "alice-three-unread")
    await scene.alice_page.get_by_test_id("mark-all-read").click()
    await expect(scene.badge).to_have_text("0", timeout=LIVE_MS)
    await expect(scene.row(carol)).to_have_attribute("data-unread", "0", timeout=LIVE_MS)
    await scene.record.shot(scene.alice_page, "alice-marked-all-read")


async def a_refused_send_is_shown(scene: Scene) -> None:
    """The server's BAD_USER_INPUT message shows inline, and what was typed stays."""
    await compose(scene.bob_page, scene.alice, "   ")
    await expect(scene.bob_page.get_by_test_id("compose-error")).to_contain_text("body")
    await expect(scene.bob_page.get_by_test_id("compose-body")).to_have_value("   ")
    await scene.record.shot(scene.bob_page, "bob-send-refused")


async def alice_pages_through_the_thread(scene: Scene, as_user: Client, first: str) -> None:
    """25 more from bob (through the API to save time) arrive live in the open thread; after a
    reload the thread shows the newest 20, and "Load older" brings the rest, each once, oldest
    at the top."""
    bodies = [f"page {n:02d}" for n in range(25)]
    for body in bodies:
        await as_user(scene.bob).send(scene.alice, body)
    await expect(scene.thread).to_have_count(26, timeout=LIVE_MS)
    # The thread is open, so what arrives in it is read as it comes.
    await expect(scene.badge).to_have_text("0", timeout=LIVE_MS)
    page = scene.alice_page
    await page.reload()
    await expect_signed_in(page, scene.alice)  # the session survives a reload
    await scene.row(scene.bob).click()
    await expect(scene.thread).to_have_count(20)
    await expect(scene.thread.last.get_by_test_id("conversation-body")).to_have_text(bodies[-1])
    await expect(page.get_by_test_id("conversation-more")).to_be_visible()
    await scene.record.shot(page, "alice-thread-first-page")
    await page.get_by_test_id("conversation-more").click()
    await expect(scene.thread).to_have_count(26)
    await expect(page.get_by_test_id("conversation-more")).to_be_hidden()
    ids = await ids_of(scene.thread)
    assert len(set(ids)) == 26, "a message shown twice"
    assert ids == sorted(ids), "the thread is not oldest first"
    shown = await scene.thread.get_by_test_id("conversation-body").all_text_contents()
    assert shown == [first, *bodies]
    await scene.record.shot(page, "alice-thread-load-older")


async def test_after_a_dropped_connection_the_page_catches_up(
    browser: Browser, server: Server, as_user: Client, artifacts: Path
) -> None:
    """While the socket is down, a message arrives that the live feed can't bring: on
    reconnecting the page resubscribes from the last version it applied, and the server's replay
    brings the message, the list's unread badge and the count."""
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
    row = page.get_by_test_id("conversation-row")
    last = row.get_by_test_id("conversation-last")
    status = page.get_by_test_id("connection-status")
    await sign_in(page, server, alice)
    await as_user(bob).send(alice, "before the drop")
    await expect(badge).to_have_text("1", timeout=LIVE_MS)
    await expect(last).to_have_text("before the drop", timeout=LIVE_MS)

    network["down"] = True
    await sockets[-1].close(code=1012, reason="test: the server went away")
    await expect(status).to_have_text("reconnecting…")
    await as_user(bob).send(alice, "while away")
    await as_user(alice).wait_for_count(2)
    await record.shot(page, "alice-disconnected")
    assert await last.text_content() == "before the drop"

    network["down"] = False
    await expect(status).to_have_text("live", timeout=LIVE_MS)
    await expect(badge).to_have_text("2", timeout=LIVE_MS)
    await expect(last).to_have_text("while away", timeout=LIVE_MS)
    await expect(row.get_by_test_id("conversation-unread")).to_have_text("2")
    await record.shot(page, "alice-reconnected")
    assert len(sockets) == 2

    # And the feed works again on the new socket.
    await as_user(bob).send(alice, "after the drop")
    await expect(badge).to_have_text("3", timeout=LIVE_MS)
    await expect(last).to_have_text("after the drop", timeout=LIVE_MS)
    await expect(row.get_by_test_id("conversation-unread")).to_have_text("3")
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
