"""The demo page as a chat client, alice and bob in two browser contexts: bob's conversation list
shows alice's message with a badge; bob opening the thread reads it (one markConversationRead)
and alice's page says "Seen"; bob marks it unread and his badges count it again, and opening
the thread reads it again; bob typing shows "… is typing" on alice's page (with the page's own
throttle on `setTyping`); and bob's page, after its WebSocket dropped and came back,
resubscribes from the last version it applied, so what happened meanwhile (another user's
message, alice's reply) shows up; and when the log can no longer replay that, the page reloads
its state instead."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Locator, Page, Request, WebSocketRoute, expect

from services.domain import UserId
from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.contract.message_stores import add_unlogged_version
from tests.e2e.conftest import Server
from tests.e2e.demo_page import (
    LIVE_MS,
    Client,
    Recorder,
    assert_stayed_home,
    conversation_row,
    send_from_page,
    sign_in,
)
from tests.e2e.fleet import aws_session

TYPING_SHOWN_MS = 4_000  # how long the page shows the indicator after a push
VERSION = "{ versionedUnreadCount { version } }"


class SocketLink:
    """A page's WebSocket, through the test: it can be cut and let back, and it keeps the
    graphql-ws messages the page sent."""

    def __init__(self) -> None:
        self.down = False
        self.sockets: list[WebSocketRoute] = []
        self.from_page: list[dict[str, Any]] = []

    async def route(self, socket: WebSocketRoute) -> None:
        if self.down:
            await socket.close(code=1012, reason="test: the server is away")
            return
        server = socket.connect_to_server()

        def forward(message: str | bytes) -> None:
            if isinstance(message, str):
                self.from_page.append(json.loads(message))
            server.send(message)

        socket.on_message(forward)
        self.sockets.append(socket)

    async def drop(self) -> None:
        self.down = True
        await self.sockets[-1].close(code=1012, reason="test: the server went away")

    def since_versions(self) -> list[int | None]:
        """`sinceVersion` of each inboxEvents subscription the page started, in order."""
        return [
            message["payload"]["variables"].get("sinceVersion")
            for message in self.from_page
            if message.get("type") == "subscribe" and "inboxEvents" in message["payload"]["query"]
        ]


def posted(page: Page, operation: str) -> list[Request]:
    """The page's POSTs of the GraphQL operation named `operation`, from now on."""
    calls: list[Request] = []
    wanted = f"{operation}("

    def seen(request: Request) -> None:
        if request.method == "POST" and wanted in (request.post_data or ""):
            calls.append(request)

    page.on("request", seen)
    return calls


def typing_calls(page: Page) -> list[Request]:
    return posted(page, "SetTyping")


@dataclass
class Chat:
    """Alice and bob signed in on the demo page, bob's socket through a SocketLink."""

    record: Recorder
    alice: str
    bob: str
    alice_page: Page
    bob_page: Page
    bob_link: SocketLink

    @property
    def alice_thread(self) -> Locator:
        return self.alice_page.get_by_test_id("conversation-item")

    @property
    def bob_thread(self) -> Locator:
        return self.bob_page.get_by_test_id("conversation-item")

    @property
    def bob_badge(self) -> Locator:
        return self.bob_page.get_by_test_id("unread-badge")


async def test_seen_typing_and_catching_up_after_a_drop(
    browser: Browser, server: Server, as_user: Client, artifacts: Path
) -> None:
    record = Recorder(artifacts)
    chat = Chat(
        record,
        new_user("alice"),
        new_user("bob"),
        await record.open(await browser.new_context()),
        await record.open(await browser.new_context()),
        SocketLink(),
    )
    await chat.bob_page.route_web_socket(server.ws_url, chat.bob_link.route)
    await sign_in(chat.alice_page, server, chat.alice)
    await sign_in(chat.bob_page, server, chat.bob)

    await bob_reads_and_alice_sees_seen(chat)
    await bob_marks_unread_and_reads_again(chat)
    await bob_types_and_replies(chat)
    await bob_catches_up_after_a_drop(chat, as_user)
    assert [path.name for path in record.shots] == [
        "01-bob-list.png",
        "02-alice-seen.png",
        "03-bob-marked-unread.png",
        "04-alice-sees-typing.png",
        "05-bob-disconnected.png",
        "06-bob-caught-up.png",
    ]
    assert_stayed_home(record, server)


