"""Does a smoother readout than accuracy order heavily pruned designs?

    .venv/bin/python benchmarks/readout_screen.py --splits 13 16 [--methods adaptive-bn-8 reconstruct-8 finetune-48] [--threads 2]

Near chance a pruned network's validation accuracy counts only the images that cross the decision boundary, with a
sampling sd of about a point on 1,000 images, where the heavy designs differ by a few. This rebuilds each heavy design
of search_proxies.py (the draws with committed export truths) with each proxy, as the env does, and reads three
readouts of the same recovered network on the validation images: the accuracy, the mean cross-entropy, and the mean
KL divergence from the unpruned network's softmax to the pruned one's. A monotone map keeps a readout's order, so each
is judged by how it orders the designs' deployed accuracy (export recipe, seed 0; lower loss or KL counting as
better), by the rule in docs/environment.md ("A smoother readout than accuracy, near chance"). Rows are appended to
results/calibration/readouts.csv as they finish (a killed run resumes); the report is results/calibration/readouts.md.
It fits nothing and changes no default.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from reward_fidelity import PROXIES, append_row, bundled_tiny, hosts_text, read_rows, tau_with_interval
from search_proxies import committed_truth, designs, heavy_pooled

from coinfer_env import checkpoints as ckpt
from coinfer_env.data import ImageSet, load_subset, normalize
from coinfer_env.evaluation import Evaluator
from coinfer_env.hardware import device_name
from coinfer_env.network import SplitNetwork
from coinfer_env.rng import deterministic_kernels

RESULTS = Path("docs/results/calibration")
READOUTS = ("accuracy", "val_loss", "teacher_kl")  # readouts.csv's columns, in the report's order
SIGN = {"accuracy": 1, "val_loss": -1, "teacher_kl": -1}  # each readout turned so that higher reads better
# The rule, per split: a readout's accuracy tau minus the accuracy's, with the same proxy, must reach this.
MARGIN = {13: 0.15, 16: -0.05}


@torch.no_grad()
def logits(model: SplitNetwork, val: ImageSet, seed: int, batch: int = 500) -> torch.Tensor:
    """``model``'s logits of every validation image, in order, with its channel seeded as Evaluator.evaluate seeds it."""
    model.eval().channel.seed(seed)
    with deterministic_kernels():
        return torch.cat([model(normalize(val.images[i: i + batch])) for i in range(0, len(val), batch)])


