"""Step 3 of the paper: rebuild the chosen pruned network, fine-tune it longer, ship it.

The device part (image -> symbols) and the server part (received symbols ->
logits) are saved as two TorchScript files that load with ``torch.jit.load`` and
run without this package. The channel between them is whatever link you deploy;
for a digital channel quantise the symbols to the bits reported.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from .accounting import cost
from .checkpoints import staged_directory
from .data import Splits
from .evaluation import Evaluator
from .loops import accuracy, epoch_steps
from .network import SplitNetwork
from .pruning import prune_to
from .recipe import BATCH, finetune_whole


def starting_network(trained: SplitNetwork, kept: Sequence[int], recovered_by: Evaluator | None) -> SplitNetwork:
    """The network step 3 fine-tunes: ``trained`` plainly pruned to ``kept`` (``recovered_by=None``, the
    paper's step 3), or the network ``recovered_by`` scored for that design, e.g. the env's evaluator, so
    that the deployed network starts from the one the reward measured."""
    if recovered_by is None:
        return prune_to(trained, kept)
    return recovered_by.build(kept)[0].to(memory_format=torch.contiguous_format)


def export(trained: SplitNetwork, kept: Sequence[int], data: Splits, out_dir: Path, epochs: int = 10,
           lr: float = 0.01, seed: int = 0, dataset: str = "", recovered_by: Evaluator | None = None) -> dict:
    """Prune ``trained`` to ``kept`` (recovered by ``recovered_by`` if given: :func:`starting_network`),
    fine-tune, measure on the test split, write TorchScript."""
    start = time.time()
    out_dir = Path(out_dir)
    model = starting_network(trained, kept, recovered_by)
    model.channel.seed(seed)
    before = accuracy(model, data.test)
    with tqdm(total=epoch_steps(epochs, len(data.train), BATCH), desc="export fine-tune", unit="step") as bar:
        finetune_whole(model, data.train, epochs, torch.Generator().manual_seed(seed), lr, on_step=lambda _: bar.update())
    model = model.cpu().to(memory_format=torch.contiguous_format).eval()
    model.channel.seed(seed)
    c = cost(model.config, model.kept, model.bits_per_symbol)
    report = {
        "kept": list(model.kept),
        "test_accuracy_before_finetune": before,
        "test_accuracy": accuracy(model, data.test),
        "test_images": len(data.test),
        "dataset": dataset,
        "flops": c.flops,
        "flops_original": c.flops_original,
        "server_flops": c.server_flops,
        "bits": c.bits,
        "bits_original": c.bits_original,
        "bits_per_symbol": model.bits_per_symbol,
        "device_params": c.device_params,
        "server_params": c.server_params,
        "finetune_epochs": epochs,
        "start": "pruned" if recovered_by is None else recovered_by.settings.method,
        "seed": seed,
    }  # no wall time here: the same seed, threads and kernels give the same export.json (tested)
    example = torch.zeros(1, 3, 32, 32)
    with torch.no_grad():
        device_ts = torch.jit.trace(model.device, example)
        server_ts = torch.jit.trace(model.server, model.device(example))
    with staged_directory(out_dir) as stage:  # the three files appear together, or not at all
        torch.jit.save(device_ts, str(stage / "device.pt"))
        torch.jit.save(server_ts, str(stage / "server.pt"))
        (stage / "export.json").write_text(json.dumps(report, indent=2) + "\n")
    return {**report, "seconds": round(time.time() - start, 1)}
