"""Channel models between the device's encoder and the server's decoder.

Each channel is an ``nn.Module`` with no trainable weights. Digital channels
quantise with a straight-through gradient (the forward pass sees the quantised,
possibly corrupted value; the backward pass treats the channel as identity), so the
codec can be trained through them. Noise comes from the channel's own
``torch.Generator``: call :meth:`Channel.seed` to make it repeatable.
"""

from __future__ import annotations

import math

import torch
from torch import nn

CHANNELS = ("ideal", "quantize", "awgn", "bec", "bsc")


class Channel(nn.Module):
    """Base class. ``bits_per_symbol`` is what one transmitted symbol costs."""

    bits_per_symbol: int = 32

    def __init__(self) -> None:
        super().__init__()
        self._generator: torch.Generator | None = None
        self._seed = 0

    def seed(self, seed: int) -> None:
        """Restart the noise stream from ``seed``."""
        self._seed = int(seed)
        self._generator = None

    def clone(self) -> "Channel":
        """A fresh channel with the same settings and seed, sharing no state."""
        twin = type(self)(**self.settings)
        twin.seed(self._seed)
        return twin

    @property
    def settings(self) -> dict:
        return {}

    def _rng(self, like: torch.Tensor) -> torch.Generator:
        if self._generator is None or self._generator.device != like.device:
            self._generator = torch.Generator(device=like.device)
            self._generator.manual_seed(self._seed)
        return self._generator

    def _uniform(self, like: torch.Tensor) -> torch.Tensor:
        return torch.rand(like.shape, generator=self._rng(like), device=like.device, dtype=like.dtype)


def _straight_through(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x + (y - x).detach()


class Ideal(Channel):
    """Error-free float32 link."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Quantize(Channel):
    """Uniform n-bit quantisation of [0, 1]: round(x (2^n - 1)) / (2^n - 1)."""

    def __init__(self, bits: int = 8) -> None:
        super().__init__()
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
            raise ValueError(f"bits={bits!r} is invalid: use an integer in 1..16")
        self.bits_per_symbol = bits
        self.levels = 2**bits - 1

    @property
    def settings(self) -> dict:
        return {"bits": self.bits_per_symbol}

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x.clamp(0, 1) * self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _straight_through(x, self.codes(x) / self.levels)

    def bit_planes(self, codes: torch.Tensor) -> torch.Tensor:
        """(..., n) tensor of the codes' bits, least significant first."""
        weights = 2 ** torch.arange(self.bits_per_symbol, device=codes.device)
        return (codes.long().unsqueeze(-1) // weights) % 2

    def from_bits(self, bits: torch.Tensor) -> torch.Tensor:
        weights = 2.0 ** torch.arange(self.bits_per_symbol, device=bits.device, dtype=bits.dtype)
        return (bits * weights).sum(-1) / self.levels


SNR_CONVENTIONS = ("average", "psnr")


class AWGN(Channel):
    """Additive white Gaussian noise; ``snr_db`` means what ``snr_convention`` says.

    ``average`` (the default; the AutoML paper and PAA): scale each image's symbols to
    unit average power, add N(0, sigma^2) with SNR = 1/sigma^2, scale back. Scaling
    back keeps the decoder's input on the same scale as on the ideal channel, so one
    decoder can serve both; the SNR seen by the signal is exactly ``snr_db``.

    ``psnr`` (BottleNet++, Shao and Zhang 2020): peak signal power 1 and no
    normalisation, so the noise variance is 10^(-snr_db / 10) whatever the signal;
    the encoder is expected to bound its symbols to [0, 1] (BottleNet++ ends in a
    sigmoid).
    """

    def __init__(self, snr_db: float = 20.0, snr_convention: str = "average") -> None:
        super().__init__()
        if not math.isfinite(float(snr_db)):
            raise ValueError(f"snr_db={snr_db!r} is invalid: use a finite number of decibels, e.g. 20")
        if snr_convention not in SNR_CONVENTIONS:
            raise ValueError(f"snr_convention={snr_convention!r} is invalid: choose one of {', '.join(SNR_CONVENTIONS)}")
        self.snr_db, self.convention = float(snr_db), snr_convention
        self.sigma = 10 ** (-self.snr_db / 20)

    @property
    def settings(self) -> dict:
        return {"snr_db": self.snr_db, "snr_convention": self.convention}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.convention == "psnr":
            return x + self.sigma * torch.randn(x.shape, generator=self._rng(x), device=x.device, dtype=x.dtype)
        dims = tuple(range(1, x.dim()))
        scale = x.pow(2).mean(dim=dims, keepdim=True).clamp_min(1e-12).sqrt()
        noise = torch.randn(x.shape, generator=self._rng(x), device=x.device, dtype=x.dtype)
        return x + self.sigma * noise * scale.detach()


class BinaryErasure(Quantize):
    """n-bit quantisation, then each bit erased with probability p.

    An erased bit takes the mean of its two values (0.5), as in BottleNet++.
    """

    def __init__(self, erasure_prob: float = 0.1, bits: int = 8) -> None:
        super().__init__(bits)
        self.erasure_prob = _probability("erasure_prob", erasure_prob)

    @property
    def settings(self) -> dict:
        return {"erasure_prob": self.erasure_prob, "bits": self.bits_per_symbol}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bits = self.bit_planes(self.codes(x)).to(x.dtype)
        erased = self._uniform(bits) < self.erasure_prob
        return _straight_through(x, self.from_bits(torch.where(erased, 0.5, bits)))


class BinarySymmetric(Quantize):
    """n-bit quantisation, then each bit flipped with probability p."""

    def __init__(self, flip_prob: float = 0.01, bits: int = 8) -> None:
        super().__init__(bits)
        self.flip_prob = _probability("flip_prob", flip_prob)

    @property
    def settings(self) -> dict:
        return {"flip_prob": self.flip_prob, "bits": self.bits_per_symbol}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bits = self.bit_planes(self.codes(x)).to(x.dtype)
        flipped = self._uniform(bits) < self.flip_prob
        return _straight_through(x, self.from_bits(torch.where(flipped, 1 - bits, bits)))


def _probability(name: str, p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}={p!r} is invalid: use a probability in [0, 1]")
    return p


CHANNEL_KWARGS = ("bits", "snr_db", "erasure_prob", "flip_prob", "snr_convention")


def make_channel(name: str = "ideal", **kwargs: float) -> Channel:
    """Build a channel by name.

    Keyword arguments: ``bits`` (8), ``snr_db`` (20.0), ``erasure_prob`` (0.1),
    ``flip_prob`` (0.01), ``snr_convention`` (``average``; ``psnr`` is BottleNet++'s). Those the named channel does not use are ignored, so one
    set of settings can be passed to any channel.
    """
    unknown = sorted(set(kwargs) - set(CHANNEL_KWARGS))
    if unknown:
        raise ValueError(f"unknown channel setting(s) {unknown}: use {', '.join(CHANNEL_KWARGS)}")
    bits = kwargs.get("bits", 8)
    snr_db = kwargs.get("snr_db", 20.0)
    erasure_prob = kwargs.get("erasure_prob", 0.1)
    flip_prob = kwargs.get("flip_prob", 0.01)
    if name == "ideal":
        return Ideal()
    if name == "quantize":
        return Quantize(bits)
    if name == "awgn":
        return AWGN(snr_db, kwargs.get("snr_convention", "average"))
    if name == "bec":
        return BinaryErasure(erasure_prob, bits)
    if name == "bsc":
        return BinarySymmetric(flip_prob, bits)
    raise ValueError(f"channel={name!r} is unknown: choose one of {', '.join(CHANNELS)}")
