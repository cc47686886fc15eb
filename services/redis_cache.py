"""`MessageCache` on Redis: one key per immutable message, read with a single MGET."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.domain import Message, MessageId
from services.errors import DependencyUnavailable
from services.message_codec import decode_message, encode_message

KEY_PREFIX = "inboxql:msg:"


class RedisMessageCache:
    def __init__(self, client: Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]:
        if not ids:
            return {}
        try:
            values = await self._redis.mget([KEY_PREFIX + i for i in ids])
        except (RedisError, OSError) as error:
            raise DependencyUnavailable(f"redis: {error}") from error
        found: dict[MessageId, Message] = {}
        for value in values:
            message = decode_message(value) if value is not None else None
            if message is not None:
                found[message.id] = message
        return found

    async def put_many(self, messages: Iterable[Message]) -> None:
        batch = list(messages)
        if not batch:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for message in batch:
                    pipe.set(KEY_PREFIX + message.id, encode_message(message), ex=self._ttl)
                await pipe.execute()
        except (RedisError, OSError) as error:
            raise DependencyUnavailable(f"redis: {error}") from error