def readouts(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy, mean cross-entropy, and mean KL(teacher || student) over the images."""
    log_s, log_t = F.log_softmax(student.double(), 1), F.log_softmax(teacher.double(), 1)
    return {"accuracy": (student.argmax(1) == labels).double().mean().item(),
            "val_loss": -log_s.gather(1, labels[:, None]).mean().item(),
            "teacher_kl": (log_t.exp() * (log_t - log_s)).sum(1).mean().item()}


def heavy(config, split: int) -> list[str]:
    """Every heavy design of search_proxies.py at ``split`` (JSON kept vectors), its draws pooled."""
    return heavy_pooled(designs(config, split))


def measure(split: int, methods: list[str], path: Path) -> None:
    """Each method's readouts of every heavy design at ``split``, computing only what ``path`` lacks."""
    trained, data = bundled_tiny(split), load_subset()  # the data is cheap to load: a bundled subset
    kept = heavy(trained.config, split)
    done = {(r["method"], r["kept"]) for r in read_rows(path) if int(r["split"]) == split}
    for m in methods:
        if not (todo := [k for k in kept if (m, k) not in done]):
            continue
        evaluator = Evaluator(trained, data.train, data.val, PROXIES[m])
        teacher = logits(trained, evaluator.val, PROXIES[m].seed + 1)
        for k in todo:
            t = time.perf_counter()
            model, _ = evaluator.build(json.loads(k))
            out = readouts(logits(model, evaluator.val, PROXIES[m].seed + 1), teacher, evaluator.val.labels)
            append_row(path, {"split": split, "method": m, "settings": json.dumps(asdict(PROXIES[m])), "kept": k, **out,
                              "seconds": round(time.perf_counter() - t, 3)})
            print(f"split {split} {m}: " + ", ".join(f"{r} {out[r]:.4f}" for r in READOUTS), flush=True)


def taus(rows: list[dict], truth: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    """readout -> its accuracy tau against ``truth`` and a 95% bootstrap interval (higher reads better)."""
    t = [truth[r["kept"]] for r in rows]
    return {name: tau_with_interval([SIGN[name] * float(r[name]) for r in rows], t,
                                    np.random.default_rng(zlib.crc32(name.encode()))) for name in READOUTS}


def readout_table(split: int, methods: list[str], rows: list[dict], readouts: tuple[str, ...],
                  figures_of: Callable[[str, list[dict]], dict[str, tuple[float, float, float]]]) -> tuple[list[str], dict]:
    """A split's table of each method's readout taus, ``figures_of(method, its rows sorted by design)`` giving each
    readout's (tau, low, high), with the method's median seconds; and those figures by method."""
    lines = [f"## Split {split}: {len({r['kept'] for r in rows})} heavy designs", "",
             "| proxy | " + " | ".join(f"{r} tau [95% bootstrap]" for r in readouts) + " | median seconds |",
             "|---|" + "---:|" * (len(readouts) + 1)]
    figures = {}
    for m in methods:
        mine = sorted((r for r in rows if r["method"] == m), key=lambda r: r["kept"])
        figures[m] = figures_of(m, mine)
        cells = [f"{tau:.2f} [{lo:.2f}, {hi:.2f}]" for tau, lo, hi in (figures[m][r] for r in readouts)]
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {np.median([float(r['seconds']) for r in mine]):.1f} |")
    return lines, figures


def section(split: int, methods: list[str], rows: list[dict], truth: dict[str, float]) -> tuple[list[str], dict]:
    """A split's table, and per (method, readout) whether it meets the split's margin."""
    lines, figures = readout_table(split, methods, rows, READOUTS, lambda m, mine: taus(mine, truth))
    meets = {(m, name): figures[m][name][0] - figures[m]["accuracy"][0] >= MARGIN[split] - 1e-9
             for m in methods for name in READOUTS[1:]}
    return lines, meets


def reproduced(rows: list[dict], proxies: list[dict]) -> list[str]:
    """How each method's accuracy readout reproduces results/calibration/proxies.csv's raw accuracy of the same design
    and settings, by the pair of hosts that computed them: without a gradient step a proxy's accuracy is the same
    on another CPU; a fine-tune's follows that CPU's kernels."""
    earlier = {(r["split"], r["settings"], r["kept"]): r for r in proxies}
    pairs: dict[tuple, list[tuple[float, float]]] = {}
    for r in rows:
        if (e := earlier.get((r["split"], r["settings"], r["kept"]))) is not None:
            key = (int(r["split"]), r["method"], e.get("hardware") or "?", r.get("hardware") or "?")
            pairs.setdefault(key, []).append((float(e["proxy_accuracy"]), float(r["accuracy"])))
    lines = ["| split | proxy | proxies.csv's host | this host | designs | mean difference, points | largest | Pearson r |",
             "|---:|---|---|---|---:|---:|---:|---:|"]
    for (split, m, before, now), ab in sorted(pairs.items()):
        a, b = np.array(ab).T
        r = float(np.corrcoef(a, b)[0, 1]) if np.std(a) and np.std(b) else float("nan")
        lines.append(f"| {split} | {m} | {before} | {now} | {len(ab)} | {100 * np.mean(np.abs(a - b)):.2f} | "
                     f"{100 * np.max(np.abs(a - b)):.2f} | {r:.3f} |")
    return lines


def report(splits: list[int], methods: list[str], path: Path, seconds: float) -> str:
    rows_by = {s: [r for r in read_rows(path) if int(r["split"]) == s and r["method"] in methods] for s in splits}
    every = [r for rows in rows_by.values() for r in rows]
    lines = ["# A smoother readout than accuracy, on heavily pruned designs, Tiny id", "",
             f"Command: `.venv/bin/python benchmarks/readout_screen.py --splits {' '.join(map(str, splits))} --methods "
             f"{' '.join(methods)}`. This invocation: {device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch "
             f"threads, {seconds:.0f} s; the rows, by where they were computed: {hosts_text(every)}. Each tau orders the "
             "designs' export truth (10 epochs, seed 0) by the readout, lower loss or KL counting as better; a "
             "monotone map keeps it.", ""]
    verdict = {}
    for s in splits:
        table, meets = section(s, methods, rows_by[s], committed_truth(s))
        lines += [*table, ""]
        for key, ok in meets.items():
            verdict[key] = verdict.get(key, True) and ok
    margins = ", ".join(f"at split {s} at least the accuracy's {MARGIN[s]:+.2f}" for s in splits)
    lines += ["## The rule", "", f"A readout is a candidate if its accuracy tau is, with the same proxy, {margins}.", ""]
    lines += [f"- {m}, {name}: {'a candidate' if ok else 'not a candidate'}." for (m, name), ok in verdict.items()]
    lines += ["", "## The accuracy readout against proxies.csv", "",
              "The same design, proxy and settings, read here and in results/calibration/proxies.csv (by fit_calibration.py "
              "or search_proxies.py), by the hosts that computed each.", "",
              *reproduced(every, read_rows(RESULTS / "proxies.csv"))]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--splits", nargs="+", type=int, default=[13, 16], choices=sorted(MARGIN))
    p.add_argument("--methods", nargs="+", default=["adaptive-bn-8", "reconstruct-8", "finetune-48"],
                   choices=list(PROXIES))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started, path = time.time(), RESULTS / "readouts.csv"
    for s in args.splits:
        measure(s, args.methods, path)
    text = report(args.splits, args.methods, path, time.time() - started)
    ckpt.atomic_write(RESULTS / "readouts.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
