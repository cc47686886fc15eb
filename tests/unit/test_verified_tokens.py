"""Remembered tokens are accepted exactly as long as verifying them again would accept them."""

from __future__ import annotations

import time

import jwt
import pytest

from services.domain import UserId
from services.errors import Unauthenticated
from services.tokens.verified_tokens import VerifiedTokens
from services.tokens.verifiers import HmacTokenVerifier
from tests.unit.support import ALICE, BOB

SECRET = "unit-test-secret-with-more-than-thirty-two-bytes"
LEEWAY = 30


class CountingVerifier:
    def __init__(self) -> None:
        self.inner = HmacTokenVerifier(SECRET, leeway_seconds=LEEWAY)
        self.verified = 0
        self.prepared = 0

    async def prepare(self, token: str) -> None:
        self.prepared += 1

    def verify(self, token: str) -> UserId:
        self.verified += 1
        return self.inner.verify(token)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_token_is_verified_once_then_remembered() -> None:
    counting = CountingVerifier()
    tokens = VerifiedTokens(counting, leeway_seconds=LEEWAY)
    token = counting.inner.issue(ALICE, ttl_seconds=3600)
    for _ in range(3):
        await tokens.prepare(token)
        assert tokens.verify(token) == ALICE
    assert (counting.verified, counting.prepared) == (1, 1)
    assert tokens.verify(counting.inner.issue(BOB)) == BOB
    assert counting.verified == 2


def test_a_remembered_token_expires_when_verifying_would_refuse_it() -> None:
    counting, clock = CountingVerifier(), Clock()
    tokens = VerifiedTokens(counting, leeway_seconds=LEEWAY, clock=clock)
    token = counting.inner.issue(ALICE, ttl_seconds=60)
    expiry = clock.now + 60  # issue() sets exp from time.time(), whole seconds
    assert tokens.verify(token) == ALICE
    clock.now = expiry + LEEWAY - 2
    assert tokens.verify(token) == ALICE
    assert counting.verified == 1
    clock.now = expiry + LEEWAY + 2
    # Forgotten, so verified again: the real clock says it is still good.
    assert tokens.verify(token) == ALICE
    assert counting.verified == 2


def test_refused_tokens_are_never_remembered() -> None:
    counting = CountingVerifier()
    tokens = VerifiedTokens(counting, leeway_seconds=LEEWAY)
    forged = HmacTokenVerifier("another-secret-also-longer-than-32-bytes!!").issue(ALICE)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            tokens.verify(forged)
    assert counting.verified == 2


def test_the_least_recently_used_token_is_forgotten_first() -> None:
    counting = CountingVerifier()
    tokens = VerifiedTokens(counting, leeway_seconds=LEEWAY, max_tokens=2)
    a, b, c = (counting.inner.issue(UserId(name)) for name in ("a", "b", "c"))
    tokens.verify(a)
    tokens.verify(b)
    tokens.verify(a)
    tokens.verify(c)  # b goes
    assert counting.verified == 3
    tokens.verify(a)
    assert counting.verified == 3
    tokens.verify(b)
    assert counting.verified == 4


def signed(claims: dict[str, object]) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "dates",
    [
        {"exp": str(int(time.time()) + 3600)},
        {"exp": True},
        {"exp": [int(time.time()) + 3600]},
        {"nbf": str(int(time.time()) - 10)},
        {"iat": "0"},
        {"iat": False},
    ],
    ids=["exp-string", "exp-true", "exp-list", "nbf-string", "iat-string", "iat-false"],
)
def test_numeric_date_claims_that_are_not_json_numbers_are_refused(
    dates: dict[str, object],
) -> None:
    """RFC 7519's NumericDate is a JSON number; PyJWT alone takes `"exp": "<digits>"`."""
    counting = CountingVerifier()
    tokens = VerifiedTokens(counting, leeway_seconds=LEEWAY)
    token = signed({"sub": ALICE} | dates)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            tokens.verify(token)
    assert counting.verified == 2


def test_numeric_dates_may_be_floats() -> None:
    now = time.time()
    token = signed({"sub": ALICE, "iat": now, "nbf": now - 1.5, "exp": now + 3600.25})
    assert HmacTokenVerifier(SECRET, leeway_seconds=LEEWAY).verify(token) == ALICE


def test_a_token_without_a_numeric_expiry_is_never_remembered() -> None:
    """Even behind a verifier that lets a string `exp` through: remembered, it would never
    expire."""

    class Lenient:
        verified = 0

        async def prepare(self, token: str) -> None:
            return None

        def verify(self, token: str) -> UserId:
            self.verified += 1
            return ALICE

    lenient, clock = Lenient(), Clock()
    tokens = VerifiedTokens(lenient, leeway_seconds=LEEWAY, clock=clock)
    token = signed({"sub": ALICE, "exp": str(int(clock.now) + 60)})
    assert tokens.verify(token) == ALICE
    assert tokens.verify(token) == ALICE
    assert lenient.verified == 2