async def bob_reads_and_alice_sees_seen(chat: Chat) -> None:
    """Alice writes from "New message" and opens the conversation: not seen yet. Bob's list
    shows alice with a badge; opening it reads it, and alice's open thread says "Seen", live."""
    alice_page, bob_page = chat.alice_page, chat.bob_page
    await send_from_page(alice_page, chat.bob, "hi bob")
    await conversation_row(alice_page, chat.bob).click()
    await expect(chat.alice_thread.get_by_test_id("conversation-body")).to_have_text(["hi bob"])
    await expect(chat.alice_thread.get_by_test_id("seen")).to_be_hidden()

    bob_row = conversation_row(bob_page, chat.alice)
    await expect(bob_row.get_by_test_id("conversation-unread")).to_have_text("1", timeout=LIVE_MS)
    await expect(bob_row.get_by_test_id("conversation-last")).to_have_text("hi bob")
    await expect(chat.bob_badge).to_have_text("1")
    await chat.record.shot(bob_page, "bob-list")

    horizons, marks = posted(bob_page, "MarkConversationRead"), posted(bob_page, "MarkRead")
    await bob_row.click()
    await expect(chat.bob_thread.get_by_test_id("conversation-body")).to_have_text(["hi bob"])
    await expect(chat.bob_badge).to_have_text("0", timeout=LIVE_MS)
    await expect(bob_row.get_by_test_id("conversation-unread")).to_be_hidden()
    await expect(chat.alice_thread.get_by_test_id("seen")).to_have_text("Seen", timeout=LIVE_MS)
    await chat.record.shot(alice_page, "alice-seen")
    # Opening the thread read the conversation with one call, not a markRead of its page.
    assert (len(horizons), len(marks)) == (1, 0)


async def bob_marks_unread_and_reads_again(chat: Chat) -> None:
    """Bob marks alice's message unread from the open thread: the live event brings both of his
    badges back to 1. Opening the conversation again reads it, with one call."""
    bob_page, bob_row = chat.bob_page, conversation_row(chat.bob_page, chat.alice)
    mark_unread = chat.bob_thread.get_by_test_id("mark-unread")
    await expect(mark_unread).to_be_visible()
    # Only received messages can be marked unread: alice's thread offers it on none.
    await expect(chat.alice_thread.get_by_test_id("mark-unread")).to_have_count(0)
    await mark_unread.click()
    await expect(mark_unread).to_be_hidden()
    await expect(chat.bob_badge).to_have_text("1", timeout=LIVE_MS)
    await expect(bob_row.get_by_test_id("conversation-unread")).to_have_text("1", timeout=LIVE_MS)
    await chat.record.shot(bob_page, "bob-marked-unread")

    horizons = posted(bob_page, "MarkConversationRead")
    await bob_row.click()
    await expect(chat.bob_badge).to_have_text("0", timeout=LIVE_MS)
    await expect(bob_row.get_by_test_id("conversation-unread")).to_be_hidden(timeout=LIVE_MS)
    await expect(mark_unread).to_be_visible()
    assert len(horizons) == 1


