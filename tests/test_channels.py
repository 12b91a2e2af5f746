"""Channels: quantisation formula, noise statistics, straight-through gradients, seeding."""

import math

import pytest
import torch

from coinfer_env.channels import make_channel


def test_ideal_is_identity_with_32_bits():
    ch = make_channel("ideal")
    x = torch.rand(4, 10)
    assert torch.equal(ch(x), x) and ch.bits_per_symbol == 32


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_quantize_formula_and_straight_through(bits):
    ch = make_channel("quantize", bits=bits)
    x = torch.rand(64, 50, requires_grad=True)
    y = ch(x)
    levels = 2**bits - 1
    assert torch.equal(y.detach(), torch.round(x.detach() * levels) / levels)
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    assert ch.bits_per_symbol == bits


def test_awgn_noise_has_the_requested_snr():
    ch = make_channel("awgn", snr_db=10.0)
    ch.seed(0)
    x = torch.rand(8, 20000)
    noise = ch(x) - x
    signal_power = x.pow(2).mean(1)
    snr = signal_power / noise.pow(2).mean(1)
    assert torch.allclose(10 * torch.log10(snr), torch.full((8,), 10.0), atol=0.1)
    assert ch.bits_per_symbol == 32


def test_psnr_convention_noise_power_is_the_peak_over_the_psnr_whatever_the_signal():
    """BottleNet++'s convention: peak power 1, no normalisation, so noise power = 10^(-PSNR/10)."""
    ch = make_channel("awgn", snr_db=20.0, snr_convention="psnr")
    ch.seed(0)
    for amplitude in (0.1, 1.0):  # the noise does not follow the signal's power
        x = amplitude * torch.rand(4, 250_000)
        noise_power = (ch(x) - x).pow(2).mean().item()
        assert abs(10 * math.log10(1.0 / noise_power) - 20.0) < 0.05
    assert ch.clone().settings == {"snr_db": 20.0, "snr_convention": "psnr"}
    with pytest.raises(ValueError, match="snr_convention='peak'"):
        make_channel("awgn", snr_convention="peak")


def test_bec_erasure_rate_and_mean_value():
    ch = make_channel("bec", erasure_prob=0.25, bits=1)
    ch.seed(1)
    x = torch.ones(100_000)  # code 1 = a single bit of value 1
    y = ch(x)
    erased = (y == 0.5).float().mean().item()
    assert abs(erased - 0.25) < 0.01
    assert set(torch.unique(y).tolist()) <= {0.5, 1.0}


def test_bsc_flip_rate_and_seeding():
    ch = make_channel("bsc", flip_prob=0.1, bits=8)
    x = torch.rand(5000)
    ch.seed(3)
    y1 = ch(x)
    ch.seed(3)
    y2 = ch(x)
    assert torch.equal(y1, y2)
    q = make_channel("quantize", bits=8)
    codes_in, codes_out = q.codes(x).long(), torch.round(y1 * 255).long()
    flips = (q.bit_planes(codes_in) != q.bit_planes(codes_out)).float().mean().item()
    assert abs(flips - 0.1) < 0.01


def test_clone_shares_settings_not_state():
    ch = make_channel("bsc", flip_prob=0.2, bits=4)
    twin = ch.clone()
    assert twin is not ch and twin.settings == ch.settings == {"flip_prob": 0.2, "bits": 4}


@pytest.mark.parametrize("name, kwargs", [("quantize", {"bits": 0}), ("awgn", {"snr_db": math.inf}), ("bsc", {"flip_prob": -0.1})])
def test_bad_settings_are_rejected(name, kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        make_channel(name, **kwargs)
