"""`MessageCache` on Redis: one key per immutable message, read with one MGET.

On a Redis Cluster the keys of a page live in many hash slots, and an MGET across slots fails
with CROSSSLOT. There a read is one MGET per slot, sent through a cluster pipeline, which gives
each node its own MGETs in one round trip, all nodes at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import RedisCluster
from redis.crc import key_slot

from services.domain import Message, MessageId
from services.errors import DependencyUnavailable
from services.message_codec import decode_message, encode_message
from services.redis_clients import REDIS_ERRORS, RedisClient

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
                values = await _mget_by_slot(self._redis, keys)
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


async def _mget_by_slot(cluster: RedisCluster, keys: list[str]) -> list[Any]:
    """MGET's answer, in the order of `keys`, from one MGET per hash slot."""
    by_slot: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        by_slot.setdefault(key_slot(key.encode()), []).append(index)
    async with cluster.pipeline(transaction=False) as pipe:
        for indexes in by_slot.values():
            pipe.mget([keys[i] for i in indexes])
        answers = await pipe.execute()
    values: list[Any] = [None] * len(keys)
    for indexes, answer in zip(by_slot.values(), answers, strict=True):
        for index, value in zip(indexes, answer, strict=True):
            values[index] = value
    return values
