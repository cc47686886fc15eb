"""uvicorn's HTTP protocol (httptools), with the bounds it lacks against slow clients.

uvicorn parses a request's head before any ASGI app is called, and sets no deadline on it: a
connection that sends nothing, or one header line a minute, stays open for good. Nor does it
bound connections: its `limit_concurrency` is checked only once a head is complete (so idle
and half-sent connections are never refused), is skipped for WebSocket upgrades while counting
every WebSocket, and counts tasks too. So, per connection:

- the request head must be complete within `header_timeout` of its first byte (or of the
  connection, for the first request); else 408 and the connection is closed. Nor may it
  exceed `MAX_HEAD_BYTES` (httptools sets no bound; h11's is 16 KiB): else 431 and closed;
- beyond `max_connections` open ones (WebSockets included), a new connection is answered 503
  and closed before anything is read;
- a request whose body is not all in within `body_timeout` of its head is closed once it has
  been answered: uvicorn would otherwise go on reading, and dropping, a body the app answered
  without reading, with no deadline at all. (Closed at once, a client still sending an
  honest body would see a reset instead of the answer.)

When the app reads the body, web/body_deadline.py's deadline (the same, from a moment later)
answers 408 first.
"""

from __future__ import annotations

import asyncio
import logging
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("inboxql")

_JSON_ERROR = b'{"errors":[{"message":"%s","extensions":{"code":"%s"}}]}'  # both ASCII, no quotes
# As an AWS ALB's bound on a request's headers; a bearer token is a few hundred bytes.
MAX_HEAD_BYTES = 64 * 1024
# A flood of refused connections must not become a flood of log lines.
_REFUSAL_LOG_INTERVAL_SECONDS = 10.0
# How long a refused connection's request is read and dropped after the 503: closed at once,
# the request arriving after it would draw a reset, which may reach the client before the 503.
_REFUSAL_LINGER_SECONDS = 1.0


def _answer(status: bytes, message: bytes, code: bytes, extra: bytes = b"") -> bytes:
    body = _JSON_ERROR % (message, code)
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n" + extra + b"connection: close\r\n"
        b"\r\n" + body
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Set the bounds with `guarded_protocol()`; uvicorn builds one instance per connection."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 15_000
    _last_refusal_logged = 0.0

    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _refused = False
    _head_bytes = 0
    _head_too_large = False
    # From a request's head complete to its message complete: its body is on its way.
    _reading_body = False
    _body_late = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse_connection()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._disarm_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        # The first bytes of the next request on a kept-alive connection start its clock.
        if self._head_timer is None and not self._reading_body:
            self._arm_head_timer()
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            self._head_too_large = True
            # Out of the parser as an error, which uvicorn answers with send_400_response.
            raise ValueError("request head too large")

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        message = b"the request headers are larger than %d bytes" % MAX_HEAD_BYTES
        self.transport.write(
            _answer(b"431 Request Header Fields Too Large", message, b"BAD_USER_INPUT")
        )
        self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        self._reading_body, self._body_late = True, False
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        # The connection is the WebSocket protocol's from here: no request body to wait for.
        self._reading_body = False
        self._disarm_body_timer()
        super().handle_websocket_upgrade()

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm_body_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._reading_body and self._body_late and not self.transport.is_closing():
            self.transport.close()
        super().on_response_complete()

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _disarm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        self._body_late = True
        # Still being answered: closed once the answer is out (on_response_complete).
        if self.cycle is not None and self.cycle.response_complete:
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        # Idle between requests is the keep-alive timeout's to close: this clock runs only
        # from a connection's start or from the first byte of a request.
        message = b"the request headers did not arrive within %g seconds" % self.header_timeout
        self.transport.write(_answer(b"408 Request Timeout", message, b"REQUEST_TIMEOUT"))
        self.transport.close()

    def _refuse_connection(self) -> None:
        now = time.monotonic()
        if now - GuardedHttpToolsProtocol._last_refusal_logged >= _REFUSAL_LOG_INTERVAL_SECONDS:
            GuardedHttpToolsProtocol._last_refusal_logged = now
            log.warning(
                "refusing connections: %d open, INBOXQL_MAX_CONNECTIONS is %d",
                len(self.connections) - 1,
                self.max_connections,
            )
        message = b"the server has too many connections open; try again shortly"
        self._refused = True
        self.transport.write(
            _answer(b"503 Service Unavailable", message, b"UNAVAILABLE", b"retry-after: 1\r\n")
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_REFUSAL_LINGER_SECONDS, self.transport.close)


def guarded_protocol(
    *, header_timeout: float, body_timeout: float, max_connections: int
) -> type[HttpToolsProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with these bounds."""
    bounds = {
        "header_timeout": header_timeout,
        "body_timeout": body_timeout,
        "max_connections": max_connections,
    }
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), bounds)
