"""`MessageCache` on Redis: one key per immutable message, read with one MGET.

On a Redis Cluster the keys of a page live in many hash slots, and an MGET across slots fails
with CROSSSLOT. There a read is one MGET per slot (redis-py's `mget_nonatomic`), sent through a
cluster pipeline, which gives each node its own MGETs in one round trip, all nodes at once.
Bodies are immutable, so a read spread over slots loses nothing by not being atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.asyncio import RedisCluster

from services.domain import Message, MessageId
from services.errors import DependencyUnavailable
from services.message_codec import decode_message, encode_message
from services.redis.clients import REDIS_ERRORS, RedisClient

KEY_PREFIX = "inboxql:msg:"


class RedisMessageCache:
    def __init__(self, client: RedisClient, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]:
        if not ids:
            return {}
        keys = [KEY_PREFIX + i for i in ids]
        try:
            if isinstance(self._redis, RedisCluster):
                values = await self._redis.mget_nonatomic(keys)
            else:
                values = await self._redis.mget(keys)
        except REDIS_ERRORS as error:
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
        except REDIS_ERRORS as error:
            raise DependencyUnavailable(f"redis: {error}") from error
