"""What gathering the sampled patches saves `reconstruct`, against unfolding every position.

`reconstruct` fits each consumer layer on 4,096 sampled (image, position) rows of its
input. For ``--designs`` random Tiny designs (ratios uniform in [``--low``, 1], seeded)
this times, side by side in one run, the two ways of building those rows for every
consumer layer, on the inputs the layers see in a real reconstruction pass:
  * unfold: ``F.unfold`` over all positions of the 512 images, then the sampled rows;
  * gather: the patches at the sampled positions alone (what the library does);
checks that both give the same rows bit for bit, and prints the seconds per design and
their median ratio.

    .venv/bin/python benchmarks/reconstruct_rows.py [--designs 5] [--low 0.0] [--seed 0] [--split 13]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import SplitConfig, full_kept, kept_from_ratios
from coinfer_env.data import load_subset
from coinfer_env.evaluation import EvalSettings, _batches, _layer_rows, _sample_rows
from coinfer_env.network import SplitNetwork
from coinfer_env.pruning import consumer_slices, prune_to


def consumer_inputs(model: SplitNetwork, names: list[str], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The input each named layer receives in one forward pass of ``model``."""
    seen: dict[str, torch.Tensor] = {}
    hooks = [model.get_submodule(n).register_forward_pre_hook(lambda m, inp, n=n: seen.__setitem__(n, inp[0])) for n in names]
    with torch.no_grad():
        model.eval()(x)
    for h in hooks:
        h.remove()
    return seen


def time_rows(model: SplitNetwork, inputs: dict[str, torch.Tensor], max_rows: int, seed: int) -> tuple[float, float]:
    """Seconds to build every layer's sampled rows by unfolding all positions, and by gathering them."""
    unfold = gather = 0.0
    g = torch.Generator().manual_seed(seed)
    for name, x in inputs.items():
        module = model.get_submodule(name)
        total = len(x) * (module(x[:1]).shape[2:].numel() if x.dim() == 4 else 1)
        rows = _sample_rows(total, max_rows, g, x.device)
        t = time.perf_counter()
        everything = _layer_rows(module, x, None)
        a = everything if rows is None else everything[rows]
        unfold += time.perf_counter() - t
        t = time.perf_counter()
        b = _layer_rows(module, x, rows)
        gather += time.perf_counter() - t
        assert torch.equal(a, b), name
    return unfold, gather


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--designs", type=int, default=5)
    parser.add_argument("--low", type=float, default=0.0, help="lowest preserved ratio drawn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", type=int, default=13)
    args = parser.parse_args()
    config = SplitConfig(8, args.split)
    trained = SplitNetwork(config)
    trained.load_state_dict(ckpt.load_split(ckpt.bundled_dir(), 8, args.split))
    settings = EvalSettings("reconstruct", bn_batches=8)
    x = torch.cat(_batches(load_subset().train, settings, settings.bn_batches, salt=2))
    rng = np.random.default_rng(args.seed)
    print(f"host: {platform.machine()} {platform.processor()}, torch {torch.__version__}, {torch.get_num_threads()} threads, cpu")
    print(f"Tiny, split {args.split}, {len(x)} images, 4096 sampled rows a layer, ratios uniform in [{args.low}, 1], seed {args.seed}")
    ratios = []
    for d in range(args.designs):
        kept = kept_from_ratios(config, rng.uniform(args.low, 1.0, len(full_kept(config))))
        model = prune_to(trained, kept).to(memory_format=torch.channels_last)
        names = list(consumer_slices(trained, kept))
        unfold, gather = time_rows(model, consumer_inputs(model, names, x), 4096, args.seed)
        ratios.append(unfold / gather)
        print(f"design {d}: {len(names)} layers, unfold {unfold:.3f} s, gather {gather:.3f} s, ratio {unfold / gather:.1f}")
    print(f"median ratio unfold / gather: {statistics.median(ratios):.1f} (rows identical in every layer)")


if __name__ == "__main__":
    main()
