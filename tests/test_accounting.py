"""Analytic FLOPs, bits and parameters against FlopCounterMode and the real modules."""

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from coinfer_env import SplitNetwork, build_split_resnet50, cost, prune
from coinfer_env.accounting import DeviceFlopsModel, device_flops
from coinfer_env.architecture import SplitConfig, full_kept


def counted(fn, x) -> int:
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            fn(x)
    return counter.get_total_flops()


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def check(net, tol=1e-3):
    x = torch.randn(1, 3, 32, 32)
    c = cost(net.config, net.kept, net.bits_per_symbol)
    assert abs(counted(net.device, x) - c.flops) <= tol * c.flops
    assert abs(counted(net.server, net.device(x)) - c.server_flops) <= tol * c.server_flops
    backbone = device_flops(net.config, net.kept, codec=False)
    assert abs(counted(net.device.features, x) - backbone) <= tol * backbone
    assert n_params(net.device) == c.device_params
    assert n_params(net.server) == c.server_params
    symbols = net.device(x).shape[1]
    assert c.bits == symbols * net.bits_per_symbol
    C, H, W = net.device.features(x).shape[1:]
    assert c.bits_original == C * H * W * 32


@pytest.mark.parametrize("k", range(1, 17))
def test_unpruned_width8_every_split(k):
    net = build_split_resnet50(8, k).eval()
    check(net)
    c = cost(net.config)
    assert c.flops_original == counted(net.device.features, torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize("k", range(1, 17))
def test_random_ratios_width8_every_split(k):
    net = build_split_resnet50(8, k, channel="quantize", bits=6).eval()
    ratios = np.random.default_rng(k).uniform(0, 1, len(net.prunable_layers))
    check(prune(net, ratios))


@pytest.mark.parametrize("k, seed", [(3, 0), (13, 1), (16, 2)])
def test_width64_some_splits(k, seed):
    net = build_split_resnet50(64, k).eval()
    check(net)
    ratios = np.random.default_rng(seed).uniform(0.2, 1, len(net.prunable_layers))
    check(prune(net, ratios))


def test_original_payload_and_flops_do_not_depend_on_pruning():
    net = build_split_resnet50(8, 7)
    small = prune(net, [0.3] * len(net.prunable_layers))
    a, b = cost(net.config, net.kept), cost(small.config, small.kept)
    assert (a.flops_original, a.bits_original) == (b.flops_original, b.bits_original)
    assert b.flops < a.flops and b.bits < a.bits


@pytest.mark.parametrize("width, k", [(8, 1), (8, 7), (8, 16), (64, 13), (1, 3)])
def test_fast_device_flops_model_equals_layer_by_layer_count(width, k):
    config = SplitConfig(width, k)
    model, full = DeviceFlopsModel(config), full_kept(config)
    rng = np.random.default_rng(k)
    for _ in range(30):
        kept = [int(rng.integers(1, f + 1)) for f in full]
        assert model(kept) == device_flops(config, kept)
    assert model(full) == device_flops(config, full)


@pytest.mark.parametrize("split, ratio", [(1, 0.5), (5, 0.3), (13, 0.7), (16, 0.25)])
def test_a_decoder_pruned_with_the_encoders_ratio_is_counted_exactly(split, ratio):
    """The AutoML paper prunes the decoder with the encoder's ratio: server FLOPs and parameters shrink, and the
    accounting agrees with FlopCounterMode and the real modules."""
    torch.manual_seed(0)
    config = SplitConfig(8, split, prune_decoder=True)
    net = prune(SplitNetwork(config).eval(), [ratio] * (2 * split + 2))
    assert net.server.decoder.deconv.in_channels == net.kept[-2] < full_kept(config)[-2]
    check(net)
    whole = cost(SplitConfig(8, split), net.kept, net.bits_per_symbol)
    mine = cost(config, net.kept, net.bits_per_symbol)
    assert mine.server_flops < whole.server_flops and mine.flops == whole.flops and mine.bits == whole.bits
