"""POST /graphql follows the GraphQL-over-HTTP specification: media type negotiation, status
codes per media type, and GraphQL-shaped bodies for refused requests."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server

Client = Callable[[str], GraphQLClient]

GRJ = "application/graphql-response+json"
JSON = "application/json"
MEDIA_TYPES = [GRJ, JSON]
ME = "{ me { id } }"
SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }"


async def post(
    http: httpx.AsyncClient,
    *,
    accept: str | None,
    token: str | None = None,
    json: object = None,
    content: bytes | None = None,
    content_type: str | None = "application/json",
) -> httpx.Response:
    """A POST with exactly these Accept and Content-Type headers (None: header absent)."""
    request = http.build_request("POST", "/graphql", json=json, content=content)
    for name, value in (("Accept", accept), ("Content-Type", content_type)):
        request.headers.pop(name, None)
        if value is not None:
            request.headers[name] = value
    if token is not None:
        request.headers["Authorization"] = f"Bearer {token}"
    return await http.send(request)


def assert_media_type(response: httpx.Response, media_type: str) -> None:
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert "accept" in response.headers["vary"].lower()


def assert_request_error(response: httpx.Response, status: int, media_type: str) -> str:
    """A refused request: the status, a well-formed GraphQL response with `errors` and no
    `data`, no internals. Returns the first error's message."""
    assert response.status_code == status, response.text
    assert_media_type(response, media_type)
    body = response.json()
    assert "data" not in body, body
    assert body["errors"], body
    assert all(error["extensions"]["code"] == "BAD_USER_INPUT" for error in body["errors"])
    assert "Traceback" not in response.text
    message: str = body["errors"][0]["message"]
    return message


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # The specification's default since its 2025-01-01 watershed.
        (None, GRJ),
        ("", GRJ),
        # A client that only says "anything" has not said it understands the new type.
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (f"{JSON}; charset=utf-8", JSON),
        (GRJ, GRJ),
        (f"{GRJ}; charset=utf-8, {JSON}; charset=utf-8", GRJ),
        (f"{JSON}, {GRJ}", GRJ),
        (f"{GRJ}, */*", GRJ),
        (f"{GRJ};q=0.5, {JSON}", JSON),
        (f"{JSON};q=0.9, {GRJ}", GRJ),
        (f"{GRJ};q=0.2, */*;q=0.1", GRJ),
        (f"{GRJ};q=0.5, */*", JSON),
        (f"*/*, {JSON};q=0", GRJ),
        (f"{GRJ};charset=iso-8859-1, {JSON};q=0.1", JSON),
        ("text/html, */*;q=0.8", JSON),
        (f"{JSON}, multipart/mixed", JSON),
        (f'garbage, {GRJ};q="0.7", {JSON};q=0.6', GRJ),
    ],
)
async def test_response_media_type_follows_accept(
    server: Server, http: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    user = new_user("alice")
    response = await post(http, accept=accept, token=server.token(user), json={"query": ME})
    assert response.status_code == 200, response.text
    assert_media_type(response, expected)
    assert response.json() == {"data": {"me": {"id": user}}}


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/xml, text/*",
        "image/*",
        "multipart/mixed",
        f"{JSON};q=0",
        f"{GRJ};q=0, {JSON};q=0, */*",
        f"{GRJ};charset=latin1",
        "no-slash-here",
    ],
)
async def test_nothing_acceptable_is_406(
    server: Server, http: httpx.AsyncClient, accept: str
) -> None:
    token = server.token(new_user("alice"))
    response = await post(http, accept=accept, token=token, json={"query": ME})
    assert_request_error(response, 406, JSON)


