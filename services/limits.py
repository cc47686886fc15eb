"""The per-user limits, built from settings: sends, operations, persisted-query registrations
and typing notices. Each is counted in Redis across processes, or is off when its setting is 0;
`redis` is called only for a limit that is on, so a deployment with every limit off never opens
a Redis client for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.disabled import NoLimit, NoRegistrations, NoSendLimit
from services.ports import RateLimiter, SendRateLimiter
from services.redis.persisted_queries import REGISTRATION_QUOTA_WINDOW_SECONDS
from services.redis.rate_limit import (
    READ_KEY_PREFIX,
    TYPING_KEY_PREFIX,
    RedisRateLimiter,
    RedisRegistrationQuota,
    RedisSendRateLimiter,
)
from services.settings import Settings

# INBOXQL_TYPING_RATE_LIMIT is per minute: a typing indicator is a burst of a few seconds, and
# one window length for everyone leaves a single number to tune.
TYPING_RATE_WINDOW_SECONDS = 60

RedisCommands = Callable[[], Any]


def send_limit(settings: Settings, redis: RedisCommands) -> SendRateLimiter:
    if not settings.send_rate_limit:
        return NoSendLimit()
    return RedisSendRateLimiter(
        redis(), limit=settings.send_rate_limit, window_seconds=settings.send_rate_window_seconds
    )


def read_limit(settings: Settings, redis: RedisCommands) -> RateLimiter:
    if not settings.read_rate_limit:
        return NoLimit()
    return RedisRateLimiter(
        redis(),
        key_prefix=READ_KEY_PREFIX,
        name="read",
        what="operations",
        limit=settings.read_rate_limit,
        window_seconds=settings.read_rate_window_seconds,
    )


def registration_quota(settings: Settings, redis: RedisCommands) -> RateLimiter:
    if not settings.persisted_query_quota:
        return NoRegistrations()
    return RedisRegistrationQuota(
        redis(),
        per_user=settings.persisted_query_quota,
        total=settings.persisted_query_total_quota,
        window_seconds=REGISTRATION_QUOTA_WINDOW_SECONDS,
    )


def typing_limit(settings: Settings, redis: RedisCommands) -> SendRateLimiter:
    if not settings.typing_rate_limit:
        return NoSendLimit()
    return RedisSendRateLimiter(
        redis(),
        limit=settings.typing_rate_limit,
        window_seconds=TYPING_RATE_WINDOW_SECONDS,
        key_prefix=TYPING_KEY_PREFIX,
        name="typing",
        what="typing notices",
    )
