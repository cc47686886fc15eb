"""Identity-provider tokens (RS256/ES256, keys from a JWKS served over real HTTP on loopback)
through the real server, over HTTP and over the WebSocket's connection_init."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from websockets.exceptions import ConnectionClosed

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.polling import eventually
from tests.security.conftest import JWKS_MIN_REFRESH_SECONDS, JWT_AUDIENCE, JWT_ISSUER
from tests.security.jwks_server import JwksServer, SigningKey, claims, ec_key, rsa_key

STEP_TIMEOUT = 20.0
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def good_claims(user: str, **changes: Any) -> dict[str, Any]:
    return claims(user, issuer=JWT_ISSUER, audience=JWT_AUDIENCE) | changes


async def whoami(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"Authorization": f"Bearer {token}", "Accept": GRAPHQL_RESPONSE_JSON},
    )


async def ws_init(server: Server, token: str) -> dict[str, Any] | int:
    """The server's answer to connection_init: its message, or the close code."""
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        try:
            answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code
        return answer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """A token built by hand, as an attacker would (PyJWT refuses to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("which", [0, 1], ids=["RS256", "ES256"])
async def test_provider_tokens_are_accepted(
    secure_server: Server, http: httpx.AsyncClient, jwks: JwksServer, which: int
) -> None:
    key = jwks.keys[which]
    user = new_user("idp")
    token = key.sign(good_claims(user))
    response = await whoami(http, token)
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"id": user}}}
    assert await ws_init(secure_server, token) == {"type": "connection_ack"}


async def test_a_cognito_access_token_with_client_id_instead_of_aud_is_accepted(
    http: httpx.AsyncClient, jwks: JwksServer
) -> None:
    user = new_user("idp")
    access = good_claims(user, client_id=JWT_AUDIENCE, token_use="access")
    del access["aud"]
    assert (await whoami(http, jwks.keys[0].sign(access))).json() == {"data": {"me": {"id": user}}}


def refused_tokens(jwks: JwksServer) -> dict[str, str]:
    published = jwks.keys[0]
    user = new_user("victim")
    impostor = SigningKey(published.kid, "RS256", rsa_key().private)  # right kid, wrong key
    public_pem = published.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    return {
        "wrong-key": impostor.sign(good_claims(user)),
        "unknown-kid": rsa_key().sign(good_claims(user)),
        "wrong-iss": published.sign(good_claims(user, iss="https://evil.example/pool")),
        "wrong-aud": published.sign(good_claims(user, aud="another-app")),
        "no-aud-or-client-id": published.sign(
            {k: v for k, v in good_claims(user).items() if k != "aud"}
        ),
        "expired": published.sign(good_claims(user, iat=now - 7200, exp=now - 120)),
        "no-exp": published.sign({k: v for k, v in good_claims(user).items() if k != "exp"}),
        # RFC 7519 NumericDates are JSON numbers; PyJWT alone accepts these strings.
        "exp-string": published.sign(good_claims(user, exp=str(now + 3600))),
        "nbf-string": published.sign(good_claims(user, nbf=str(now - 60))),
        "iat-string": published.sign(good_claims(user, iat=str(now))),
        "alg-none": hand_signed({"alg": "none", "kid": published.kid}, good_claims(user), None),
        "hs256-with-public-key": hand_signed(
            {"alg": "HS256", "typ": "JWT", "kid": published.kid}, good_claims(user), public_pem
        ),
        "es256-header-on-rsa-key": hand_signed(
            {"alg": "ES256", "kid": published.kid}, good_claims(user), b"x"
        ),
    }


REFUSED = [
    "wrong-key",
    "unknown-kid",
    "wrong-iss",
    "wrong-aud",
    "no-aud-or-client-id",
    "expired",
    "no-exp",
    "exp-string",
    "nbf-string",
    "iat-string",
    "alg-none",
    "hs256-with-public-key",
    "es256-header-on-rsa-key",
]


@pytest.mark.parametrize("case", REFUSED)
async def test_bad_provider_tokens_are_unauthenticated(
    secure_server: Server, http: httpx.AsyncClient, jwks: JwksServer, case: str
) -> None:
    token = refused_tokens(jwks)[case]
    response = await whoami(http, token)
    assert response.status_code == 401
    body = response.json()
    assert "data" not in body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAUTHENTICATED"}
    assert await ws_init(secure_server, token) == 4403


async def test_a_rotated_in_key_is_fetched_on_first_sight(
    http: httpx.AsyncClient, jwks: JwksServer
) -> None:
    rotated = ec_key()
    jwks.add(rotated)
    user = new_user("rotated")
    token = rotated.sign(good_claims(user))
    # The fetch floor may still hold from another test's fetch: poll past it.
    responses: list[httpx.Response] = []

    async def accepted() -> bool:
        responses.append(await whoami(http, token))
        return responses[-1].status_code == 200

    await eventually(
        accepted,
        lambda: f"the token to be accepted, last {responses[-1].text if responses else None}",
        timeout=JWKS_MIN_REFRESH_SECONDS + STEP_TIMEOUT,
        interval=0.1,
    )
    assert responses[-1].json() == {"data": {"me": {"id": user}}}


async def test_unknown_kids_cannot_make_the_server_hammer_the_provider(
    http: httpx.AsyncClient, jwks: JwksServer
) -> None:
    before = jwks.fetches
    started = time.monotonic()
    tokens = [rsa_key().sign(good_claims(new_user("x")), kid=uuid.uuid4().hex) for _ in range(30)]
    responses = await asyncio.gather(*(whoami(http, token) for token in tokens))
    elapsed = time.monotonic() - started
    assert {response.status_code for response in responses} == {401}
    # At most one fetch per floor interval (plus one for the interval already begun).
    allowed = 1 + int(elapsed / JWKS_MIN_REFRESH_SECONDS) + 1
    assert jwks.fetches - before <= allowed, (jwks.fetches - before, elapsed)


async def test_our_own_hs256_tokens_still_work_beside_the_provider(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    user = new_user("local")
    response = await whoami(http, secure_server.token(user))
    assert response.json() == {"data": {"me": {"id": user}}}
