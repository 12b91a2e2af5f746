"""Step 1's codec phase: the distillation loss against hand formulas, and what it trains."""

import numpy as np
import pytest
import torch
from torch import nn

from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import NUM_BLOCKS, SplitConfig
from coinfer_env.data import load_synthetic, normalize
from coinfer_env.loops import distillation_loss
from coinfer_env.network import SplitNetwork
from coinfer_env.rng import seeded
from coinfer_env.training import TrainConfig, codec_distillation, train_codec


def test_distillation_loss_is_hintons_soft_target_kl_computed_by_hand():
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(5, 10, generator=g), torch.randn(5, 10, generator=g)
    t = 3.0

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    p, q = softmax(teacher.double().numpy() / t), softmax(student.double().numpy() / t)
    expected = (p * (np.log(p) - np.log(q))).sum(1).mean() * t**2
    assert distillation_loss(student, teacher, t).item() == pytest.approx(expected, rel=1e-5)
    assert distillation_loss(teacher, teacher, t).item() == pytest.approx(0.0, abs=1e-6)


def _split_net(split: int = 3) -> SplitNetwork:
    torch.manual_seed(0)
    return SplitNetwork(SplitConfig(2, split)).eval()


def test_codec_distillation_is_zero_for_a_codec_that_passes_the_feature_through():
    """The teacher is the backbone without the codec: a lossless codec leaves nothing to learn."""
    net = _split_net()
    x = normalize(load_synthetic(train_size=8).train.images)
    labels = torch.zeros(len(x), dtype=torch.long)
    assert codec_distillation(net)(x, labels).item() > 1e-4  # the random codec loses information
    net.device.encoder, net.server.decoder = nn.Identity(), nn.Identity()
    assert codec_distillation(net)(x, labels).item() == pytest.approx(0.0, abs=1e-6)


def test_distilled_codec_phase_trains_the_codec_and_nothing_else():
    torch.manual_seed(1)
    backbone = ckpt.backbone_state(SplitNetwork(SplitConfig(2, NUM_BLOCKS)))
    data = load_synthetic(train_size=256)
    cfg = TrainConfig(width=2, splits=[3], codec_epochs=1, joint_epochs=0, codec_loss="distill")
    with seeded(cfg.seed + 3):  # the initial codec train_codec starts from
        untrained = SplitNetwork(SplitConfig(2, 3))
    ckpt.load_backbone(untrained, backbone)
    net = train_codec(cfg, backbone, 3, data, torch.device("cpu"))
    trained, before = net.state_dict(), untrained.state_dict()
    codec = [k for k in trained if "coder" in k]
    rest = [k for k in trained if "coder" not in k]
    assert codec and rest
    assert all(torch.equal(trained[k], before[k]) for k in rest)  # backbone weights and BN statistics untouched
    assert any(not torch.equal(trained[k], before[k]) for k in codec if k.endswith("weight"))


def test_a_bad_codec_loss_names_itself():
    with pytest.raises(ValueError, match="codec_loss='l2'"):
        TrainConfig(codec_loss="l2")


def test_the_codec_loss_decides_what_the_codec_learns():
    torch.manual_seed(1)
    backbone = ckpt.backbone_state(SplitNetwork(SplitConfig(2, NUM_BLOCKS)))
    data = load_synthetic(train_size=256)
    nets = {loss: train_codec(TrainConfig(width=2, splits=[3], codec_epochs=1, joint_epochs=0, codec_loss=loss), backbone, 3, data,
                              torch.device("cpu")) for loss in ("ce", "distill")}
    ce, distilled = (n.device.encoder.fc.weight for n in nets.values())
    assert not torch.equal(ce, distilled)
