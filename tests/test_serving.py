"""Real co-inference over loopback: the wire format, exact accuracy over the socket, bad frames, load, the commands."""

import asyncio
import math
import signal
import socket
import subprocess
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

import coinfer_env  # noqa: F401
from coinfer_env import wire
from coinfer_env.channels import Quantize
from coinfer_env.data import load, normalize
from coinfer_env.export import export
from coinfer_env.serving import Export, InferenceClient, InferenceServer, TokenBucket
from test_cli import COINFER

TINY = "CoInfer-ResNet50-Tiny-v0"


def make_export(directory, channel="quantize", bits=6):
    env = gym.make(TINY, split_point=2, dataset="synthetic", pretrained=False, channel=channel, bits=bits,
                   eval_images=32, cache=False).unwrapped
    kept = [max(1, c // 2) for c in env.full_kept]
    data = load("synthetic")
    report = export(env.trained, kept, data, directory, epochs=0, dataset="synthetic")
    return report, data


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    report, data = make_export(directory)
    return directory, report, data


@pytest.mark.parametrize("bits", [1, 3, 6, 8, 12, 16, 32])
def test_packed_symbols_are_the_channels_quantisation_in_ceil_bits_over_8_bytes(bits):
    z = torch.rand(5, 37)
    payload = wire.pack_symbols(z.numpy(), bits)
    assert len(payload) == 5 * math.ceil(37 * bits / 8)
    back = wire.unpack_symbols(payload, 5, 37, bits)
    expected = z.numpy() if bits == 32 else Quantize(bits)(z).numpy()  # the channel the env scores with
    np.testing.assert_array_equal(back, expected)


def run(coro):
    return asyncio.run(coro)


async def served(export_obj, work):
    server = InferenceServer(export_obj)
    host, port = await server.start("127.0.0.1", 0)
    try:
        return await work(host, port), server.stats
    finally:
        await server.stop()


def test_accuracy_over_the_socket_equals_offline_exactly_and_bytes_match_the_envs_bits(exported):
    directory, report, data = exported
    ex = Export.load(directory)
    images = normalize(data.test.images).contiguous()

    async def work(host, port):
        client = await InferenceClient.connect(host, port, ex.bits_per_symbol)
        out = [await client.infer(ex.encode(images[i : i + 16])) for i in range(0, len(images), 16)]
        await client.close()
        return np.concatenate(out)

    over_wire, stats = run(served(ex, work))
    offline = np.concatenate([ex.offline(images[i : i + 16]) for i in range(0, len(images), 16)])
    np.testing.assert_array_equal(over_wire, offline)
    assert stats.images == len(images)
    assert stats.payload_bytes == len(images) * math.ceil(report["bits"] / 8)  # the bytes that crossed the socket


def _raw_exchange(host, port, data: bytes, close_early=False) -> bytes:
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(data)
        if close_early:
            return b""
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _error_text(reply: bytes) -> str:
    kind, _ = wire.parse_header(reply[: wire.HEADER.size])
    assert kind == wire.ERROR
    (n,) = wire.ERROR_BODY.unpack(reply[wire.HEADER.size : wire.HEADER.size + 2])
    return reply[wire.HEADER.size + 2 : wire.HEADER.size + 2 + n].decode()


def test_bad_frames_are_refused_and_other_clients_are_still_served(exported):
    directory, _, data = exported
    ex = Export.load(directory)
    z = ex.encode(normalize(data.test.images[:4]).contiguous())
    good = wire.request(7, z, ex.bits_per_symbol)
    head = wire.HEADER.size

    async def work(host, port):
        def raw(data, **kw):
            return asyncio.to_thread(_raw_exchange, host, port, data, **kw)

        replies = {
            "version": _error_text(await raw(good[:2] + bytes([9]) + good[3:])),
            "garbage": _error_text(await raw(b"GET / HTTP/1.1\r\n\r\n")),
            "size": _error_text(await raw(good[:head] + wire.REQUEST_BODY.pack(4, ex.symbols, ex.bits_per_symbol, 5) + b"x" * 5)),
            "oversized": _error_text(await raw(good[:head] + wire.REQUEST_BODY.pack(4, ex.symbols, ex.bits_per_symbol, 2**31) + b"x")),
            "symbols": _error_text(await raw(good[:head] + wire.REQUEST_BODY.pack(4, ex.symbols + 1, ex.bits_per_symbol, 10) + b"x" * 10)),
        }
        assert await raw(good[: len(good) // 2], close_early=True) == b""  # gone mid-frame
        assert await raw(good[: len(good) - 3]) == b""  # truncated, then closed: dropped, no reply
        client = await InferenceClient.connect(host, port, ex.bits_per_symbol)
        classes = await client.infer(z)  # a good client, after all of that
        await client.close()
        return replies, classes

    (replies, classes), stats = run(served(ex, work))
    assert "version 9" in replies["version"]
    assert "bad magic" in replies["garbage"]
    assert "does not hold 4 images" in replies["size"]
    assert "over the" in replies["oversized"]
    assert f"{ex.symbols + 1} symbols" in replies["symbols"]
    np.testing.assert_array_equal(classes, ex.offline(normalize(data.test.images[:4]).contiguous()))
    assert stats.requests == 1 and len(stats.rejected) == 5


def test_eight_concurrent_clients_get_their_own_answers(exported):
    """A bounded load test on loopback (the benchmark runs longer): nothing lost, nothing crossed."""
    directory, _, data = exported
    ex = Export.load(directory)
    images = normalize(data.test.images).contiguous()
    expected = ex.offline(images)

    async def one_client(host, port, k):
        client = await InferenceClient.connect(host, port, ex.bits_per_symbol)
        done, deadline = 0, time.perf_counter() + 1.5
        while time.perf_counter() < deadline:
            start = (k * 37 + done * 8) % (len(images) - 8)
            got = await client.infer(ex.encode(images[start : start + 8]))  # checks the request id itself
            np.testing.assert_array_equal(got, expected[start : start + 8])
            done += 1
        await client.close()
        return done

    async def work(host, port):
        return await asyncio.gather(*(one_client(host, port, k) for k in range(8)))

    counts, stats = run(served(ex, work))
    assert all(c > 0 for c in counts) and stats.requests == sum(counts)


def test_the_token_bucket_paces_sending_to_the_rate():
    async def send(n, rate):
        bucket, start = TokenBucket(rate, burst=1000), time.perf_counter()
        for _ in range(n // 1000):
            await bucket.take(1000)
        return time.perf_counter() - start

    assert run(send(20_000, 100_000)) >= 0.19  # 20 kB at 100 kB/s (at most one burst early)


def test_serve_and_infer_commands_end_to_end(exported, tmp_path):
    directory, _, data = exported
    ex = Export.load(directory)
    images = normalize(data.test.images).contiguous()
    offline = np.concatenate([ex.offline(images[i : i + 1]) for i in range(len(images))])  # the client's batches
    expected = (offline == data.test.labels.numpy()).mean()
    server = subprocess.Popen([COINFER, "serve", str(directory), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving "), server.stderr.read()
        address = line.split(" on ")[1].split(" ")[0]
        assert address.startswith("127.0.0.1:")
        out = subprocess.run([COINFER, "infer", str(directory), "--server", address, "--batch", "1"],
                             capture_output=True, text=True, check=True).stdout
        assert f"accuracy {expected:.4f}" in out  # batch 1: the same batches as offline per image
        assert f"bytes sent per image {wire.bytes_per_image(ex.symbols, ex.bits_per_symbol)}" in out
        assert "p50" in out and "p99" in out and "images/s" in out
        from PIL import Image

        pictures = tmp_path / "pictures"
        pictures.mkdir()
        for i in range(3):
            Image.fromarray(data.test.images[i].numpy().transpose(1, 2, 0)).save(pictures / f"img{i}.png")
        out = subprocess.run([COINFER, "infer", str(directory), "--server", address, "--images", str(pictures)],
                             capture_output=True, text=True, check=True).stdout
        lines = [line.split() for line in out.splitlines() if line.startswith("img")]
        assert [(name, int(c)) for name, c in lines] == [(f"img{i}.png", int(offline[i])) for i in range(3)]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    assert "stopped after" in server.stdout.read()


def test_infer_refuses_a_bad_server_address_in_one_line(exported):
    out = subprocess.run([COINFER, "infer", str(exported[0]), "--server", "nowhere"], capture_output=True, text=True)
    assert out.returncode == 2 and "HOST:PORT" in out.stderr and "Traceback" not in out.stderr