async def bob_types_and_replies(chat: Chat) -> None:
    """Alice sees the indicator while bob types, and it goes once he stopped for a while; Enter
    sends his reply, which alice's open thread shows and reads: bob's says "Seen"."""
    calls = typing_calls(chat.bob_page)
    reply = chat.bob_page.get_by_test_id("reply-body")
    await reply.press_sequentially("on my way", delay=40)
    indicator = chat.alice_page.get_by_test_id("typing-indicator")
    await expect(indicator).to_have_text(f"{chat.bob} is typing…", timeout=LIVE_MS)
    await chat.record.shot(chat.alice_page, "alice-sees-typing")
    assert 1 <= len(calls) <= 2, f"{len(calls)} setTyping calls for 9 keystrokes: not throttled"
    await expect(indicator).to_be_hidden(timeout=TYPING_SHOWN_MS + LIVE_MS)

    await reply.press("Enter")
    await expect(reply).to_have_value("")
    await expect(chat.alice_thread.get_by_test_id("conversation-body")).to_have_text(
        ["hi bob", "on my way"], timeout=LIVE_MS
    )
    await expect(chat.bob_thread.last.get_by_test_id("seen")).to_be_visible(timeout=LIVE_MS)


async def bob_catches_up_after_a_drop(chat: Chat, as_user: Client) -> None:
    """While bob's socket is down, carol writes to him and alice replies in the open thread.
    Back, the page resubscribes from the last version it applied and the log brings both."""
    bob_page, carol = chat.bob_page, new_user("carol")
    version_before = (await as_user(chat.bob).data(VERSION))["versionedUnreadCount"]["version"]
    await chat.bob_link.drop()
    status = bob_page.get_by_test_id("connection-status")
    await expect(status).to_have_text("reconnecting…")
    await as_user(carol).send(chat.bob, "while you were away")
    await chat.alice_page.get_by_test_id("reply-body").fill("are you there?")
    await chat.alice_page.get_by_test_id("reply-send").click()
    await expect(chat.alice_thread).to_have_count(3)
    await as_user(chat.bob).wait_for_count(2)
    await chat.record.shot(bob_page, "bob-disconnected")
    assert await conversation_row(bob_page, carol).count() == 0
    assert await chat.bob_thread.count() == 2

    chat.bob_link.down = False
    await expect(status).to_have_text("live", timeout=LIVE_MS)
    carol_row = conversation_row(bob_page, carol)
    await expect(carol_row.get_by_test_id("conversation-unread")).to_have_text("1", timeout=LIVE_MS)
    await expect(carol_row.get_by_test_id("conversation-last")).to_have_text("while you were away")
    await expect(chat.bob_thread.last.get_by_test_id("conversation-body")).to_have_text(
        "are you there?", timeout=LIVE_MS
    )
    # Alice's reply landed in the open thread, so it is read; carol's is not.
    await expect(chat.bob_badge).to_have_text("1", timeout=LIVE_MS)
    await expect(chat.alice_thread.last.get_by_test_id("seen")).to_be_visible(timeout=LIVE_MS)
    # Alice's reply came after carol's message: her conversation is on top.
    users = bob_page.get_by_test_id("conversation-row").get_by_test_id("conversation-user")
    await expect(users).to_have_text([chat.alice, carol])
    await chat.record.shot(bob_page, "bob-caught-up")
    versions = chat.bob_link.since_versions()
    assert len(chat.bob_link.sockets) == 2
    assert len(versions) == 2, versions
    assert versions[0] is not None and versions[0] < version_before
    # The second subscription starts where the page was, not where it began.
    assert versions[1] == version_before


