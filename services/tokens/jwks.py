"""An identity provider's signing keys (a JWKS document, as Cognito publishes at
`https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json`), fetched over async
HTTP with a timeout and cached by `kid`.

Verification stays synchronous (it runs for every request and every WebSocket connection, and
needs only the cached keys); fetching is asynchronous and happens ahead of it: at start-up, and
from `ensure_key` when a token names a key not seen yet (a rotation), at most once per
`min_refresh_seconds` so that tokens with made-up `kid`s cannot make us hammer the provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK

log = logging.getLogger("inboxql.jwks")

# Asymmetric algorithms only: a symmetric key in a public document would be a shared secret
# anyone can read.
ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_DOCUMENT_BYTES = 1 << 20
# Keys also go stale when a provider retires one: the document is read again this often even
# when every `kid` is known.
MAX_AGE_SECONDS = 3600.0


class JwksKeys:
    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        min_refresh_seconds: float = 60.0,
        max_age_seconds: float = MAX_AGE_SECONDS,
    ) -> None:
        """`client` carries the timeouts; it is the caller's to close."""
        self._client = client
        self._url = url
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    def key(self, kid: str) -> PyJWK | None:
        return self._keys.get(kid)

    async def ensure_key(self, kid: str) -> None:
        """Fetch the document again if `kid` is unknown or the keys are old, unless a fetch
        happened less than `min_refresh_seconds` ago."""
        if kid in self._keys and not self._stale():
            return
        async with self._lock:
            if (kid in self._keys and not self._stale()) or not self._may_fetch():
                return
            await self._fetch()

    def refresh_soon(self) -> None:
        """From synchronous code that met an unknown `kid`: fetch in the background (if the
        floor allows), so that the client's next attempt finds the key."""
        if not self._may_fetch():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.ensure_key(""))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def refresh(self) -> None:
        """Fetch now (start-up), whatever the floor says."""
        async with self._lock:
            await self._fetch()

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None or time.monotonic() - self._attempted_at >= self._min_refresh
        )

    async def _fetch(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            response = await self._client.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"JWKS document over {MAX_DOCUMENT_BYTES} bytes")
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            # Keys fetched before stay in use: a provider blip must not sign everyone out.
            log.warning("could not fetch the JWKS at %s: %r", self._url, error)
            return
        keys = signing_keys(document)
        if not keys:
            log.warning("the JWKS at %s has no usable RS256/ES256 key", self._url)
            return
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("fetched %d signing keys from %s", len(keys), self._url)


def signing_keys(document: Any) -> dict[str, PyJWK]:
    """The RS256/ES256 signature keys of a JWKS document by `kid`; others are skipped."""
    found: dict[str, PyJWK] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ALGORITHMS:
            found[entry["kid"]] = key
    return found
