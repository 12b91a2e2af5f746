"""Structured pruning: exactness, L1 selection, properties on random ratio vectors."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coinfer_env import build_split_resnet50, cost, prune
from coinfer_env.architecture import kept_from_ratios
from coinfer_env.pruning import l1_keep

SPLIT = 5
NET = build_split_resnet50(8, SPLIT).eval()
L = len(NET.prunable_layers)
ratios = st.lists(st.floats(0, 1, allow_nan=False), min_size=L, max_size=L)


def test_all_ones_is_identical_and_leaves_original_untouched():
    net = build_split_resnet50(8, 9).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    small = prune(net, [1.0] * len(net.prunable_layers))
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(small(x), net(x))
    assert small is not net and small.kept == net.kept
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_removing_zero_filters_keeps_output():
    # Fresh BN in eval mode is an identity, so a zero filter yields a zero channel.
    net = build_split_resnet50(8, 4).eval()
    sd = net.state_dict()
    with torch.no_grad():
        sd["device.blocks.1.conv1.weight"][[0, 3, 5]] = 0
        sd["device.blocks.2.conv2.weight"][[1, 2]] = 0
        sd["device.encoder.conv.weight"][[0]] = 0
    ratios = [1.0] * len(net.prunable_layers)
    ratios[2] = 5 / 8  # blocks.1.conv1 keeps 5 of 8: the three zero filters go
    ratios[5] = 6 / 8
    ratios[8] = 7 / 8  # encoder conv, 64 -> 8 channels at split 4
    small = prune(net, ratios)
    assert small.device.blocks[1].conv1.out_channels == 5
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)


def test_keeps_largest_l1_filters():
    w = torch.tensor([[1.0, -1.0], [0.1, 0.1], [-3.0, 0.0], [0.5, 0.5]]).view(4, 2, 1, 1)
    assert l1_keep(w, 2).tolist() == [0, 2]
    assert l1_keep(torch.ones(3, 2), 2).tolist() == [0, 1]  # ties go to the lower index


def test_pruned_layers_have_kept_widths_and_are_physically_smaller():
    net = build_split_resnet50(8, 3)
    small = prune(net, [0.5] * len(net.prunable_layers))
    assert small.device.blocks[0].conv1.weight.shape[0] == 4
    assert small.device.blocks[0].conv2.weight.shape[:2] == (4, 4)
    assert small.device.blocks[0].conv3.weight.shape[1] == 4
    assert small.device.encoder.fc.in_features == small.device.encoder.conv.out_channels * 16 * 16
    assert small.server.decoder.fc.in_features == small.device.encoder.fc.out_features
    assert small.server.decoder.fc.out_features == net.server.decoder.fc.out_features


def test_kept_rule():
    c = NET.config
    assert kept_from_ratios(c, [0.0] * L)[0] == 1
    assert kept_from_ratios(c, [0.3] * L)[0] == round(0.3 * 8)


@pytest.mark.parametrize(
    "bad, fragment",
    [([1.0] * (L - 1), f"got {L - 1} preserved ratios"), ([float("nan")] + [1.0] * (L - 1), "nan"), ([1.0] * (L - 1) + [1.5], "1.5")],
)
def test_bad_ratios_name_the_value(bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        prune(NET, bad)


@settings(max_examples=20, deadline=None)
@given(ratios)
def test_pruned_network_runs_and_shrinks(a):
    small = prune(NET, a)
    with torch.no_grad():
        assert small(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    full, c = cost(NET.config), cost(small.config, small.kept)
    assert c.device_params <= full.device_params and c.server_params <= full.server_params
    assert c.flops <= full.flops and c.bits <= full.bits


@settings(max_examples=50, deadline=None)
@given(ratios, st.integers(0, L - 1), st.floats(0, 1))
def test_lowering_a_ratio_never_grows_flops_or_payload(a, i, fraction):
    lower = list(a)
    lower[i] = a[i] * fraction
    hi = cost(NET.config, kept_from_ratios(NET.config, a))
    lo = cost(NET.config, kept_from_ratios(NET.config, lower))
    assert lo.flops <= hi.flops and lo.bits <= hi.bits
    assert lo.device_params <= hi.device_params


def _rows_in(original: torch.Tensor, pruned: torch.Tensor) -> list[int]:
    """Index of each row of ``pruned`` among the rows of ``original`` (matched by equality)."""
    o, p = original.flatten(1), pruned.flatten(1)
    return [int(torch.nonzero((o == row).all(1))[0]) for row in p]


def _masked_forward(net, x, dropped: dict[str, list[int]]):
    """``net``'s output with the dropped channels zeroed after their BN (or the dropped symbols
    zeroed after the encoder): what physically removing them must reproduce."""
    hooks = []
    for name, idx in dropped.items():
        def zero(_, __, out, idx=idx):
            out = out.clone()
            out[:, idx] = 0
            return out
        hooks.append(net.get_submodule(name).register_forward_hook(zero))
    try:
        with torch.no_grad():
            return net(x)
    finally:
        for h in hooks:
            h.remove()


def test_pruning_an_already_pruned_network_equals_masking_the_original():
    net = build_split_resnet50(8, 3).eval()
    with torch.no_grad():  # distinct BN shifts: a wrongly kept channel changes the output
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.bias.uniform_(-0.5, 0.5)
    n = len(net.prunable_layers)
    once = prune(net, [0.75] * n)
    twice = prune(once, [0.5] * (n - 1) + [0.25])
    assert twice.kept == kept_from_ratios(net.config, [0.5] * (n - 1) + [0.25])
    sd, sd2 = net.state_dict(), twice.state_dict()
    dropped = {}
    for j in range(3):
        p = f"device.blocks.{j}"
        k1 = _rows_in(sd[f"{p}.conv1.weight"], sd2[f"{p}.conv1.weight"])
        k2 = _rows_in(sd[f"{p}.conv2.weight"][:, k1], sd2[f"{p}.conv2.weight"])
        dropped[f"{p}.bn1"] = sorted(set(range(sd[f"{p}.bn1.weight"].numel())) - set(k1))
        dropped[f"{p}.bn2"] = sorted(set(range(sd[f"{p}.bn2.weight"].numel())) - set(k2))
    enc = _rows_in(sd["device.encoder.conv.weight"], sd2["device.encoder.conv.weight"])
    dropped["device.encoder.bn"] = sorted(set(range(sd["device.encoder.bn.weight"].numel())) - set(enc))
    pixels = sd["device.encoder.fc.weight"].shape[1] // len(sd["device.encoder.bn.weight"])
    columns = [c * pixels + i for c in enc for i in range(pixels)]
    sym = _rows_in(sd["device.encoder.fc.weight"][:, columns], sd2["device.encoder.fc.weight"])
    dropped["device.encoder"] = sorted(set(range(sd["device.encoder.fc.weight"].shape[0])) - set(sym))
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(twice(x), _masked_forward(net, x, dropped), rtol=1e-5, atol=1e-5)
