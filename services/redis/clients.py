"""Redis clients built from the settings: one node (`redis://`, `rediss://`), or a Redis Cluster
(`INBOXQL_REDIS_CLUSTER=true`, which ElastiCache Serverless for Valkey is), plus the way to reach
the node that serves a pub/sub channel.

Redis is a cache and a live feed here, never the truth. So retries are few and short: while
Redis is down, a call must fail within its timeouts and let the caller fall back, not retry for
seconds (redis-py's default is ten retries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from services.settings import Settings

log = logging.getLogger("inboxql.redis")

RedisClient = Redis | RedisCluster
# RedisClusterException (a slot no node serves, no reachable startup node) is not a RedisError.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)
# Sharded pub/sub (SSUBSCRIBE/SPUBLISH) arrived in Redis 7.0; Valkey reports 7.2.4 here.
SHARDED_PUBSUB_SINCE = (7, 0)
SINGLE_NODE = "redis"


def command_retry() -> Retry:
    # One quick retry covers a pooled connection that died with a restarted server. A timeout
    # is not retried: a server that did not answer within the read timeout would only make
    # the caller wait that long again. (A cluster client retries once on either, after
    # re-reading the slot map: redis-py's cluster retries ignore `supported_errors`.)
    return Retry(
        ExponentialWithJitterBackoff(base=0.01, cap=0.1),
        retries=1,
        supported_errors=(RedisConnectionError,),
    )


def no_retry() -> Retry:
    # The hub's reader reconnects itself and tells subscribers about the gap; a reconnect
    # hidden inside redis-py would lose events silently.
    return Retry(NoBackoff(), retries=0)


def _command_options(settings: Settings) -> dict[str, Any]:
    return {
        "socket_timeout": settings.read_timeout_seconds,
        "socket_connect_timeout": settings.connect_timeout_seconds,
        "retry": command_retry(),
    }


def pubsub_options(settings: Settings) -> dict[str, Any]:
    # A pub/sub connection sits idle between events, so no read timeout; the health check
    # and TCP keepalive notice a dead peer instead.
    return {
        "socket_connect_timeout": settings.connect_timeout_seconds,
        "socket_keepalive": True,
        "health_check_interval": 30,
        "retry": no_retry(),
    }


def node_url(base_url: str, host: str, port: int) -> str:
    """`base_url` (scheme, credentials, TLS options) pointed at one cluster node."""
    parts = urlsplit(base_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if credentials:
        netloc = f"{credentials}@{netloc}"
    return urlunsplit((parts.scheme, netloc, "", parts.query, ""))


def _version(info: dict[str, Any]) -> tuple[int, int]:
    text = str(info.get("redis_version", "0.0"))
    major, _, rest = text.partition(".")
    minor = rest.partition(".")[0]
    try:
        return int(major), int(minor)
    except ValueError:
        return 0, 0


class SingleNodeChannels:
    """One node: every channel on the one pub/sub connection; SUBSCRIBE and PUBLISH."""

    sharded = False

    def __init__(self, commands: Redis, pubsub: Redis) -> None:
        self._commands = commands
        self._pubsub = pubsub

    async def node_for(self, channel: str) -> str:
        return SINGLE_NODE

    def pubsub_client(self, node: str) -> Redis:
        return self._pubsub

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._commands.publish(channel, payload)

    async def refresh(self) -> None:
        """Nothing to learn: there is one node."""

    async def aclose(self) -> None:
        await self._pubsub.aclose()


@dataclass
class ClusterChannels:
    """Redis Cluster. With sharded pub/sub (Redis 7+), a channel lives on the primary that
    serves its hash slot: SPUBLISH goes there and the hub holds one SSUBSCRIBE connection per
    primary. Older servers only have classic pub/sub, which the cluster bus copies to every
    node, so one connection to any node hears everything."""

    cluster: RedisCluster
    base_url: str
    options: dict[str, Any]
    # Known once the first call has asked a node for its version.
    sharded: bool = field(default=False, init=False)
    _ready: bool = field(default=False, init=False)
    _clients: dict[str, Redis] = field(default_factory=dict, init=False)
    _classic_node: str = field(default="", init=False)

    async def node_for(self, channel: str) -> str:
        await self._prepare()
        if not self.sharded:
            return self._classic_node
        node = self.cluster.get_node_from_key(channel)
        if node is None:
            raise RedisClusterException(f"no cluster node serves {channel}")
        return str(node.name)

    def pubsub_client(self, node: str) -> Redis:
        client = self._clients.get(node)
        if client is None:
            host, _, port = node.rpartition(":")
            client = Redis.from_url(node_url(self.base_url, host, int(port)), **self.options)
            self._clients[node] = client
        return client

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._prepare()
        if self.sharded:
            await self.cluster.spublish(channel, payload)
        else:
            await self.cluster.publish(channel, payload)

    async def refresh(self) -> None:
        """Re-read the slot map, after a node refused a channel or went away."""
        await self.cluster.nodes_manager.initialize()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def _prepare(self) -> None:
        if self._ready:
            return
        await self.cluster.initialize()
        node = self.cluster.get_default_node()
        info = await self.cluster.info("server", target_nodes=node)
        self.sharded = _version(info) >= SHARDED_PUBSUB_SINCE
        self._classic_node = str(node.name)
        self._ready = True
        log.info("redis cluster: %s pub/sub", "sharded" if self.sharded else "classic (server < 7)")


PubSubChannels = SingleNodeChannels | ClusterChannels


@dataclass
class RedisClients:
    """`commands` serves the cache, persisted queries and publishing; `channels` places
    pub/sub subscriptions. Built without connecting: the first command connects."""

    commands: RedisClient
    channels: PubSubChannels

    async def aclose(self) -> None:
        await self.channels.aclose()
        await self.commands.aclose()


def redis_clients(settings: Settings) -> RedisClients:
    if settings.redis_cluster:
        cluster = RedisCluster.from_url(settings.redis_url, **_command_options(settings))
        channels = ClusterChannels(cluster, settings.redis_url, pubsub_options(settings))
        return RedisClients(cluster, channels)
    commands = Redis.from_url(settings.redis_url, **_command_options(settings))
    pubsub = Redis.from_url(settings.redis_url, **pubsub_options(settings))
    return RedisClients(commands, SingleNodeChannels(commands, pubsub))
