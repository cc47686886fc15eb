"""uvicorn's WebSocket protocol (wsproto), without the handshake state an open socket would keep.

wsproto's server handshake keeps two things for as long as its socket lives: the upgrade request
(a copy of every header) and the h11 connection that parsed it (a state machine and its
buffers). Nothing reads them once the 101 response is written: from then on wsproto sends and
receives through the established connection alone. With 10,000 idle subscriptions they were
about 2 KB of a socket's 40 (docs/performance.md). The handler forgets the handshake's headers
on its side too (schema/transport/websocket.py, `forget_handshake_headers`).
"""

from __future__ import annotations

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import WSConnection


class LeanWSProtocol(WSProtocol):
    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            forget_handshake(self.conn)


# wsproto's own attributes (1.3). Were a later wsproto to read them after the upgrade, the
# WebSocket tests would fail; were it to rename them, tests/integration/
# test_websocket_handshake_state.py would (it looks for the objects, not the names).
_HANDSHAKE_ONLY = ("_h11_connection", "_initiating_request")


def forget_handshake(connection: WSConnection) -> None:
    """Drops what only the handshake reads, once the connection is established."""
    if connection.connection is None:
        return
    handshake = connection.handshake
    for name in _HANDSHAKE_ONLY:
        if hasattr(handshake, name):
            setattr(handshake, name, None)