async def test_sync_too_old_after_a_drop_reloads_the_page_state(
    browser: Browser, server: Server, stack: StackEndpoints, as_user: Client, artifacts: Path
) -> None:
    """The log cannot replay what the page missed (a version without its logged change, what a
    writer predating the log leaves): the resubscription ends with SYNC_TOO_OLD, and the page
    reloads its lists and follows the changes from the current version, with no error shown."""
    record = Recorder(artifacts)
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    page = await record.open(await browser.new_context())
    link = SocketLink()
    await page.route_web_socket(server.ws_url, link.route)
    await sign_in(page, server, alice)
    await as_user(bob).send(alice, "before the hole")
    await expect(conversation_row(page, bob)).to_have_count(1, timeout=LIVE_MS)

    await link.drop()
    settings = server.settings
    async with aws_session(settings).client("dynamodb", endpoint_url=stack.dynamodb_url) as db:
        await add_unlogged_version(db, settings.table_name, UserId(alice))
    await as_user(carol).send(alice, "after the hole")  # version 3; 2 has no logged change
    await as_user(alice).wait_for_count(2)

    link.down = False
    carol_row = conversation_row(page, carol)
    await expect(carol_row.get_by_test_id("conversation-last")).to_have_text(
        "after the hole", timeout=LIVE_MS
    )
    await expect(page.get_by_test_id("unread-badge")).to_have_text("2")
    await record.shot(page, "alice-reloaded-after-sync-too-old")
    # First from the start, then the reconnect's replay from 1, then fresh from 3.
    assert link.since_versions() == [0, 1, 3]

    await as_user(carol).send(alice, "live again")
    await expect(carol_row.get_by_test_id("conversation-last")).to_have_text(
        "live again", timeout=LIVE_MS
    )
    await expect(carol_row.get_by_test_id("conversation-unread")).to_have_text("2")
    await expect(page.get_by_test_id("app-error")).to_be_hidden()
    assert_stayed_home(record, server)


async def test_a_sender_deletes_and_the_recipient_thread_drops_it_live(
    browser: Browser, server: Server, artifacts: Path
) -> None:
    """Alice's own messages have a delete button, the ones she received none. She deletes her
    newest message: it leaves her thread and, live, bob's open thread, and both conversation
    rows fall back to the message before it; deleting the last one takes the conversation off
    both lists."""
    record = Recorder(artifacts)
    alice, bob = new_user("alice"), new_user("bob")
    alice_page = await record.open(await browser.new_context())
    bob_page = await record.open(await browser.new_context())
    await sign_in(alice_page, server, alice)
    await sign_in(bob_page, server, bob)
    await send_from_page(alice_page, bob, "first")
    await send_from_page(alice_page, bob, "oops, wrong chat")
    await conversation_row(alice_page, bob).click()
    alice_thread = alice_page.get_by_test_id("conversation-item")
    await expect(alice_thread.get_by_test_id("conversation-body")).to_have_text(
        ["first", "oops, wrong chat"]
    )
    bob_row = conversation_row(bob_page, alice)
    await expect(bob_row.get_by_test_id("conversation-last")).to_have_text(
        "oops, wrong chat", timeout=LIVE_MS
    )
    await bob_row.click()
    bob_thread = bob_page.get_by_test_id("conversation-item")
    await expect(bob_thread.get_by_test_id("conversation-body")).to_have_text(
        ["first", "oops, wrong chat"]
    )
    await expect(bob_thread.get_by_test_id("delete-message")).to_have_count(0)
    await record.shot(bob_page, "bob-before-delete")

    await alice_thread.last.get_by_test_id("delete-message").click()
    await expect(alice_thread.get_by_test_id("conversation-body")).to_have_text(["first"])
    await expect(bob_thread.get_by_test_id("conversation-body")).to_have_text(
        ["first"], timeout=LIVE_MS
    )
    await expect(bob_row.get_by_test_id("conversation-last")).to_have_text("first")
    await expect(
        conversation_row(alice_page, bob).get_by_test_id("conversation-last")
    ).to_have_text("first")
    await record.shot(bob_page, "bob-after-delete")

    await alice_thread.last.get_by_test_id("delete-message").click()
    await expect(alice_thread).to_have_count(0)
    await expect(bob_thread).to_have_count(0, timeout=LIVE_MS)
    await expect(bob_row).to_have_count(0, timeout=LIVE_MS)
    await expect(conversation_row(alice_page, bob)).to_have_count(0)
    await expect(bob_page.get_by_test_id("unread-badge")).to_have_text("0")
    assert [path.name for path in record.shots] == [
        "01-bob-before-delete.png",
        "02-bob-after-delete.png",
    ]
    assert_stayed_home(record, server)
