"""Round trips to PostgreSQL, counted on the wire.

A round trip is a client turn: the client writes, then waits for the server's answer. A TCP
proxy between a service and PostgreSQL counts each run of client writes that follows a server
reply (or starts a connection), whatever the driver batches into one write. That is what the
network and the server pay for, independent of which layer (pool, ORM, driver) sent it.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url


@dataclass
class RoundTripCounter:
    count: int = 0
    # Per connection: did the server speak since the client last wrote?
    _server_spoke: dict[int, bool] = field(default_factory=dict)

    def client_wrote(self, connection: int) -> None:
        if self._server_spoke.get(connection, True):
            self.count += 1
        self._server_spoke[connection] = False

    def server_wrote(self, connection: int) -> None:
        self._server_spoke[connection] = True

    def reset(self) -> None:
        self.count = 0

    async def until_quiet(self, seconds: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no round trip went by for `seconds`: what a background pass sends (the relay,
        woken by a write, lingers a moment before it) is over, and stays out of the next count."""
        async with asyncio.timeout(timeout):
            while True:
                before = self.count
                await asyncio.sleep(seconds)
                if self.count == before:
                    return


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_data: Callable[[], None]) -> None:
    try:
        while data := await reader.read(65536):
            on_data()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def counting_proxy(database_url: str) -> AsyncIterator[tuple[str, RoundTripCounter]]:
    """`database_url` rewritten to pass through a local proxy, and the proxy's counter."""
    url = make_url(database_url)
    target_host, target_port = url.host or "127.0.0.1", url.port or 5432
    counter = RoundTripCounter()
    tasks: set[asyncio.Task[None]] = set()

    async def accept(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        connection = id(client_writer)
        for task in (asyncio.ensure_future(_pipe(client_reader, server_writer, lambda: counter.client_wrote(connection))),
                     asyncio.ensure_future(_pipe(server_reader, client_writer, lambda: counter.server_wrote(connection)))):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False), counter
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