async def test_406_stops_processing_before_execution(
    server: Server, http: httpx.AsyncClient, as_user: Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    refused = await post(
        http,
        accept="text/html",
        token=server.token(bob),
        json={"query": SEND, "variables": {"input": {"recipientId": alice, "body": "no"}}},
    )
    assert refused.status_code == 406
    # A message sent after the refused one arrives alone: the refused one never ran.
    marker = await as_user(bob).send(alice, "marker")
    await as_user(alice).wait_for_count(1)
    inbox = await as_user(alice).data("{ messages { edges { node { id } } } }")
    assert [edge["node"]["id"] for edge in inbox["messages"]["edges"]] == [marker["id"]]


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
async def test_success_is_200_with_data(
    server: Server, http: httpx.AsyncClient, media_type: str
) -> None:
    user = new_user("alice")
    response = await post(
        http,
        accept=media_type,
        token=server.token(user),
        json={"query": "query Me { me { id unreadCount } }", "operationName": "Me"},
    )
    assert response.status_code == 200
    assert_media_type(response, media_type)
    assert response.json() == {"data": {"me": {"id": user, "unreadCount": 0}}}


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
async def test_field_errors_are_200_with_data_in_both_media_types(
    server: Server, http: httpx.AsyncClient, media_type: str
) -> None:
    """Execution started: a field error (here on a non-null root field, so `data` is null)
    is a partial response, never a 4xx."""
    response = await post(
        http,
        accept=media_type,
        token=server.token(new_user("alice")),
        json={"query": "{ messages(first: 0) { edges { cursor } } }"},
    )
    assert response.status_code == 200
    assert_media_type(response, media_type)
    body = response.json()
    assert "data" in body and body["data"] is None
    assert body["errors"][0]["path"] == ["messages"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unauthenticated_is_a_field_error_in_application_json(
    http: httpx.AsyncClient,
) -> None:
    response = await post(http, accept=JSON, json={"query": ME})
    assert response.status_code == 200
    assert_media_type(response, JSON)
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["me"]


@pytest.mark.parametrize("authorization", [None, "Bearer forged.token.value"])
async def test_unauthenticated_is_401_in_graphql_response_json(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    # The spec: a client not permitted to issue the request SHOULD get 401 (or 403).
    headers = {"Authorization": authorization} if authorization else {}
    response = await http.post("/graphql", json={"query": ME}, headers={"Accept": GRJ, **headers})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_media_type(response, GRJ)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_partial_data_without_a_token_stays_200(http: httpx.AsyncClient) -> None:
    # `message` is nullable: the response has data, so it is not refused as a whole.
    query = '{ message(id: "01JZZZZZZZZZZZZZZZZZZZZZZZ") { id } }'
    response = await post(http, accept=GRJ, json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"message": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


REQUEST_ERRORS = {
    "parse": ({"query": "{ me { id "}, "Syntax Error"),
    "validation": ({"query": "{ nosuchfield }"}, "nosuchfield"),
    "too-many-tokens": ({"query": "{ " + "unreadCount " * 2001 + "}"}, None),
    "too-many-aliases": (
        {"query": "{ " + " ".join(f"a{n}: unreadCount" for n in range(31)) + " }"},
        None,
    ),
    "variable-type": (
        {
            "query": "query($n: Int) { messages(first: $n) { edges { cursor } } }",
            "variables": {"n": "many"},
        },
        "$n",
    ),
    "missing-required-variable": (
        {"query": "query($id: ID!) { message(id: $id) { id } }"},
        "$id",
    ),
    "no-operation-chosen": ({"query": "query A { me { id } } query B { me { id } }"}, None),
    "unknown-operation": (
        {"query": "query A { me { id } }", "operationName": "Nope"},
        "Nope",
    ),
    "subscription-over-http": ({"query": "subscription { unreadCount }"}, "WebSocket"),
}


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
async def test_graphql_request_errors_are_400_without_data_in_graphql_response_json(
    server: Server, http: httpx.AsyncClient, case: str
) -> None:
    body, fragment = REQUEST_ERRORS[case]
    token = server.token(new_user("alice"))
    response = await post(http, accept=GRJ, token=token, json=body)
    message = assert_request_error(response, 400, GRJ)
    if fragment is not None:
        assert fragment in message


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
async def test_graphql_request_errors_stay_200_in_application_json(
    server: Server, http: httpx.AsyncClient, case: str
) -> None:
    body, fragment = REQUEST_ERRORS[case]
    token = server.token(new_user("alice"))
    response = await post(http, accept=JSON, token=token, json=body)
    assert response.status_code == 200, response.text
    assert_media_type(response, JSON)
    result = response.json()
    assert result["data"] is None  # as before this server spoke graphql-response+json
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    if fragment is not None:
        assert fragment in result["errors"][0]["message"]
    assert "Traceback" not in response.text


MALFORMED_BODIES = {
    "broken-json": b"{not json",
    "empty": b"",
    "truncated": b'{"query":',
    "not-utf8": b"\xff\xfe{\x00}\x00",
    "utf8-bom": b'\xef\xbb\xbf{"query": "{ me { id } }"}',
    "nan": b'{"query": "{ me { id } }", "variables": {"x": NaN}}',
    "deep-nesting": b"[" * 30_000 + b"]" * 30_000,
    "array": b'[{"query": "{ me { id } }"}]',
    "string": b'"{ me { id } }"',
    "no-query": b'{"variables": {}}',
    "null-query": b'{"query": null}',
    "empty-query": b'{"query": ""}',
    "typo-query": b'{"qeury": "{ me { id } }"}',
    "query-not-string": b'{"query": 42}',
    "variables-list": b'{"query": "{ me { id } }", "variables": [7]}',
    "variables-string": b'{"query": "{ me { id } }", "variables": "{}"}',
    "extensions-not-object": b'{"query": "{ me { id } }", "extensions": []}',
    "operation-name-not-string": b'{"query": "{ me { id } }", "operationName": 1}',
}


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
@pytest.mark.parametrize("case", list(MALFORMED_BODIES))
async def test_malformed_requests_are_400_with_errors_in_both_media_types(
    server: Server, http: httpx.AsyncClient, media_type: str, case: str
) -> None:
    token = server.token(new_user("alice"))
    response = await post(http, accept=media_type, token=token, content=MALFORMED_BODIES[case])
    assert_request_error(response, 400, media_type)


async def test_null_optional_parameters_are_absent_parameters(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = new_user("alice")
    response = await post(
        http,
        accept=GRJ,
        token=server.token(user),
        json={"query": ME, "variables": None, "operationName": None, "extensions": None},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"id": user}}}


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", 'Application/JSON; Charset="UTF-8"'],
)
async def test_json_request_body_with_utf8_charset_is_accepted(
    server: Server, http: httpx.AsyncClient, content_type: str
) -> None:
    user = new_user("alice")
    response = await post(
        http,
        accept=GRJ,
        token=server.token(user),
        content='{"query": "{ me { id } } # ünïcødé"}'.encode(),
        content_type=content_type,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"id": user}}}


