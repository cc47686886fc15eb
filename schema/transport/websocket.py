"""`graphql-transport-ws` as InboxQL serves it: Strawberry's handler, plus what it leaves out.

- Authentication in `connection_init` (a bad token closes with 4403) and, once accepted, a timer
  that closes the socket with 4403 when the token stops being valid (`exp` plus the leeway the
  verifier allows). graphql-ws retries 4403, so a client whose `connectionParams` is a function
  comes back with a fresh token.
- Server pings every INBOXQL_WS_PING_INTERVAL seconds; a client that has not answered `pong`
  within INBOXQL_WS_PONG_TIMEOUT is closed with 1011. Strawberry sends no pings on this protocol.
- At most INBOXQL_WS_MAX_CONNECTIONS_PER_USER sockets per user in this process (one more is
  closed with 1013, try again later) and INBOXQL_WS_MAX_SUBSCRIPTIONS operations at once on one
  socket (one more gets an `error` with BAD_USER_INPUT).
- A `subscribe` whose payload HTTP would refuse (a query that is not a string, several anonymous
  operations) gets an `error` with BAD_USER_INPUT. A frame that is not strict JSON (a lone UTF-16
  surrogate, NaN) closes the socket with 4400, Strawberry's answer to an invalid message.
- The connection_init deadline is INBOXQL_WS_INIT_TIMEOUT (4408). Strawberry already closes a
  `subscribe` before `connection_ack` with 4401 and a second `connection_init` with 4429.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    PongMessage,
    SubscribeMessage,
)

from resolvers.context import Context
from schema.transport.execution import NO_OPERATION_CHOSEN, names_no_operation_of_several
from schema.transport.http_responses import RequestRefused
from schema.transport.request_body import GraphQLParams
from services.domain import UserId
from services.errors import Unauthenticated
from services.settings import Settings
from services.tokens.verified_tokens import token_expiry
from services.tokens.verifiers import bearer_token

if TYPE_CHECKING:
    from strawberry.http.async_base_view import AsyncBaseHTTPView, AsyncWebSocketAdapter
    from strawberry.schema import BaseSchema

log = logging.getLogger("inboxql.websocket")

TOKEN_EXPIRED = 4403
PONG_TIMEOUT = 1011
TOO_MANY_CONNECTIONS = 1013
# A close frame waits behind whatever the peer has not read; a dead peer never reads it.
CLOSE_TIMEOUT_SECONDS = 5.0


class ConnectionLimitReached(Exception):
    """The user already has as many sockets open in this process as allowed."""


class LiveConnections:
    """How many sockets each user has open in this process."""

    def __init__(self) -> None:
        self._counts: dict[UserId, int] = {}

    def acquire(self, user_id: UserId, limit: int) -> None:
        count = self._counts.get(user_id, 0)
        if count >= limit:
            raise ConnectionLimitReached(f"{user_id} already has {count} connections here")
        self._counts[user_id] = count + 1

    def release(self, user_id: UserId) -> None:
        count = self._counts.get(user_id, 0) - 1
        if count > 0:
            self._counts[user_id] = count
        else:
            self._counts.pop(user_id, None)

    def count(self, user_id: UserId) -> int:
        return self._counts.get(user_id, 0)


class HasLiveConnections(Protocol):
    live_connections: LiveConnections


def connection_token(context: Context) -> str:
    """The bearer token from `connection_init`'s payload; Unauthenticated if there is none."""
    params = context.connection_params or {}
    header = params.get("Authorization") or params.get("authorization")
    return bearer_token(header if isinstance(header, str) else None)


async def admit(context: Context, connections: LiveConnections) -> None:
    """`on_ws_connect`: who is connecting, within the per-user limit. Sets `context.user_id`
    only once a connection slot is taken, so the handler knows to give it back."""
    try:
        token = connection_token(context)
        await context.app.tokens.prepare(token)
        user_id = context.app.tokens.verify(token)
    except Unauthenticated as error:
        raise ConnectionRejectionError({"message": error.message}) from None
    connections.acquire(user_id, context.app.settings.ws_max_connections_per_user)
    context.user_id = user_id


@lru_cache(maxsize=8)
def _normalized(origins: tuple[str, ...]) -> frozenset[str]:
    return normalize_allowed_origins(origins)


def origin_allowed(settings: Settings, origin: str) -> bool:
    """For cross-origin handshakes only: Strawberry lets same-origin pages and clients that send
    no Origin (not browsers) through before asking."""
    allowed = _normalized(settings.allowed_origins)
    return "*" in allowed or normalize_origin(origin) in allowed


def forget_handshake_headers(connection: HTTPConnection | None) -> None:
    """Empties the handshake's header list in place (the server's scope, Starlette's cached
    `Headers` and the middleware all share that one list). Once the socket is accepted and its
    context built, nothing reads them again, and an idle socket would hold them, about 1 KB,
    for as long as it is open."""
    headers = None if connection is None else connection.scope.get("headers")
    if isinstance(headers, list):
        headers.clear()


class InboxTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(  # noqa: PLR0917 -- Strawberry's signature
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Context, None],
        websocket: AsyncWebSocketAdapter,
        context: Context,
        root_value: None,
        schema: BaseSchema,
        connection_init_wait_timeout: timedelta,
        max_subscriptions_per_connection: int | None = None,
    ) -> None:
        # The app (and its settings) exists only once the server has started, after the view
        # was built: the limits are taken per connection.
        settings = context.app.settings
        super().__init__(
            view,
            websocket,
            context,
            root_value,
            schema,
            timedelta(seconds=settings.ws_init_timeout_seconds),
            settings.ws_max_subscriptions,
        )
        self._settings = settings
        self._connections = cast(HasLiveConnections, view).live_connections
        # Keep-alive by timers, not a task per socket: an idle socket holds one timer handle.
        # `_next_ping` runs between pings; `_pong_deadline` from a ping until its pong.
        self._next_ping: asyncio.TimerHandle | None = None
        self._pong_deadline: asyncio.TimerHandle | None = None
        self._pinging: asyncio.Task[None] | None = None
        self._keeping_alive = False
        self._expiry: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        forget_handshake_headers(context.request)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except ConnectionLimitReached as error:
            log.warning("refused a WebSocket: %s", error)
            await self.websocket.close(TOO_MANY_CONNECTIONS, "Too many connections for this user")
            return
        if self.connection_acknowledged and not self._keeping_alive:
            self._keeping_alive = True
            self._watch_expiry()
            # Held for as long as the socket is open otherwise: the init payload (the token
            # has been read, and a socket is only ever initialised once) and Strawberry's
            # finished init-deadline task (cancelled above; the loop holds it until it ends).
            self.context.connection_params = None
            self.connection_init_timeout_task = None
            self._schedule_ping()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # Before the ack, and for an id in use, Strawberry closes the socket (4401, 4409).
        if self.connection_acknowledged and message["id"] not in self.operations:
            refusal = self._refusal(message)
            if refusal is not None:
                error = GraphQLError(refusal, extensions={"code": "BAD_USER_INPUT"})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_subscribe(message)

    def _refusal(self, message: SubscribeMessage) -> str | None:
        """Why a `subscribe` is refused as HTTP would refuse it, or None. Strawberry runs a
        non-string query to a silent `complete`, and the first of several anonymous
        operations."""
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) >= limit:
            return f"at most {limit} operations at once on one connection"
        try:
            params = GraphQLParams(message["payload"])
        except RequestRefused as refused:
            return refused.message
        if params.query is None:
            return "the request has no `query`"
        if names_no_operation_of_several(params.query, message["payload"].get("operationName")):
            return NO_OPERATION_CHOSEN
        return None

    async def handle_pong(self, message: PongMessage) -> None:
        # A pong nobody asked for (graphql-ws allows them) moves nothing.
        if self._pong_deadline is not None:
            self._pong_deadline.cancel()
            self._pong_deadline = None
            self._schedule_ping()

    async def shutdown(self) -> None:
        self._keeping_alive = False
        for timer in (self._expiry, self._next_ping, self._pong_deadline):
            if timer is not None:
                timer.cancel()
        for task in (self._pinging, self._closing):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            await super().shutdown()
        finally:
            if self.context.user_id is not None:
                self._connections.release(self.context.user_id)
                self.context.user_id = None

    def _watch_expiry(self) -> None:
        """A timer at the moment the verifier would refuse the token, not a poll."""
        expiry = token_expiry(connection_token(self.context))
        if expiry is None:
            return
        delay = max(0.0, expiry + self._settings.jwt_leeway_seconds - time.time())
        self._expiry = asyncio.get_running_loop().call_later(
            delay, self._close_soon, TOKEN_EXPIRED, "Token expired"
        )

    def _schedule_ping(self) -> None:
        if self._keeping_alive and self._closing is None:
            self._next_ping = asyncio.get_running_loop().call_later(
                self._settings.ws_ping_interval_seconds, self._ping
            )

    def _ping(self) -> None:
        """The pong deadline starts with the ping, not once it is sent: a ping waiting for a
        peer that does not read counts against it too."""
        self._next_ping = None
        self._pong_deadline = asyncio.get_running_loop().call_later(
            self._settings.ws_pong_timeout_seconds, self._pong_missed
        )
        self._pinging = asyncio.create_task(self._send_ping())

    async def _send_ping(self) -> None:
        try:
            await self.send_message({"type": "ping"})
        except (WebSocketDisconnected, RuntimeError):
            # Closed meanwhile (Starlette refuses to send after a close): no pong will come.
            if self._pong_deadline is not None:
                self._pong_deadline.cancel()
                self._pong_deadline = None
        finally:
            self._pinging = None

    def _pong_missed(self) -> None:
        self._pong_deadline = None
        self._close_soon(PONG_TIMEOUT, "Pong not received in time")

    def _close_soon(self, code: int, reason: str) -> None:
        if self._next_ping is not None:
            self._next_ping.cancel()
            self._next_ping = None
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        log.info("closing a WebSocket of %s: %s", self.context.user_id, reason)
        # Stopped first: a ping or an operation sending at the same time would race the close
        # frame (and a ping still waiting for a peer that does not read would hold it back).
        if self._pinging is not None:
            self._pinging.cancel()
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(TimeoutError, WebSocketDisconnected, RuntimeError):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await self.websocket.close(code, reason)
