"""`MessageCache` on Redis: one key per message, read with one MGET.

On a Redis Cluster the keys of a page live in many hash slots, and an MGET across slots fails
with CROSSSLOT. There a read is one MGET per slot (redis-py's `mget_nonatomic`), sent through a
cluster pipeline, which gives each node its own MGETs in one round trip, all nodes at once.
Bodies never change, so a read spread over slots loses nothing by not being atomic.

A deleted message's key holds a tombstone for as long as a body would be kept, and bodies are
written with SET NX: a reader that loaded the body just before the deletion cannot put it back
over the tombstone, in any process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.asyncio import RedisCluster

from services.domain import Message, MessageId
from services.errors import DependencyUnavailable
from services.message_codec import decode_message, encode_message
from services.redis.clients import REDIS_ERRORS, RedisClient

KEY_PREFIX = "inboxql:msg:"
# Not JSON, so no message payload can ever read as one.
TOMBSTONE = b"deleted"


class RedisMessageCache:
    def __init__(self, client: RedisClient, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message | None]:
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
        found: dict[MessageId, Message | None] = {}
        for message_id, value in zip(ids, values, strict=True):
            if value is None:
                continue
            if _is_tombstone(value):
                found[message_id] = None
                continue
            message = decode_message(value)
            if message is not None:
                found[message.id] = message
        return found

    async def put_many(self, messages: Iterable[Message]) -> None:
        await self._set_each(((m.id, encode_message(m)) for m in messages), only_new=True)

    async def forget(self, ids: Sequence[MessageId]) -> None:
        await self._set_each(((i, TOMBSTONE) for i in ids), only_new=False)

    async def _set_each(
        self, values: Iterable[tuple[MessageId, str | bytes]], *, only_new: bool
    ) -> None:
        batch = list(values)
        if not batch:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for message_id, value in batch:
                    pipe.set(KEY_PREFIX + message_id, value, ex=self._ttl, nx=only_new)
                await pipe.execute()
        except REDIS_ERRORS as error:
            raise DependencyUnavailable(f"redis: {error}") from error


def _is_tombstone(value: str | bytes) -> bool:
    return (value.encode() if isinstance(value, str) else value) == TOMBSTONE
