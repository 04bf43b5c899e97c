"""A local WebSocket server of the Finnhub protocol: the feed when there is no internet.

It runs the market whether or not anyone listens (as a real exchange does; a recording
instead waits for its first subscriber) and sends every message to each connected client that
has subscribed to something. A subscription to a symbol
the market does not trade is answered with an ``error`` message, as Finnhub answers mistakes.
When a finite source ends, clients are closed with code 1000 and reason ``END_OF_FEED``; any
other close (``drop_every`` simulates a server restart with 1012) means "reconnect".
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from caudal.broker.process import free_port
from caudal.pipelines.trades.market import Outgoing
from caudal.pipelines.trades.protocol import PING, error_message, parse_message
from caudal.pipelines.trades.sources import Source

END_OF_FEED = "end of feed"
RESTART_CODE = 1012


@dataclass
class ServerStats:
    """What reached clients: a message counts once its send returned on an open connection."""

    connections: int = 0
    messages_sent: int = 0
    good_trades_sent: int = 0
    faults_sent: dict[str, int] = field(default_factory=dict)
    messages_missed: int = 0
    """Messages the market produced while no client was subscribed (lost, as on a real feed)."""
    drops: int = 0


@dataclass
class _Client:
    ws: ServerConnection
    symbols: set[str] = field(default_factory=set)
    sent: int = 0


class FinnhubServer:
    """``with FinnhubServer(source) as url:`` serves ws://127.0.0.1:PORT until the block ends."""

    def __init__(
        self,
        source: Source,
        tick_s: float = 0.05,
        ping_s: float = 10.0,
        drop_every: int | None = None,
    ) -> None:
        self.source, self.tick_s, self.ping_s, self.drop_every = source, tick_s, ping_s, drop_every
        self.stats = ServerStats()
        self._clients: list[_Client] = []
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextmanager
    def running(self, port: int | None = None) -> Iterator[str]:
        port = port or free_port()
        thread = threading.Thread(target=self._serve, args=(port,), name="finnhub-sim", daemon=True)
        thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local Finnhub server did not start")
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            if self._loop is not None and self._stopping is not None:
                self._loop.call_soon_threadsafe(self._stopping.set)
            thread.join(10)

    def _serve(self, port: int) -> None:
        asyncio.run(self._main(port))

    async def _main(self, port: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with serve(self._session, "127.0.0.1", port, max_size=2**24):
            self._ready.set()
            pump = asyncio.create_task(self._pump())
            await self._stopping.wait()
            pump.cancel()
            with suppress(asyncio.CancelledError):
                await pump

    async def _session(self, ws: ServerConnection) -> None:
        client = _Client(ws)
        self.stats.connections += 1
        self._clients.append(client)
        try:
            if self.source.finished:
                await ws.close(1000, END_OF_FEED)
                return
            async for text in ws:
                message = parse_message(text)
                if isinstance(message, dict) and message["type"] == "subscribe":
                    symbol = str(message.get("symbol", ""))
                    if symbol in self.source.symbols:
                        client.symbols.add(symbol)
                    else:
                        await ws.send(error_message(f"unknown symbol: {symbol}"))
                elif isinstance(message, dict) and message["type"] == "unsubscribe":
                    client.symbols.discard(str(message.get("symbol", "")))
        except ConnectionClosed:
            pass
        finally:
            self._clients.remove(client)

    async def _pump(self) -> None:
        """Moves the market every tick, sends what it made, pings, ends a finite feed."""
        last_ping = time.monotonic()
        while not self.source.finished:
            await asyncio.sleep(self.tick_s)
            listeners = [c for c in self._clients if c.symbols]
            if not listeners and not self.source.live:
                continue
            batch = self.source.poll(int(time.time() * 1000))
            if not listeners:
                self.stats.messages_missed += len(batch)
            for client in listeners:
                await self._send_all(client, batch)
            if time.monotonic() - last_ping > self.ping_s:
                last_ping = time.monotonic()
                for client in listeners:
                    with suppress(ConnectionClosed):
                        await client.ws.send(PING)
        await asyncio.sleep(self.tick_s)
        for client in list(self._clients):
            await client.ws.close(1000, END_OF_FEED)

    async def _send_all(self, client: _Client, batch: list[Outgoing]) -> None:
        for text, good, fault in batch:
            try:
                await client.ws.send(text)
            except ConnectionClosed:
                self.stats.messages_missed += 1
                continue
            self.stats.messages_sent += 1
            self.stats.good_trades_sent += good
            if fault is not None:
                self.stats.faults_sent[fault] = self.stats.faults_sent.get(fault, 0) + 1
            client.sent += 1
            if self.drop_every and client.sent % self.drop_every == 0:
                self.stats.drops += 1
                await client.ws.close(RESTART_CODE, "simulated server restart")
