"""What differs between one Redis node and a Redis Cluster, as far as the event hub cares: which
pub/sub commands a node connection speaks, and which node connections stay open for good.
Everything else (placing a channel on a node, publishing, re-reading the slot map) is the same
call on either kind of `PubSubChannels` (services/redis/clients.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, assert_never

from services.redis.clients import SINGLE_NODE, ClusterChannels, PubSubChannels, SingleNodeChannels


@dataclass(frozen=True, slots=True)
class PubSubCommands:
    """One pub/sub flavour: the commands a node connection sends, which are also the `type`
    of the replies that confirm them, and the `type` of a published message."""

    subscribe: str
    unsubscribe: str
    message: str


CLASSIC = PubSubCommands("subscribe", "unsubscribe", "message")
# A channel lives on the primary that serves its hash slot (Redis 7+ Cluster).
SHARDED = PubSubCommands("ssubscribe", "sunsubscribe", "smessage")


class Topology(Protocol):
    @property
    def standing_nodes(self) -> frozenset[str]:
        """Nodes whose connection opens when the hub starts and stays open for its life. Any
        other node's opens on first use and closes once it carries no channel."""

    def commands(self) -> PubSubCommands:
        """Asked when a node connection is made, which is after a channel was placed: a
        cluster only knows which flavour it speaks once a node has been asked."""


class OneNode:
    """Known up front, so its connection is open before the first subscriber needs it; and
    classic pub/sub, which every version has."""

    @property
    def standing_nodes(self) -> frozenset[str]:
        return frozenset({SINGLE_NODE})

    def commands(self) -> PubSubCommands:
        return CLASSIC


@dataclass(frozen=True, slots=True)
class ClusterNodes:
    """Nodes are learnt per channel (and come and go with resharding), so none stands. Classic
    pub/sub below Redis 7, whose cluster bus copies every message to every node."""

    channels: ClusterChannels

    @property
    def standing_nodes(self) -> frozenset[str]:
        return frozenset()

    def commands(self) -> PubSubCommands:
        return SHARDED if self.channels.sharded else CLASSIC


def topology_of(channels: PubSubChannels) -> Topology:
    # The one place the two kinds are told apart; the hub only ever asks the Topology.
    match channels:
        case SingleNodeChannels():
            return OneNode()
        case ClusterChannels():
            return ClusterNodes(channels)
        case _:
            assert_never(channels)
