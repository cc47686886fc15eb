"""Only the host names the settings name are served: a defence against DNS rebinding.

A page on attacker.example whose name is rebound to 127.0.0.1 is, to the browser, same-origin
with the local server: it could read GraphiQL's embedded token, call `/demo/token`, and open a
WebSocket that Strawberry counts as same-origin (its check compares Origin with Host). Its
requests still say `Host: attacker.example`, and are refused here before any route runs.

Not Starlette's TrustedHostMiddleware: it cuts the port at the first colon (so `[::1]:8000`
is never matched), answers in plain text, and may redirect to `www.`.
"""

from __future__ import annotations

from collections.abc import Awaitable

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

# A load balancer's health check names the task's address, not the service's host name; and
# these say nothing a rebound page could use.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


def host_name(host_header: str) -> str:
    """The Host header's name without its port, lowercased; an IPv6 literal keeps brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


class AllowedHostsMiddleware:
    """Answers 421 (Misdirected Request) with a GraphQL-shaped error to HTTP requests, and
    refuses WebSocket handshakes (403), whose Host is not one of `allowed` (`*`: any)."""

    def __init__(self, app: ASGIApp, *, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.any_host = "*" in allowed
        # `::1` as written in the setting is `[::1]` in a Host header.
        self.allowed = frozenset(
            f"[{host}]" if ":" in host and not host.startswith("[") else host for host in allowed
        )
        self.refusal = orjson.dumps(
            {
                "errors": [
                    {
                        "message": "this server does not answer for that host name; "
                        "set INBOXQL_ALLOWED_HOSTS to serve it",
                        "extensions": {"code": "MISDIRECTED_REQUEST"},
                    }
                ]
            }
        )

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: an allowed request gets the app's own awaitable, so that no
        # frame of this middleware stays suspended for a WebSocket's whole life.
        if (
            self.any_host
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in PROBE_PATHS
            or host_name(Headers(scope=scope).get("host", "")) in self.allowed
        ):
            return self.app(scope, receive, send)
        return self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(self.refusal)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.refusal})
