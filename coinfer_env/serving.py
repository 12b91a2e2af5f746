"""Real co-inference: the exported server part behind a TCP port, and a device-side client.

Standard-library asyncio streams, not gRPC: the protocol is one small binary frame
each way (:mod:`coinfer_env.wire`), so that every byte on the socket is the payload
the paper counts plus a fixed 8-to-19-byte header, with no extra dependency, code
generation or HTTP/2 framing in the measured latency.

The server answers each request with the predicted classes. A frame that breaks
the protocol gets an error frame naming the problem and its connection is closed
(the byte stream cannot be trusted after it); other clients are served throughout.
Model calls run one at a time on a worker thread, so the event loop keeps reading
and torch's thread count stays what the process set.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import wire

READ_TIMEOUT = 30.0
"""Seconds a server waits for the rest of a frame before it drops the connection."""


@dataclass
class Export:
    """What ``coinfer export`` wrote: the two TorchScript parts and the payload format."""

    device: torch.jit.ScriptModule
    server: torch.jit.ScriptModule
    symbols: int
    bits_per_symbol: int
    dataset: str = "cifar10-subset"

    @classmethod
    def load(cls, directory: str | Path) -> "Export":
        directory = Path(directory)
        for name in ("device.pt", "server.pt", "export.json"):
            if not (directory / name).exists():
                raise FileNotFoundError(f"{directory / name} is missing: give a directory written by `coinfer export`")
        report = json.loads((directory / "export.json").read_text())
        bits = int(report["bits_per_symbol"])
        return cls(torch.jit.load(str(directory / "device.pt"), map_location="cpu").eval(),
                   torch.jit.load(str(directory / "server.pt"), map_location="cpu").eval(),
                   int(report["bits"]) // bits, bits, report.get("dataset", "cifar10-subset"))

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> np.ndarray:
        """Normalised images -> the device part's symbols, as numpy."""
        return self.device(images).numpy()

    @torch.no_grad()
    def classify(self, received: np.ndarray) -> np.ndarray:
        """Received (quantised) symbols -> predicted classes."""
        return self.server(torch.from_numpy(received)).argmax(1).numpy().astype(np.uint8)

    def offline(self, images: torch.Tensor) -> np.ndarray:
        """Classes with the same quantisation as over the wire, without a socket (the reference)."""
        z = self.encode(images)
        return self.classify(wire.unpack_symbols(wire.pack_symbols(z, self.bits_per_symbol), len(z), self.symbols, self.bits_per_symbol))


@dataclass
class ServerStats:
    requests: int = 0
    images: int = 0
    payload_bytes: int = 0
    rejected: list[str] = field(default_factory=list)


class InferenceServer:
    """Serves ``export.server`` on a TCP port; see the module docstring for the behaviour."""

    def __init__(self, export: Export) -> None:
        self.export = export
        self.stats = ServerStats()
        self._pool = ThreadPoolExecutor(1)
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve_connection, host, port)
        return self._server.sockets[0].getsockname()[:2]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let in-flight requests finish for ``grace`` seconds, then drop the rest."""
        if self._server is not None:
            self._server.close()
        if self._connections:
            _, pending = await asyncio.wait(self._connections, timeout=grace)
            for task in pending:
                task.cancel()
        self._pool.shutdown(wait=True)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(asyncio.current_task())
        try:
            while await self._serve_frame(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass  # the client left mid-frame, or stalled: drop only this connection
        finally:
            self._connections.discard(asyncio.current_task())
            writer.close()

    async def _serve_frame(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection should close."""
        try:
            raw = await reader.readexactly(wire.HEADER.size)
        except asyncio.IncompleteReadError as err:
            if err.partial:
                raise
            return False  # a clean close between frames
        request_id = 0
        try:
            kind, request_id = wire.parse_header(raw)
            if kind != wire.REQUEST:
                raise wire.WireError(f"frame kind {kind} is not a request")
            body = await asyncio.wait_for(reader.readexactly(wire.REQUEST_BODY.size), READ_TIMEOUT)
            images, symbols, bits, length = wire.REQUEST_BODY.unpack(body)
            wire.check_request(images, symbols, bits, length, self.export.symbols, self.export.bits_per_symbol)
        except wire.WireError as err:
            self.stats.rejected.append(str(err))
            writer.write(wire.error(request_id, str(err)))
            await writer.drain()
            return False
        payload = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT)
        received = wire.unpack_symbols(payload, images, symbols, bits)
        classes = await asyncio.get_running_loop().run_in_executor(self._pool, self.export.classify, received)
        self.stats.requests, self.stats.images = self.stats.requests + 1, self.stats.images + images
        self.stats.payload_bytes += length
        writer.write(wire.response(request_id, classes))
        await writer.drain()
        return True


class TokenBucket:
    """Paces sending to ``rate`` bytes per second, in chunks of at most ``burst`` bytes (an emulated link).

    The bucket starts empty and holds at most ``burst`` tokens, so after an idle
    spell at most ``burst`` bytes leave early: the emulated link is at most
    ``burst / rate`` seconds faster than a real one of that rate, per request.
    """

    def __init__(self, rate: float, burst: int = 64) -> None:
        self.rate, self.burst = float(rate), int(burst)
        self.tokens, self.stamp = 0.0, time.perf_counter()

    async def take(self, n: int) -> None:
        while True:
            now = time.perf_counter()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return
            await asyncio.sleep((n - self.tokens) / self.rate)


class InferenceClient:
    """One connection to an :class:`InferenceServer`; requests go one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, bits: int, rate: float | None = None) -> None:
        self.reader, self.writer, self.bits = reader, writer, bits
        self.bucket = TokenBucket(rate) if rate else None
        self._next_id = 1

    @classmethod
    async def connect(cls, host: str, port: int, bits: int, rate: float | None = None) -> "InferenceClient":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, bits, rate)

    async def infer(self, symbols: np.ndarray) -> np.ndarray:
        """Send one batch of symbols; the predicted classes (ValueError with the server's message on an error frame)."""
        request_id, self._next_id = self._next_id, self._next_id + 1
        frame = wire.request(request_id, symbols, self.bits)
        await self._send(frame)
        kind, rid = wire.parse_header(await self.reader.readexactly(wire.HEADER.size))
        if kind == wire.ERROR:
            (n,) = wire.ERROR_BODY.unpack(await self.reader.readexactly(wire.ERROR_BODY.size))
            raise ValueError(f"server refused request {rid}: {(await self.reader.readexactly(n)).decode()}")
        (n,) = wire.RESPONSE_BODY.unpack(await self.reader.readexactly(wire.RESPONSE_BODY.size))
        classes = np.frombuffer(await self.reader.readexactly(n), dtype=np.uint8)
        if rid != request_id or n != len(symbols):
            raise ValueError(f"response {rid} with {n} classes does not answer request {request_id} of {len(symbols)} images")
        return classes

    async def _send(self, frame: bytes) -> None:
        if self.bucket is None:
            self.writer.write(frame)
        else:
            for start in range(0, len(frame), self.bucket.burst):
                chunk = frame[start : start + self.bucket.burst]
                await self.bucket.take(len(chunk))
                self.writer.write(chunk)
                await self.writer.drain()
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def serve_forever(export: Export, host: str, port: int, on_ready=None) -> ServerStats:
    """Serve until SIGINT or SIGTERM, then stop cleanly (in-flight requests get 5 s to finish)."""
    server = InferenceServer(export)
    address = await server.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(address)
    await stop.wait()
    await server.stop()
    return server.stats
