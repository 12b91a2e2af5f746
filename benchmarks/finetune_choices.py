"""Why the environment fine-tunes with Adam: recovery in 16 steps by method, on uniformly pruned Tiny networks.

    .venv/bin/python benchmarks/finetune_choices.py [--split 13] [--steps 16] [--seed 0]

Variants: no fine-tune; BN statistics re-estimated on 1,024 training images;
SGD (lr 0.01, momentum 0.9); Adam (lr 1e-3, 3e-3); Adam 1e-3 with distillation from
the unpruned network's logits (T = 4). Validation accuracy on the Tiny id's 1,000
validation images.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import SplitConfig, kept_from_ratios
from coinfer_env.data import load_subset, normalize
from coinfer_env.loops import accuracy, batch_indices
from coinfer_env.network import SplitNetwork
from coinfer_env.pruning import prune_to


def recalibrate_bn(model: SplitNetwork, images: torch.Tensor) -> None:
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None  # cumulative average
    model.eval()
    for b in bns:
        b.train()
    with torch.no_grad():
        for s in range(0, len(images), 256):
            model(normalize(images[s : s + 256]))
    model.eval()


def finetune(model, teacher, data, steps: int, opt_name: str, lr: float, distill: bool, seed: int) -> None:
    trainable = [p for n, p in model.named_parameters() if n.startswith(("device.", "server.decoder."))]
    for n, p in model.named_parameters():
        p.requires_grad_(n.startswith(("device.", "server.decoder.")))
    model.eval(), model.device.train(), model.server.decoder.train()
    opt = torch.optim.Adam(trainable, lr) if opt_name == "adam" else torch.optim.SGD(trainable, lr, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    for _, idx in zip(range(steps), batch_indices(len(data.train), 64, g)):
        x, y = normalize(data.train.images[idx]), data.train.labels[idx]
        out = model(x)
        loss = F.cross_entropy(out, y)
        if distill:
            with torch.no_grad():
                t = teacher(x)
            loss = loss + 16 * F.kl_div(F.log_softmax(out / 4, 1), F.softmax(t / 4, 1), reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--split", type=int, default=13)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_subset()
    config = SplitConfig(8, args.split)
    teacher = SplitNetwork(config)
    teacher.load_state_dict(ckpt.load_split(ckpt.bundled_dir(), 8, args.split))
    teacher.eval()
    print(f"unpruned validation accuracy {accuracy(teacher, data.val):.3f}; {args.steps} steps of 64 images, seed {args.seed}")
    variants = {
        "none": None, "BN re-estimation": "bn", "SGD 0.01": ("sgd", 0.01, False), "Adam 1e-3": ("adam", 1e-3, False),
        "Adam 3e-3": ("adam", 3e-3, False), "Adam 1e-3 + distillation": ("adam", 1e-3, True),
    }
    for ratio in (0.5, 0.75):
        kept = kept_from_ratios(config, [ratio] * (2 * args.split + 2))
        for name, how in variants.items():
            torch.manual_seed(args.seed)
            model = prune_to(teacher, kept)
            start = time.perf_counter()
            if how == "bn":
                recalibrate_bn(model, data.train.images[:1024])
            elif how is not None:
                finetune(model, teacher, data, args.steps, *how, args.seed)
            print(f"ratio {ratio}: {name:26s} accuracy {accuracy(model, data.val):.3f}  ({time.perf_counter() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
