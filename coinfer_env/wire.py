"""The bytes that cross the link between the device and the edge server (docs/deployment.md).

A request carries the encoder's symbols of one batch of images; a response carries
the predicted classes. Every frame starts with the same 8-byte header:

| offset | size | field |
|---:|---:|---|
| 0 | 2 | magic ``b"CI"`` |
| 2 | 1 | protocol version (1) |
| 3 | 1 | kind: 1 request, 2 response, 3 error |
| 4 | 4 | request id, unsigned, big-endian |

then, for a **request**: images (u16), symbols per image (u32), bits per symbol
(u8), payload length (u32), and the payload: each image's symbols packed on their
own, ``ceil(symbols * bits / 8)`` bytes per image; **response**: images (u16), then
one byte per image, its class; **error**: message length (u16), then the UTF-8
message. All integers are big-endian.

Symbols are quantised as the channel does (``round(z (2^n - 1))``, ``n`` bits, most
significant bit first, ``numpy.packbits``); at 32 bits per symbol (the ideal
channel) the float32 symbols are sent as they are.
"""

from __future__ import annotations

import math
import struct

import numpy as np

MAGIC = b"CI"
VERSION = 1
REQUEST, RESPONSE, ERROR = 1, 2, 3
HEADER = struct.Struct(">2sBBI")
REQUEST_BODY = struct.Struct(">HIBI")
RESPONSE_BODY = struct.Struct(">H")
ERROR_BODY = struct.Struct(">H")
MAX_PAYLOAD = 64 * 2**20
"""Largest payload a server reads (64 MiB); a larger announced length is refused before reading it."""


class WireError(ValueError):
    """A frame that breaks the protocol; its message is sent back to the client."""


def bytes_per_image(symbols: int, bits: int) -> int:
    return math.ceil(symbols * bits / 8)


def pack_symbols(z: np.ndarray, bits: int) -> bytes:
    """(images, symbols) floats in [0, 1] -> each image's codes packed, images concatenated."""
    z = np.asarray(z, dtype=np.float32)
    if bits == 32:
        return z.astype(">f4").tobytes()
    codes = np.round(np.clip(z, 0, 1) * (2**bits - 1)).astype(np.uint32)
    planes = (codes[..., None] >> np.arange(bits - 1, -1, -1, dtype=np.uint32)) & 1  # MSB first
    return b"".join(np.packbits(row.astype(np.uint8).reshape(-1)).tobytes() for row in planes)


def unpack_symbols(payload: bytes, images: int, symbols: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_symbols`: (images, symbols) float32, as the quantising channel outputs."""
    if bits == 32:
        return np.frombuffer(payload, dtype=">f4").astype(np.float32).reshape(images, symbols)
    per = bytes_per_image(symbols, bits)
    rows = np.frombuffer(payload, dtype=np.uint8).reshape(images, per)
    planes = np.unpackbits(rows, axis=1)[:, : symbols * bits].reshape(images, symbols, bits)
    codes = (planes.astype(np.uint32) << np.arange(bits - 1, -1, -1, dtype=np.uint32)).sum(-1)
    return (codes / (2**bits - 1)).astype(np.float32)


def request(request_id: int, z: np.ndarray, bits: int) -> bytes:
    images, symbols = z.shape
    payload = pack_symbols(z, bits)
    return HEADER.pack(MAGIC, VERSION, REQUEST, request_id) + REQUEST_BODY.pack(images, symbols, bits, len(payload)) + payload


def response(request_id: int, classes: np.ndarray) -> bytes:
    classes = np.asarray(classes, dtype=np.uint8)
    return HEADER.pack(MAGIC, VERSION, RESPONSE, request_id) + RESPONSE_BODY.pack(len(classes)) + classes.tobytes()


def error(request_id: int, message: str) -> bytes:
    text = message.encode()[:2000]
    return HEADER.pack(MAGIC, VERSION, ERROR, request_id) + ERROR_BODY.pack(len(text)) + text


def parse_header(raw: bytes) -> tuple[int, int]:
    """(kind, request id) of a frame header; WireError for another protocol or version."""
    magic, version, kind, request_id = HEADER.unpack(raw)
    if magic != MAGIC:
        raise WireError(f"bad magic {magic!r}: this is not a coinfer frame")
    if version != VERSION:
        raise WireError(f"protocol version {version} is not supported: this server speaks version {VERSION}")
    if kind not in (REQUEST, RESPONSE, ERROR):
        raise WireError(f"frame kind {kind} is unknown")
    return kind, request_id


def check_request(images: int, symbols: int, bits: int, length: int, expect_symbols: int, expect_bits: int) -> None:
    """WireError unless a request's announced sizes match the served model; checked before reading the payload."""
    if length > MAX_PAYLOAD:
        raise WireError(f"payload of {length} bytes is over the {MAX_PAYLOAD}-byte limit: send smaller batches")
    if symbols != expect_symbols or bits != expect_bits:
        raise WireError(f"request has {symbols} symbols of {bits} bits; the served model takes {expect_symbols} of {expect_bits}")
    if images == 0 or length != images * bytes_per_image(symbols, bits):
        raise WireError(f"payload of {length} bytes does not hold {images} images of {bytes_per_image(symbols, bits)} bytes")
