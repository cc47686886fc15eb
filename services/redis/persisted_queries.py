"""Automatic persisted queries (Apollo's APQ protocol): GraphQL documents kept by their SHA-256.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`, first without
the document. If the server knows the hash it runs the stored document; otherwise it answers
`PersistedQueryNotFound` and the client sends the document and the hash together, which registers
it. Redis holds the documents, so every server process shares them.

The store is a cache: losing an entry only costs the client one round trip, so Redis failures
are logged and read as "not found", never surfaced to the client.
"""

from __future__ import annotations

import hashlib
import logging
import re

from services.redis.clients import REDIS_ERRORS, RedisClient

log = logging.getLogger("inboxql.persisted_queries")

KEY_PREFIX = "inboxql:apq:"
# A day, the quota's window: a user's documents alive at once are bounded by about twice the
# quota (INBOXQL_PERSISTED_QUERY_QUOTA), and an app re-registers what it still uses in one round
# trip after expiry.
DEFAULT_TTL_SECONDS = 24 * 3600
REGISTRATION_QUOTA_WINDOW_SECONDS = 24 * 3600
# Stored documents are bounded (the token limit bounds what executes, not what is stored:
# whitespace and comments are free). 20 kB is far above any real InboxQL operation.
MAX_DOCUMENT_BYTES = 20_000
SUPPORTED_VERSION = 1

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def is_sha256_hex(value: str) -> bool:
    """Lowercase hex, as `document_hash` (and every APQ client) writes it."""
    return _SHA256_HEX.match(value) is not None


class RedisPersistedQueryStore:
    """One key per document, `inboxql:apq:<sha256>`, expiring `ttl_seconds` after it was
    last registered."""

    def __init__(self, client: RedisClient, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def get(self, sha256_hash: str) -> str | None:
        try:
            value = await self._redis.get(KEY_PREFIX + sha256_hash)
        except REDIS_ERRORS as error:
            log.warning("persisted query lookup failed, treated as not found: %s", error)
            return None
        if value is None:
            return None
        try:
            query = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        except UnicodeDecodeError:
            query = None
        # The key is the document's hash: anything else under it was not written by `put`.
        if query is None or document_hash(query) != sha256_hash:
            log.warning("persisted query %s does not match its hash; ignored", sha256_hash)
            return None
        return query

    async def put(self, sha256_hash: str, query: str) -> None:
        try:
            await self._redis.set(KEY_PREFIX + sha256_hash, query.encode("utf-8"), ex=self._ttl)
        except REDIS_ERRORS as error:
            log.warning("persisted query %s not stored: %s", sha256_hash, error)
