"""A loopback TCP proxy that can stall a dependency: while paused it still accepts connections
and reads what clients send, but forwards nothing either way, as a hung server or a black-holed
network would. Resuming forwards what was held and carries on. Cutting it instead drops every
connection and every new one at once (a dependency gone, fast), until it is mended.

    async with StallingProxy("127.0.0.1", 8000) as proxy:
        url = proxy.url            # point the client here
        proxy.pause(); ...; proxy.resume()
        proxy.cut(); ...; proxy.mend()
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

CHUNK = 65_536
CLOSE_TIMEOUT_SECONDS = 5.0


class StallingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self._cut = False

    @property
    def port(self) -> int:
        assert self._server is not None, "the proxy is not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._writers):
            writer.close()

    def mend(self) -> None:
        self._cut = False

    async def __aenter__(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.resume()
        assert self._server is not None
        self._server.close()
        # Closing every socket ends every pump (cancelling them instead makes asyncio's stream
        # callback log each cancelled handler); bounded, so a stuck pipe cannot hang a test.
        for writer in list(self._writers):
            writer.close()
        if self._pipes:
            await asyncio.wait(list(self._pipes), timeout=CLOSE_TIMEOUT_SECONDS)
        await self._server.wait_closed()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self._cut:
            client_out.close()
            return
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        upstream_out: asyncio.StreamWriter | None = None
        self._writers.add(client_out)
        try:
            await self._flowing.wait()
            upstream_in, upstream_out = await asyncio.open_connection(*self.upstream)
            self._writers.add(upstream_out)
            await asyncio.gather(
                self._pump(client_in, upstream_out), self._pump(upstream_in, client_out)
            )
        except (ConnectionError, OSError):
            pass
        finally:
            self._pipes.discard(task)
            for writer in (client_out, upstream_out):
                if writer is not None:
                    self._writers.discard(writer)
                    writer.close()
                    with contextlib.suppress(ConnectionError, OSError):
                        await writer.wait_closed()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(CHUNK):
            await self._flowing.wait()
            sink.write(data)
            await sink.drain()
        await self._flowing.wait()
        if sink.can_write_eof():
            with contextlib.suppress(ConnectionError, OSError):
                sink.write_eof()
