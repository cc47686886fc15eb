"""Validation-time limits of schema/: one root field per mutation, and the static count of the
messages an operation can return. Run through the real schema, with no context: nothing here
reaches a resolver."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, parse

from schema import build_schema
from schema.message_nodes import DEFAULT_MAX_MESSAGE_NODES, message_nodes

TEN_PAGES = " ".join(
    f"m{i}: messages(first: 100) {{ edges {{ node {{ body }} }} }}" for i in range(10)
)
PAGE = "messages(first: 100) { edges { node { body } } }"
SEND = 'sendMessage(input: {recipientId: "bob", body: "x"}) { id }'


async def errors_of(document: str, variables: dict[str, Any] | None = None) -> list[Any]:
    result = await build_schema().execute(document, variable_values=variables)
    return [(error.message, (error.extensions or {}).get("code")) for error in result.errors or []]


@pytest.mark.parametrize(
    "document",
    [
        f"mutation {{ a: {SEND} b: {SEND} }}",
        f"mutation {{ {SEND} markAllRead {{ unreadCount }} }}",
        f"mutation {{ a: {SEND} ... on Mutation {{ b: {SEND} }} }}",
        f"mutation {{ a: {SEND} ...More }} fragment More on Mutation {{ b: {SEND} }}",
        f"mutation {{ ...One ...Two }} fragment One on Mutation {{ a: {SEND} }} "
        f"fragment Two on Mutation {{ b: {SEND} }}",
    ],
)
async def test_a_mutation_with_two_root_fields_is_refused_at_validation(document: str) -> None:
    errors = await errors_of(document)
    assert len(errors) == 1, errors
    message, code = errors[0]
    assert code == "BAD_USER_INPUT"
    assert "only one root field" in message and "selects 2" in message


@pytest.mark.parametrize(
    "document",
    [
        f"mutation {{ {SEND} }}",
        f"mutation {{ __typename {SEND} }}",
        # One response name: graphql-core merges them into one field, run once.
        f'mutation {{ {SEND} sendMessage(input: {{recipientId: "bob", body: "x"}}) {{ body }} }}',
        f"mutation {{ ...One }} fragment One on Mutation {{ {SEND} }}",
        "{ a: unreadCount b: unreadCount }",
    ],
)
async def test_one_root_field_passes_the_rule(document: str) -> None:
    # Without a user the field itself fails, later, at execution: not at validation.
    assert all("only one root field" not in message for message, _ in await errors_of(document))


NODE = "node { id }"
EDGES = f"edges {{ {NODE} }}"
FIVE = f"messages(first: 5) {{ {EDGES} }}"
CONVERSATION = f'conversation(first: 30, withUserId: "b") {{ {EDGES} }}'
RECEIVED = "events { version ... on MessageReceivedEvent { message { id body } } }"
MARK_READ = "mutation($ids: [ID!]!) {{ markRead(ids: $ids) {{ {} }} }}"


def count(document: str, variables: dict[str, Any] | None = None, name: str | None = None) -> int:
    return message_nodes(parse(document), name, variables)


@pytest.mark.parametrize(
    ("document", "variables", "expected"),
    [
        ("{ messages(first: 100) { edges { node { id } } } }", None, 100),
        ("{ messages { edges { node { id } } } }", None, 20),
        ("{ messages(first: null) { pageInfo { hasNextPage } } }", None, 20),
        ("query($n: Int) { messages(first: $n) { edges { cursor } } }", {"n": 7}, 7),
        ("query($n: Int = 9) { messages(first: $n) { edges { cursor } } }", None, 9),
        ("query($n: Int) { messages(first: $n) { edges { cursor } } }", {"n": 10**9}, 100),
        ("query($n: Int) { messages(first: $n) { edges { cursor } } }", {"n": "x"}, 100),
        (f"{{ {TEN_PAGES} }}", None, 1000),
        (
            f"{{ messages(first: 50) {{ a: {EDGES} b: edges {{ x: {NODE} y: {NODE} }} }} }}",
            None,
            150,
        ),
        (
            f'{{ {CONVERSATION} message(id: "m") {{ id }} }}',
            None,
            31,
        ),
        (f"{{ ...F ... on Query {{ b: {FIVE} }} }} fragment F on Query {{ a: {FIVE} }}", None, 10),
        ("{ unreadCount me { id unreadCount } }", None, 0),
        ('mutation { markRead(ids: ["a", "b", "c"]) { messages { id } } }', None, 3),
        (MARK_READ.format("unreadCount"), {"ids": ["a"] * 40}, 40),
        (MARK_READ.format("messages { id }"), {"ids": ["a"] * 400}, 100),
        ("mutation { markAllRead { messages { id } } }", None, 100),
        ("mutation { markAllRead { a: messages { id } b: messages { id } } }", None, 200),
        ('mutation { markUnread(ids: ["a", "b"]) { messages { id } } }', None, 2),
        ('mutation { markConversationRead(withUserId: "b") { messages { id } } }', None, 100),
        ('mutation { markConversationRead(withUserId: "b") { unreadCount } }', None, 100),
        ('mutation { sendMessage(input: {recipientId: "b", body: "x"}) { id } }', None, 1),
        ("subscription { messageReceived { id body } }", None, 1),
        ("{ changes(since: 0) { version } }", None, 100),
        ("{ changes(since: 0, first: null) { hasMore } }", None, 100),
        ("query($n: Int) { changes(since: 0, first: $n) { version } }", {"n": 30}, 30),
        (f"{{ changes(since: 0, first: 40) {{ {RECEIVED} }} }}", None, 40),
        (
            f"{{ changes(since: 0, first: 40) {{ {RECEIVED} e: events {{ ...R }} }} }} "
            "fragment R on MessageReceivedEvent { a: message { id } b: message { body } }",
            None,
            120,
        ),
        (f"{{ a: changes(since: 0, first: 300) {{ version }} {FIVE} }}", None, 105),
        ("subscription { inboxEvents(sinceVersion: 3) { version } }", None, 1),
        # A conversation list counts one last message per conversation, like `first` messages.
        ("{ conversations(first: 100) { edges { node { lastMessage { body } } } } }", None, 100),
        ("{ conversations { edges { node { unreadCount } } } }", None, 20),
        (
            "{ conversations(first: 50) { edges { node { a: lastMessage { id } "
            "b: lastMessage { body } } } } }",
            None,
            100,
        ),
        ("query($n: Int) { conversations(first: $n) { edges { cursor } } }", {"n": 3}, 3),
    ],
)
def test_message_nodes(document: str, variables: dict[str, Any] | None, expected: int) -> None:
    assert count(document, variables) == expected


def test_only_the_named_operation_counts() -> None:
    document = "query A { messages(first: 100) { edges { cursor } } } query B { unreadCount }"
    assert count(document, name="B") == 0
    assert count(document, name="A") == 100


async def test_the_issues_ten_aliases_are_refused_and_one_page_is_not() -> None:
    errors = await errors_of(f"{{ {TEN_PAGES} }}")
    assert len(errors) == 1
    message, code = errors[0]
    assert code == "BAD_USER_INPUT"
    assert f"the limit is {DEFAULT_MAX_MESSAGE_NODES}" in message and "return 1000" in message
    page = await errors_of(f"{{ {PAGE} }}")
    assert all("the limit is" not in message for message, _ in page)


def test_no_message_type_nests_another_list_of_messages() -> None:
    """The counter multiplies only within a connection or a payload: it would undercount a
    schema in which a message (or anything under one) held a list of messages."""
    schema = build_schema()._schema
    message_types = {"Message", "MessageConnection", "MessageEdge", "MarkReadPayload"}

    def lists_under(type_name: str) -> set[str]:
        found: set[str] = set()
        type_ = schema.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType)
        for name, field in type_.fields.items():
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if isinstance(inner, GraphQLList):
                found.add(f"{type_name}.{name}")
        return found

    lists = set().union(*(lists_under(name) for name in message_types))
    assert lists == {"MessageConnection.edges", "MarkReadPayload.messages"}
    message = schema.get_type("Message")
    assert isinstance(message, GraphQLObjectType)
    named = set()
    for field in message.fields.values():
        inner: Any = field.type
        while hasattr(inner, "of_type"):
            inner = inner.of_type
        named.add(inner.name)
    assert not named & message_types
