"""The per-request (per-connection, for WebSockets) context the resolvers work with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from services.app import App
from services.domain import Message, MessageId, UnreadCount, UserId
from services.errors import Unauthenticated


@dataclass(slots=True)
class Context:
    app: App
    request: Request | WebSocket
    response: Response | WebSocket | None
    user_id: UserId | None = None
    # Why there is no user, told to the client when an operation needs one.
    auth_error: str = "missing Authorization: Bearer <token>"
    # Filled by Strawberry from `connection_init` on WebSockets.
    connection_params: dict[str, Any] | None = None
    # Built on first use: most contexts (every subscription's, for one) never load a body.
    _bodies: DataLoader[MessageId, Message | None] | None = field(
        default=None, init=False, repr=False
    )
    # The viewer's counter as this request reads it: see `resolvers.queries.unread_counter`.
    counter_read: asyncio.Task[UnreadCount] | None = field(default=None, init=False, repr=False)
    # Under retention, when the first message this answer shows expires (epoch seconds): a
    # response cache must not hand the answer out after it (resolvers.queries.inbox).
    answer_expires_at: int | None = field(default=None, init=False, repr=False)

    def shows_until(self, expires_at: int | None) -> None:
        if expires_at is not None and (
            self.answer_expires_at is None or expires_at < self.answer_expires_at
        ):
            self.answer_expires_at = expires_at

    @property
    def bodies(self) -> DataLoader[MessageId, Message | None]:
        if self._bodies is None:
            self._bodies = DataLoader(load_fn=self._load_bodies)
        return self._bodies

    @property
    def viewer(self) -> UserId:
        if self.user_id is None:
            raise Unauthenticated(self.auth_error)
        return self.user_id

    @property
    def serves_one_operation(self) -> bool:
        """An HTTP request carries one operation; a WebSocket carries many over its life, so
        what one of them read would be stale for the next."""
        return isinstance(self.request, Request)

    async def _load_bodies(self, ids: list[MessageId]) -> list[Message | None]:
        found = await self.app.inbox.load_messages(ids)
        return [found.get(message_id) for message_id in ids]