UNSUPPORTED_BODIES = {
    "form": (b"query=%7B+me+%7B+id+%7D+%7D", "application/x-www-form-urlencoded"),
    "multipart": (
        b'--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ me { id } }\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "text-plain-json": (b'{"query": "{ me { id } }"}', "text/plain"),
    "application-graphql": (b"{ me { id } }", "application/graphql"),
    "no-content-type": (b'{"query": "{ me { id } }"}', None),
    "json-in-latin1": (b'{"query": "{ me { id } }"}', "application/json; charset=iso-8859-1"),
}


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
@pytest.mark.parametrize("case", list(UNSUPPORTED_BODIES))
async def test_unsupported_request_media_types_are_415(
    server: Server, http: httpx.AsyncClient, media_type: str, case: str
) -> None:
    content, content_type = UNSUPPORTED_BODIES[case]
    response = await post(
        http,
        accept=media_type,
        token=server.token(new_user("alice")),
        content=content,
        content_type=content_type,
    )
    assert_request_error(response, 415, media_type)
    assert response.headers["accept-post"] == JSON


async def test_cross_site_simple_post_cannot_run_a_mutation(
    server: Server, http: httpx.AsyncClient, as_user: Client
) -> None:
    """A page on another site can post text/plain without a CORS preflight, with the user's
    credentials: such a body is refused, not executed."""
    alice, bob = new_user("alice"), new_user("bob")
    body = (
        b'{"query": "mutation { sendMessage(input: {recipientId: \\"'
        + alice.encode()
        + b'\\", body: \\"csrf\\"}) { id } }"}'
    )
    refused = await post(
        http, accept="*/*", token=server.token(bob), content=body, content_type="text/plain"
    )
    assert refused.status_code == 415
    marker = await as_user(bob).send(alice, "marker")
    await as_user(alice).wait_for_count(1)
    inbox = await as_user(alice).data("{ messages { edges { node { id body } } } }")
    assert [edge["node"]["body"] for edge in inbox["messages"]["edges"]] == ["marker"]
    assert inbox["messages"]["edges"][0]["node"]["id"] == marker["id"]


async def test_get_with_html_accept_serves_graphiql(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
