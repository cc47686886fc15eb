"""The WebSocket rules that need no socket: per-user counting, origins, token expiry, settings."""

from __future__ import annotations

import pytest

from schema.transport.websocket import ConnectionLimitReached, LiveConnections, origin_allowed
from services.domain import UserId
from services.settings import Settings, SettingsError
from services.tokens.verified_tokens import token_expiry
from services.tokens.verifiers import HmacTokenVerifier

ALICE, BOB = UserId("alice"), UserId("bob")


def test_connections_are_counted_per_user_and_given_back() -> None:
    live = LiveConnections()
    live.acquire(ALICE, 2)
    live.acquire(ALICE, 2)
    with pytest.raises(ConnectionLimitReached):
        live.acquire(ALICE, 2)
    live.acquire(BOB, 2)
    live.release(ALICE)
    assert live.count(ALICE) == 1
    live.acquire(ALICE, 2)
    for _ in range(2):
        live.release(ALICE)
    assert live.count(ALICE) == 0 and live.count(BOB) == 1


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://APP.example.com:443", True),  # as browsers normalise it
        ("http://app.example.com", False),  # another scheme is another origin
        ("https://app.example.com:8443", False),
        ("https://evil.example", False),
        ("null", False),
    ],
)
def test_origins_are_compared_as_browsers_send_them(origin: str, allowed: bool) -> None:
    settings = Settings(allowed_origins=("https://app.example.com",))
    assert origin_allowed(settings, origin) is allowed


def test_no_allowed_origins_by_default_and_a_star_allows_any() -> None:
    assert not origin_allowed(Settings(), "https://app.example.com")
    assert origin_allowed(Settings(allowed_origins=("*",)), "https://anything.example")


def test_token_expiry_is_the_exp_claim() -> None:
    verifier = HmacTokenVerifier("a-secret-long-enough-for-hs256-tokens")
    token = verifier.issue(ALICE, ttl_seconds=60)
    expiry = token_expiry(token)
    assert expiry is not None and expiry > 0
    assert token_expiry(verifier.issue(ALICE, ttl_seconds=None)) is None


def test_websocket_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "INBOXQL_ALLOWED_ORIGINS": "https://a.example, http://localhost:3000",
            "INBOXQL_WS_PING_INTERVAL": "5",
            "INBOXQL_WS_MAX_CONNECTIONS_PER_USER": "3",
        }
    )
    assert settings.allowed_origins == ("https://a.example", "http://localhost:3000")
    assert settings.ws_ping_interval_seconds == 5.0
    assert settings.ws_max_connections_per_user == 3
    for bad in ("https://a.example/path", "ftp://a.example", "a.example"):
        with pytest.raises(SettingsError, match="INBOXQL_ALLOWED_ORIGINS"):
            Settings.from_env({"INBOXQL_ALLOWED_ORIGINS": bad})
    with pytest.raises(SettingsError, match="INBOXQL_WS_MAX_SUBSCRIPTIONS"):
        Settings.from_env({"INBOXQL_WS_MAX_SUBSCRIPTIONS": "0"})
