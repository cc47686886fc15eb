"""Fixed-window limits per user, counted in Redis so that every API process shares one count:
the send limit, the read (operation) limit and the persisted-query registration quota are one
`RedisRateLimiter` each, under their own key prefix.

One Lua script increments the window's counter and starts its expiry on the first count, so two
processes can never both see "first" or leave a counter without a TTL. The window's remaining
time (Redis' own clock, not ours) is the client's retry-after hint. Every counter has a TTL, so
under a volatile-* eviction policy it stays evictable; it is also tiny and recently written,
so LRU eviction takes old persisted documents and cached bodies long before it.

The key is one user's, so the script touches a single slot and runs as is on a Redis Cluster.

When Redis does not answer, the count is let through (fail open) and a warning is logged: the
limits protect against abuse, while refusing every operation for the length of a cache outage
would turn a degraded cache into a full outage. Accepted messages still go through SQS and
DynamoDB, neither of which depends on Redis.
"""

from __future__ import annotations

import logging
import math

from redis.asyncio import Redis, RedisCluster

from services.domain import UserId
from services.errors import RateLimited
from services.redis.clients import REDIS_ERRORS

log = logging.getLogger("inboxql.rate_limit")

SEND_KEY_PREFIX = "inboxql:rate:send:"
READ_KEY_PREFIX = "inboxql:rate:read:"
PERSISTED_QUERY_KEY_PREFIX = "inboxql:rate:apq:"
TYPING_KEY_PREFIX = "inboxql:rate:typing:"
# Not a user id any token can carry (they are never empty): the key of a count for everyone.
ALL_USERS = UserId("")

# KEYS[1] the window's counter; ARGV[1] the window in ms. Returns {count, ms left}.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""


class RedisRateLimiter:
    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        key_prefix: str,
        name: str,
        what: str,
        limit: int,
        window_seconds: int,
    ) -> None:
        """`name` is the limit's in the logs ("send"); `what` names the counted thing, plural,
        in the refusal ("messages")."""
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be positive")
        self._key_prefix = key_prefix
        self._name = name
        self._what = what
        self._limit = limit
        self._window_ms = window_seconds * 1000
        self._script = client.register_script(_COUNT)

    async def admit(self, user_id: UserId, /) -> None:
        try:
            count, left_ms = await self._script(
                keys=[self._key_prefix + user_id], args=[self._window_ms]
            )
        except REDIS_ERRORS as error:
            log.warning(
                "%s rate limit not checked (Redis unavailable), letting it through: %r",
                self._name,
                error,
            )
            return
        if int(count) > self._limit:
            retry_after = max(1, math.ceil(int(left_ms) / 1000))
            raise RateLimited(
                f"at most {self._limit} {self._what} per {self._window_ms // 1000} s; "
                f"retry in {retry_after} s",
                retry_after_seconds=retry_after,
            )


class RedisRegistrationQuota:
    """Persisted-query registrations: at most `per_user` a day for each user and `total` a day
    for everyone together, so that however many accounts register, the documents alive at once
    (they live one window, services/redis/persisted_queries.py) stay under about
    2 x `total` x 20 kB and cannot fill the Redis that the limits count in."""

    def __init__(
        self, client: Redis | RedisCluster, *, per_user: int, total: int, window_seconds: int
    ) -> None:
        what = "persisted query registrations"
        self._per_user = RedisRateLimiter(
            client,
            key_prefix=PERSISTED_QUERY_KEY_PREFIX,
            name="persisted query registration",
            what=what,
            limit=per_user,
            window_seconds=window_seconds,
        )
        self._total = RedisRateLimiter(
            client,
            key_prefix=PERSISTED_QUERY_KEY_PREFIX,
            name="persisted query registration (total)",
            what=f"{what} for all users together",
            limit=total,
            window_seconds=window_seconds,
        )

    async def admit(self, user_id: UserId, /) -> None:
        await self._per_user.admit(user_id)
        # One key for everyone: registrations are rare (a client registers each document
        # once), so this one slot is never hot.
        await self._total.admit(ALL_USERS)


class RedisSendRateLimiter(RedisRateLimiter):
    """A limit on something a user sends: messages (`inboxql:rate:send:<user>`, the default)
    or typing notices (`TYPING_KEY_PREFIX`), each under its own prefix, so neither uses up
    the other."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        limit: int,
        window_seconds: int,
        key_prefix: str = SEND_KEY_PREFIX,
        name: str = "send",
        what: str = "messages",
    ) -> None:
        super().__init__(
            client,
            key_prefix=key_prefix,
            name=name,
            what=what,
            limit=limit,
            window_seconds=window_seconds,
        )
