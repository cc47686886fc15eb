"""The run's table and queues, and data put straight into them, through the composition root's
own adapters (the api role, provisioning on)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bench.context import BenchContext
from services.bootstrap import bootstrap
from services.ports import MessageCache, MessageStore


@dataclass
class Provisioned:
    dynamodb: Any
    sqs: Any
    queue_url: str
    store: MessageStore
    cache: MessageCache


@contextlib.asynccontextmanager
async def provisioned(context: BenchContext) -> AsyncIterator[Provisioned]:
    async with bootstrap(context.settings, context.endpoints, provision=True) as app:
        clients = app.clients
        yield Provisioned(
            clients.dynamodb, clients.sqs, clients.queue_url, app.store, app.inbox.cache
        )


async def provision(context: BenchContext) -> None:
    async with provisioned(context):
        pass
