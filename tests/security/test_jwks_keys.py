"""Fetching an identity provider's keys over real loopback HTTP: bounded by timeouts, never
fatal, and at most once per floor interval."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx

from services.tokens.jwks import JwksKeys
from tests.polling import eventually
from tests.security.jwks_server import JwksServer, rsa_key


async def test_a_provider_that_never_answers_costs_one_timeout() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/jwks.json"
        async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client:
            keys = JwksKeys(client, url, min_refresh_seconds=60)
            started = time.monotonic()
            await asyncio.wait_for(keys.refresh(), 10)  # logs, does not raise
            assert time.monotonic() - started < 5
            assert keys.key("any") is None


async def test_a_provider_down_at_start_is_read_once_it_is_up() -> None:
    with JwksServer() as served:
        served.available = False
        async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as client:
            keys = JwksKeys(client, served.url, min_refresh_seconds=1)
            await keys.refresh()  # a 503: logged, not raised
            kid = served.keys[0].kid
            assert keys.key(kid) is None
            served.available = True

            async def fetched() -> bool:
                if keys.key(kid) is not None:
                    return True
                await keys.ensure_key(kid)
                return False

            await eventually(fetched, "the keys to be fetched", timeout=10, interval=0.1)


async def test_unknown_kids_refetch_at_most_once_per_floor() -> None:
    with JwksServer() as served:
        async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as client:
            keys = JwksKeys(client, served.url, min_refresh_seconds=3600)
            await keys.refresh()
            assert served.fetches == 1
            await asyncio.gather(*(keys.ensure_key(f"made-up-{n}") for n in range(50)))
            keys.refresh_soon()
            assert served.fetches == 1
            rotated = rsa_key()
            served.add(rotated)
            fresh = JwksKeys(client, served.url, min_refresh_seconds=0.01)
            await fresh.refresh()
            assert fresh.key(rotated.kid) is not None
