"""``coinfer infer``: run the exported device part on images and classify them through a server."""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from pathlib import Path


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--server {text!r} is invalid: write HOST:PORT, e.g. 127.0.0.1:8470")
    return host, int(port)


def load_images(directory: Path):
    """32x32 RGB image files of ``directory``, sorted by name, as a uint8 (N, 3, 32, 32) tensor."""
    import numpy as np
    import torch
    from PIL import Image

    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
    if not files:
        raise ValueError(f"--images {directory} holds no .png/.jpg/.bmp files")
    arrays = []
    for f in files:
        img = np.asarray(Image.open(f).convert("RGB"))
        if img.shape[:2] != (32, 32):
            raise ValueError(f"{f} is {img.shape[1]}x{img.shape[0]}: the network takes 32x32 images")
        arrays.append(img.transpose(2, 0, 1))
    return files, torch.from_numpy(np.stack(arrays))


async def _infer(export, images, host: str, port: int, batch: int, rate: float | None):
    import numpy as np

    from coinfer_env.data import normalize
    from coinfer_env.serving import InferenceClient

    client = await InferenceClient.connect(host, port, export.bits_per_symbol, rate)
    predictions, latencies = [], []
    start = time.perf_counter()
    try:
        for i in range(0, len(images), batch):
            t = time.perf_counter()
            z = export.encode(normalize(images[i : i + batch]).contiguous())
            predictions.append(await client.infer(z))
            latencies.append(time.perf_counter() - t)
    finally:
        await client.close()
    return np.concatenate(predictions), np.array(latencies), time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from coinfer_env import wire
    from coinfer_env.data import load
    from coinfer_env.serving import Export

    host, port = parse_address(args.server)
    rate = None
    if args.rate:
        from baselines.latency import parse_rate

        rate = parse_rate(args.rate)
    export = Export.load(args.export_dir)
    if args.images:
        files, images, labels = *load_images(Path(args.images)), None
    else:
        test = load(export.dataset).test
        files, images, labels = None, test.images, test.labels.numpy()
    predicted, latencies, seconds = asyncio.run(_infer(export, images, host, port, args.batch, rate))
    per_image = wire.bytes_per_image(export.symbols, export.bits_per_symbol)
    if labels is not None:
        correct = int((predicted == labels).sum())
        print(f"accuracy {correct / len(labels):.4f} ({correct} of {len(labels)} test images of {export.dataset})")
    else:
        for f, c in zip(files, predicted):
            print(f"{f.name} {int(c)}")
    print(f"bytes sent per image {per_image} (payload: {export.symbols} symbols x {export.bits_per_symbol} bits, "
          f"ceil to bytes), plus a {wire.HEADER.size + wire.REQUEST_BODY.size}-byte header per request of up to {args.batch} images")
    print(f"throughput {len(images) / seconds:.1f} images/s over {math.ceil(len(images) / args.batch)} requests"
          + (f", link limited to {args.rate}" if args.rate else ""))
    p50, p99 = np.percentile(latencies * 1e3, [50, 99])
    print(f"latency per request (device part + send + server + reply) p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return 0
