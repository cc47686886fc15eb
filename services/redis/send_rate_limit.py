"""How many messages a user may send: a fixed window per user, counted in Redis so that every
API process shares one count.

One Lua script increments the window's counter and starts its expiry on the first send, so two
processes can never both see "first" or leave a counter without a TTL. The window's remaining
time (Redis' own clock, not ours) is the client's retry-after hint.

The key is one user's, so the script touches a single slot and runs as is on a Redis Cluster.

When Redis does not answer, sends are let through (fail open) and a warning is logged: the limit
protects against abuse, while refusing every send for the length of a cache outage would turn a
degraded cache into a full outage of the one write that matters. Accepted messages still go
through SQS and DynamoDB, neither of which depends on Redis.
"""

from __future__ import annotations

import logging
import math

from redis.asyncio import Redis, RedisCluster

from services.domain import UserId
from services.errors import RateLimited
from services.redis.clients import REDIS_ERRORS

log = logging.getLogger("inboxql.rate_limit")

KEY_PREFIX = "inboxql:rate:send:"

# KEYS[1] the window's counter; ARGV[1] the window in ms. Returns {count, ms left}.
_COUNT_SEND = """
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


class RedisSendRateLimiter:
    def __init__(self, client: Redis | RedisCluster, *, limit: int, window_seconds: int) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be positive")
        self._limit = limit
        self._window_ms = window_seconds * 1000
        self._script = client.register_script(_COUNT_SEND)

    async def admit(self, sender_id: UserId) -> None:
        try:
            count, left_ms = await self._script(
                keys=[KEY_PREFIX + sender_id], args=[self._window_ms]
            )
        except REDIS_ERRORS as error:
            log.warning(
                "send rate limit not checked (Redis unavailable), letting it through: %r", error
            )
            return
        if int(count) > self._limit:
            retry_after = max(1, math.ceil(int(left_ms) / 1000))
            raise RateLimited(
                f"at most {self._limit} messages per {self._window_ms // 1000} s; "
                f"retry in {retry_after} s",
                retry_after_seconds=retry_after,
            )
