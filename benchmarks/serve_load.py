"""A bounded load test of `coinfer serve` on loopback: N concurrent clients for T seconds.

    .venv/bin/python benchmarks/serve_load.py EXPORT_DIR --clients 8 --seconds 10 --batch 8

Every response is checked against its request id (by the client) and against the
offline prediction with the same quantisation: nothing lost, nothing crossed.
Prints throughput and the p50/p99 latency per request. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time

import numpy as np
import torch

from coinfer_env.data import load, normalize
from coinfer_env.serving import Export, InferenceClient, InferenceServer


async def client_loop(export: Export, host: str, port: int, images, expected, k: int, batch: int, seconds: float) -> list[float]:
    client = await InferenceClient.connect(host, port, export.bits_per_symbol)
    latencies, i, deadline = [], 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = (k * 131 + i * batch) % (len(images) - batch)
        t = time.perf_counter()
        got = await client.infer(export.encode(images[start : start + batch]))
        latencies.append(time.perf_counter() - t)
        if not np.array_equal(got, expected[start : start + batch]):
            raise AssertionError(f"client {k}: a response does not match the offline prediction")
        i += 1
    await client.close()
    return latencies


async def main_async(args) -> None:
    export = Export.load(args.export_dir)
    images = normalize(load(export.dataset).test.images).contiguous()
    expected = np.concatenate([export.offline(images[i : i + args.batch]) for i in range(0, len(images), args.batch)])
    server = InferenceServer(export)
    host, port = await server.start("127.0.0.1", 0)
    start = time.perf_counter()
    try:
        per_client = await asyncio.gather(*(client_loop(export, host, port, images, expected, k, args.batch, args.seconds)
                                            for k in range(args.clients)))
    finally:
        await server.stop()
    wall = time.perf_counter() - start
    lat = np.concatenate(per_client) * 1e3
    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads; {args.clients} clients, batch {args.batch}, {wall:.1f} s")
    print(f"requests {len(lat)} ({server.stats.requests} served, {len(server.stats.rejected)} refused), "
          f"images {server.stats.images}, all answers matched their request and the offline prediction")
    print(f"throughput {server.stats.images / wall:.1f} images/s, {len(lat) / wall:.1f} requests/s")
    print(f"latency per request p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("export_dir", help="a directory written by `coinfer export`")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each client sends")
    parser.add_argument("--batch", type=int, default=8, help="images per request")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
