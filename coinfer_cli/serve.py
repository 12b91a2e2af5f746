"""``coinfer serve``: the exported server part behind a TCP port, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio


def run(args: argparse.Namespace) -> int:
    from coinfer_env.serving import Export, serve_forever

    export = Export.load(args.export_dir)

    def ready(address) -> None:
        print(f"serving {args.export_dir} on {address[0]}:{address[1]} "
              f"({export.symbols} symbols of {export.bits_per_symbol} bits per image); Ctrl-C stops", flush=True)

    stats = asyncio.run(serve_forever(export, args.host, args.port, on_ready=ready))
    print(f"stopped after {stats.requests} requests, {stats.images} images, {stats.payload_bytes:,} payload bytes, "
          f"{len(stats.rejected)} frames refused", flush=True)
    return 0
