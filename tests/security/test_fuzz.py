"""Property-based fuzzing of the whole schema (hypothesis-graphql) against a real server on the
local stack: valid and invalid queries and mutations, with ids and user ids drawn from users and
messages that exist, so that sends and markRead really write."""

from __future__ import annotations

import time
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from schema import build_schema
from tests.conftest import new_user
from tests.e2e.conftest import Server

ALLOWED_CODES = {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "RATE_LIMITED"}
TOP_LEVEL_KEYS = {"data", "errors", "extensions"}
ERROR_KEYS = {"message", "locations", "path", "extensions"}
QUIET_DEADLINE_SECONDS = 60.0
SDL = build_schema().as_str()
FUZZ = settings(
    max_examples=60,
    deadline=None,  # the CPU is shared: a slow example is not a failure
    derandomize=True,  # the same examples each run: CI failures reproduce
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def check_response_shape(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    assert response.status_code == 200, response.text  # application/json: 200 when well formed
    body = response.json()
    assert isinstance(body, dict) and set(body) <= TOP_LEVEL_KEYS, body
    assert "data" in body or "errors" in body, body
    assert body.get("data") is None or isinstance(body["data"], dict), body
    for error in body.get("errors", []):
        assert set(error) <= ERROR_KEYS and isinstance(error["message"], str), error
        assert error["extensions"]["code"] in ALLOWED_CODES, error
        assert "Traceback" not in error["message"], error
    if "errors" in body:
        assert body["errors"], "an empty errors list is not allowed"
    return body


class Fuzzer:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.users = [new_user(f"fuzz{n}") for n in range(3)]
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.message_ids: list[str] = []

    def post(self, user: str, query: str) -> dict[str, Any]:
        response = self.http.post(
            "/graphql",
            json={"query": query},
            headers={
                "Authorization": f"Bearer {self.server.token(user)}",
                "Accept": "application/json",
            },
        )
        return check_response_shape(response)

    def seed(self) -> None:
        for sender in self.users:
            for recipient in self.users:
                data = self.post(
                    sender,
                    f'mutation {{ sendMessage(input: {{recipientId: "{recipient}", body: "seed"}}) '
                    "{ id } }",
                )["data"]
                self.message_ids.append(data["sendMessage"]["id"])

    def ids(self) -> st.SearchStrategy[graphql.ValueNode]:
        known = st.sampled_from(self.users + self.message_ids)
        anything = st.text(max_size=40)
        return st.one_of(known, known, anything).map(lambda v: graphql.StringValueNode(value=v))

    def settled(self) -> dict[str, tuple[int, int]]:
        """Per user: (unreadCount, unread entries paged through), once they agree or the
        deadline passes."""
        deadline = time.monotonic() + QUIET_DEADLINE_SECONDS
        while True:
            seen = {user: self.counts(user) for user in self.users}
            if all(count == entries for count, entries in seen.values()):
                return seen
            if time.monotonic() > deadline:
                return seen
            time.sleep(0.2)  # pacing a poll bounded by the deadline

    def counts(self, user: str) -> tuple[int, int]:
        count = self.post(user, "{ unreadCount }")["data"]["unreadCount"]
        entries, after = 0, None
        while True:
            cursor = f', after: "{after}"' if after else ""
            page = self.post(
                user,
                f"{{ messages(first: 100, unreadOnly: true{cursor}) "
                "{ edges { node { isRead } } pageInfo { hasNextPage endCursor } } }",
            )["data"]["messages"]
            assert all(not edge["node"]["isRead"] for edge in page["edges"])
            entries += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return count, entries
            after = page["pageInfo"]["endCursor"]


@pytest.fixture
def fuzzer(fuzz_server: Server) -> Any:
    fuzzer = Fuzzer(fuzz_server)
    fuzzer.seed()
    yield fuzzer
    fuzzer.http.close()


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
def test_generated_operations_get_well_formed_answers_and_leave_counts_exact(
    fuzzer: Fuzzer, mode: Mode
) -> None:
    scalars = {"ID": fuzzer.ids()}
    documents = st.one_of(
        queries(SDL, custom_scalars=scalars, mode=mode),
        mutations(SDL, custom_scalars=scalars, mode=mode),
    )
    executed: list[dict[str, Any]] = []

    def run(document: str, caller: str) -> None:
        body = fuzzer.post(caller, document)
        if mode is Mode.NEGATIVE:
            assert body.get("data") is None and body["errors"], (document, body)
        if body.get("data") is not None:
            executed.append(body["data"])

    fuzz = given(document=documents, caller=st.sampled_from(fuzzer.users))(run)
    if mode is Mode.POSITIVE:
        # Whether generated sends pass validation (a recipient that is a user id, a body that
        # is not blank) is luck, and the luck changes with the schema: these two always write.
        own = fuzzer.message_ids[0]  # seeded from fuzzer.users[0] to itself
        for document in (
            f'mutation {{ sendMessage(input: {{recipientId: "{fuzzer.users[1]}", body: "f"}}) '
            "{ id } }",
            f'mutation {{ markRead(ids: ["{own}"]) {{ unreadCount }} }}',
        ):
            fuzz = example(document=document, caller=fuzzer.users[0])(fuzz)
    FUZZ(fuzz)()
    if mode is Mode.POSITIVE:
        # The run must have written, or the invariants below prove nothing.
        fields = {name for data in executed for name, value in data.items() if value is not None}
        assert {"sendMessage", "markRead"} <= fields, fields
    settled = fuzzer.settled()
    assert all(count == entries for count, entries in settled.values()), settled
