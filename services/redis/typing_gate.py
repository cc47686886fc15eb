"""`TypingGate` on Redis: `SET inboxql:typing:<from>:<conversation> 1 NX PX <hold>`.

The key exists for the hold period after the first `setTyping` of a sender in a conversation,
so however many processes the calls reach and however fast a client repeats them, the other
participant gets at most one push per period. One key per sender and conversation: one slot,
so it runs as is on a Redis Cluster. It expires by itself: nothing is ever deleted or stored.
"""

from __future__ import annotations

from services.domain import ConversationId, UserId
from services.errors import DependencyUnavailable
from services.redis.clients import REDIS_ERRORS, RedisClient

KEY_PREFIX = "inboxql:typing:"
# A client repeats setTyping while the user types; a typing indicator shown for a few seconds
# after the last push covers the gap. Longer would hide a second burst of typing.
HOLD_SECONDS = 3.0


def typing_key(from_user: UserId, conversation: ConversationId) -> str:
    # A user id may hold ':', but a conversation id is always the last 24 characters.
    return f"{KEY_PREFIX}{from_user}:{conversation}"


class RedisTypingGate:
    def __init__(self, client: RedisClient, *, hold_seconds: float = HOLD_SECONDS) -> None:
        """`client` carries the command timeouts (services/redis/clients.py)."""
        if hold_seconds <= 0:
            raise ValueError("a typing gate holds for a positive time")
        self._redis = client
        self._hold_ms = max(1, round(hold_seconds * 1000))

    async def admit(self, from_user: UserId, conversation: ConversationId) -> bool:
        try:
            set_now = await self._redis.set(
                typing_key(from_user, conversation), b"1", nx=True, px=self._hold_ms
            )
        except REDIS_ERRORS as error:
            raise DependencyUnavailable(f"redis: {error}") from error
        return bool(set_now)
