"""End-to-end latency of a design, and the three-step paper's deployment lookup table.

latency = device FLOPs / device FLOP/s + payload bits / link rate + server FLOPs / server FLOP/s.
Rates are in bytes per second, with 1 KB = 1,000 bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

# FLOP/s. rpi3 (Raspberry Pi 3, 24 GFLOP/s) and edge-gpu (RTX 2080 Ti, 13.45 TFLOP/s): the three-step paper's
# figures. The AutoML paper's server is a GTX 1080 Ti and it gives no FLOP/s, so its latencies are not reproduced.
# phone: our assumption for a mid-range phone CPU (~100 GFLOP/s); pass your own with --device-flops.
DEVICE_PROFILES = {"rpi3": 24e9, "phone": 100e9, "edge-gpu": 13.45e12}
SERVER_FLOPS = DEVICE_PROFILES["edge-gpu"]
_UNITS = {"b/s": 1, "kb/s": 1e3, "mb/s": 1e6, "gb/s": 1e9, "kbps": 1e3 / 8, "mbps": 1e6 / 8}


def parse_rate(text: str) -> float:
    """'40KB/s' -> 40000.0 bytes per second; also B/s, MB/s, GB/s, kbps, Mbps."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z/]+)\s*", text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS or float(m.group(1)) <= 0:
        raise ValueError(f"rate {text!r} is not understood: write a number above 0 and a unit such as 40KB/s, 2MB/s or 10Mbps")
    return float(m.group(1)) * _UNITS[unit]


def device_speed(name_or_flops: str | float) -> float:
    """A profile's FLOP/s, or a number of FLOP/s: finite and above 0."""
    if isinstance(name_or_flops, str) and name_or_flops in DEVICE_PROFILES:
        return DEVICE_PROFILES[name_or_flops]
    try:
        speed = float(name_or_flops)
    except ValueError:
        speed = math.nan
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"device {name_or_flops!r} is invalid: choose {', '.join(DEVICE_PROFILES)} or give FLOP/s above 0, e.g. 5e10")
    return speed


def latency(device_flops: float, bits: float, server_flops: float, device_flops_per_s: float,
            rate_bytes_per_s: float, server_flops_per_s: float = SERVER_FLOPS) -> float:
    """Seconds for one image: compute on the device, send, compute on the server."""
    return device_flops / device_flops_per_s + bits / (8 * rate_bytes_per_s) + server_flops / server_flops_per_s


@dataclass
class Choice:
    row: dict
    seconds: float


def select(rows: Iterable[dict], device_flops_per_s: float, rate: float, min_accuracy: float,
           server_flops_per_s: float = SERVER_FLOPS) -> list[Choice]:
    """Designs meeting ``min_accuracy``, fastest first."""
    ok = [r for r in rows if float(r["test_accuracy"]) >= min_accuracy]
    ranked = [Choice(r, latency(float(r["device_flops"]), float(r["payload_bits"]), float(r["server_flops"]),
                                device_flops_per_s, rate, server_flops_per_s)) for r in ok]
    return sorted(ranked, key=lambda c: c.seconds)
