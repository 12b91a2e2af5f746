"""The hardware a result was computed on, named as its records need it.

Float results depend on the kernels that computed them. On the CPU, torch picks
its vector kernels by the CPU (ATen's capability level, and oneDNN's and MKL's own
dispatch), and a training run amplifies their rounding differences: one design's
4-epoch export fine-tune reads 0.649 with AVX2 kernels and 0.669 with scalar ones,
same code, seed and thread count, and 0.668 with 2 threads instead of 1
(``benchmarks/export_repeat.py``, docs/results/export_repeat.txt). So a cache key,
a run's provenance or a job's settings name the CPU model and kernel level, not
just "cpu". The model name is what the CPU reports: on a VM it may not name the
generation (this project's reads "AMD EPYC"), which is not measured to matter.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch


def cpu_name() -> str:
    """The CPU's model name where Linux says it, else what Python's ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """The GPU's name on CUDA; on the CPU its model and torch's kernel level, e.g. ``cpu: AMD EPYC (AVX2)``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu: {cpu_name()} ({torch.backends.cpu.get_cpu_capability()})"


def where_computed(device: torch.device) -> dict[str, str | int]:
    """What a result computed in this process on ``device`` records beside itself: the hardware and torch's
    thread count, the two things besides code and seed that move a fine-tune's result."""
    return {"hardware": device_name(device), "threads": torch.get_num_threads()}
