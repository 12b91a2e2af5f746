"""The split ResNet-50: architecture, FLOPs against torch's own counter, bad input."""

import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from coinfer_env import SplitConfig, build_split_resnet50
from coinfer_env.accounting import backbone_flops
from coinfer_env.architecture import split_feature_shape


def counted(fn, *args) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


def test_width64_backbone_matches_torchvision_resnet50_with_cifar_stem():
    tv = torchvision.models.resnet50(num_classes=10)
    tv.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    tv.maxpool = torch.nn.Identity()
    x = torch.randn(1, 3, 32, 32)
    net = build_split_resnet50(64, 13).eval()
    assert counted(tv, x) == 2_595_659_776
    assert backbone_flops(SplitConfig(64, 13)) == counted(tv, x)
    assert counted(net.backbone, x) == counted(tv, x)
    assert sum(p.numel() for p in tv.parameters()) == sum(
        p.numel() for n, p in net.named_parameters() if "coder" not in n
    )


def torchvision_twin(net):
    """torchvision's resnet50 (CIFAR stem) holding a width-64 ``net``'s backbone weights: an independent forward."""
    tv = torchvision.models.resnet50(num_classes=10)
    tv.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    tv.maxpool = torch.nn.Identity()
    ours = [v for k, v in net.state_dict().items() if "coder" not in k]
    theirs = tv.state_dict()
    assert [tuple(v.shape) for v in ours] == [tuple(v.shape) for v in theirs.values()]
    tv.load_state_dict(dict(zip(theirs, ours)))
    return tv.eval()


def test_backbone_forward_equals_torchvision_with_the_same_weights():
    net = build_split_resnet50(64, 13).eval()
    with torch.no_grad():  # non-trivial BN statistics, so a mis-ordered layer would show
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net.backbone(x), torchvision_twin(net)(x), rtol=1e-4, atol=1e-4)


def test_quantize_channel_sends_hand_rounded_symbols():
    net = build_split_resnet50(8, 5, channel="quantize", bits=4).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        z = net.device(x)
        received = torch.round(z * 15) / 15  # 4 bits: 16 levels on [0, 1]
        torch.testing.assert_close(net(x), net.server(received), rtol=0, atol=0)
        assert not torch.equal(received, z)
    assert net(x).shape == (3, 10)


@pytest.mark.parametrize("k", range(1, 17))
def test_split_feature_and_codec_shapes(k):
    net = build_split_resnet50(8, k).eval()
    x = torch.randn(2, 3, 32, 32)
    C, H, W = split_feature_shape(net.config)
    with torch.no_grad():
        feat = net.device.features(x)
        symbols = net.device(x)
        restored = net.server.decoder(symbols)
    assert feat.shape == (2, C, H, W)
    assert restored.shape == feat.shape
    D = (C // 8) * -(-H // 2) * -(-W // 2)
    assert symbols.shape == (2, D // 4)
    assert symbols.min() >= 0 and symbols.max() <= 1
    assert len(net.prunable_layers) == 2 * k + 2
    assert [L.name for L in net.prunable_layers][-2:] == ["encoder.conv", "encoder.fc"]


def test_prunable_layers_skip_conv3_shortcut_and_stem():
    names = [L.name for L in build_split_resnet50(8, 4).prunable_layers]
    assert names[:4] == ["blocks.0.conv1", "blocks.0.conv2", "blocks.1.conv1", "blocks.1.conv2"]
    assert not any("conv3" in n or "shortcut" in n or "stem" in n for n in names)


def test_descriptors_carry_real_module_shapes():
    net = build_split_resnet50(8, 6)
    for d in net.prunable_layers:
        module = net.device.get_submodule(d.name)
        if d.kind == "conv":
            assert (module.in_channels, module.out_channels) == (d.in_channels, d.out_channels)
            assert module.kernel_size == (d.kernel, d.kernel) and module.stride == (d.stride, d.stride)
        else:
            assert (module.in_features, module.out_features) == (d.in_channels, d.out_channels) == (d.in_size, d.out_channels)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"split_point": 0}, "split_point=0"),
        ({"split_point": 17}, "1..16"),
        ({"width": 0}, "width=0"),
        ({"channel": "wifi"}, "channel='wifi'"),
        ({"channel": "awgn", "snr": 3}, "snr"),
        ({"channel": "bec", "erasure_prob": 1.5}, "erasure_prob=1.5"),
    ],
)
def test_bad_configuration_names_the_value(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        build_split_resnet50(**{"width": 8, **kwargs})


def test_info_table_lists_all_sixteen_splits(capsys):
    from coinfer_cli.main import main

    assert main(["info", "--width", "8"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 16
    net = build_split_resnet50(8, 13).eval()
    assert f"{counted(net.device.features, torch.zeros(1, 3, 32, 32)):,}" in rows[12]  # Lambda, by torch's counter
    assert [int(r.split("|")[3]) for r in rows] == [2 * k + 2 for k in range(1, 17)]  # episode length


def test_a_split_file_holds_only_what_differs_from_the_backbone_and_loads_back(tmp_path):
    from coinfer_env import checkpoints as ckpt

    net = build_split_resnet50(8, 3).eval()
    backbone = {k: v.clone() for k, v in ckpt.backbone_state(net).items()}
    with torch.no_grad():
        net.device.blocks[1].bn1.weight.add_(0.5)  # what a "bn" joint fine-tune changes
        net.device.encoder.fc.weight.mul_(1.1)
    ckpt.save_state(ckpt.backbone_file(tmp_path, 8), backbone)
    ckpt.save_state(ckpt.split_file(tmp_path, 8, 3), ckpt.compact_split_state(net, backbone))
    stored = ckpt.load_state(ckpt.split_file(tmp_path, 8, 3))
    assert {k for k in stored if "coder" not in k} == {"device.blocks.1.bn1.weight"}
    assert all(v.dtype == torch.float16 for k, v in stored.items() if "coder" in k and v.is_floating_point())
    loaded = ckpt.load_split(tmp_path, 8, 3)
    for k, v in net.state_dict().items():
        expected = v.half().float() if "coder" in k and v.is_floating_point() else v
        assert torch.equal(loaded[k], expected), k


def test_an_older_split_file_holding_the_whole_network_still_loads(tmp_path):
    from coinfer_env import checkpoints as ckpt

    net = build_split_resnet50(8, 5).eval()
    ckpt.save_state(ckpt.split_file(tmp_path, 8, 5), net.state_dict())  # the format before compact files
    loaded = ckpt.load_split(tmp_path, 8, 5)  # no backbone file beside it
    assert loaded.keys() == net.state_dict().keys()
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())
