"""The parser of every ``coinfer`` subcommand, and the dispatch that turns bad input into one line.

Each subcommand is one entry of :data:`COMMANDS`: its one-line purpose, a function
that declares its arguments, and the module whose ``run(args) -> int`` does the
work. Nothing heavy is imported until a subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, NamedTuple, Sequence

from agents.registry import SEARCHERS

from .args import agent_list, nonnegative_int, parse_splits, positive_int, probability

TINY = "CoInfer-ResNet50-Tiny-v0"
AGENTS = tuple(SEARCHERS)


class Command(NamedTuple):
    purpose: str
    arguments: Callable[[argparse.ArgumentParser], None]
    module: str


def _info(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=positive_int, nargs="+", default=[64, 8], help="network widths")


def _train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default=TINY, help="whose network width and data set")
    p.add_argument("--splits", type=parse_splits, default="all", help="'all', or a comma list such as 1,5,13")
    p.add_argument("--epochs", type=nonnegative_int, default=150, help="backbone epochs")
    p.add_argument("--codec-epochs", type=nonnegative_int, default=6, help="codec epochs per split (backbone frozen)")
    p.add_argument("--joint-epochs", type=nonnegative_int, default=2, help="joint fine-tune epochs per split")
    p.add_argument("--width", type=positive_int, help="override the id's network width (tests use 2)")
    p.add_argument("--augment", choices=("crop-flip", "trivial"), default="trivial",
                   help="backbone augmentation: crop-flip, or trivial (crop-flip + TrivialAugmentWide + RandomErasing)")
    p.add_argument("--mix-alpha", type=float, default=0.0, help="MixUp/CutMix strength for the backbone (0: off)")
    p.add_argument("--ema-decay", type=float, default=0.0, help="EMA of the backbone's weights, used as the result (0: off)")
    p.add_argument("--joint", choices=("all", "bn", "none"), default="bn",
                   help="what the joint fine-tune trains besides the codec (bn keeps split files small)")
    p.add_argument("--codec-loss", choices=("ce", "distill"), default="ce",
                   help="codec phase loss: ce on the labels, or distill toward the frozen backbone's logits and split feature")
    p.add_argument("--seed", type=int, default=0, help="seeds initialisation, batch order and augmentation")
    p.add_argument("--channel", default="ideal", help="channel the codecs are trained through")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--dataset", help="override the id's data set: cifar10, cifar10-subset or synthetic")
    p.add_argument("--data-root", default="~/.cache/coinfer_env/data", help="where torchvision's CIFAR-10 lives")
    p.add_argument("--download", action="store_true", help="let torchvision download CIFAR-10")
    p.add_argument("--out", help="checkpoint directory (default: the user data directory that `coinfer info` prints)")
    p.add_argument("--retrain-backbone", action="store_true",
                   help="train a new backbone even if --out holds one (the other splits' codecs then go stale)")


def _search(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default=TINY, help="environment id")
    p.add_argument("--agent", choices=AGENTS, default="ddpg", metavar="AGENT",
                   help="searcher: " + "; ".join(f"{k}: {e.summary}" for k, e in SEARCHERS.items()))
    p.add_argument("--episodes", type=positive_int, default=1100, help="episodes to play (the paper's MaxEpisode)")
    p.add_argument("--seed", type=int, default=0, help="seeds the searcher and the first reset")
    p.add_argument("--out", default="runs/search", help="run directory")
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE", help="environment keywords, e.g. split_point=13")
    p.add_argument("--buffer-episodes", type=positive_int, default=100,
                   help="replay capacity in episodes (ddpg, sb3-ddpg); warm-up is 2/3 of it")
    p.add_argument("--resume", action="store_true", help="checkpoint every episode and continue from OUT/agent_state.pt (ddpg)")
    p.add_argument("--batch", type=positive_int, default=1,
                   help="designs proposed before any result is told (random, uniform-sweep, tpe, cmaes, nsga2)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: play a batch one design after another; ray: on --batch Ray actors at once (pip install ray)")
    p.add_argument("--ray-address", help="an existing Ray cluster (default: start a local one)")


def _bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default=TINY, help="environment id")
    p.add_argument("--agents", type=agent_list, default="ddpg,sb3-ddpg,random", help=f"comma list of {', '.join(AGENTS)}")
    p.add_argument("--seeds", type=positive_int, default=10, help="seeds 0..N-1 per agent (benchmark protocols ask for at least 10)")
    p.add_argument("--episodes", type=positive_int, default=100, help="episodes per run")
    p.add_argument("--out", default="runs/bench", help="output directory")
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE", help="environment keywords")
    p.add_argument("--buffer-episodes", type=positive_int, default=100, help="replay capacity in episodes (ddpg, sb3-ddpg)")
    p.add_argument("--jobs", type=positive_int, default=1, help="parallel processes")
    p.add_argument("--threads", type=positive_int, help="torch threads per run (default: torch's own for one job; "
                   "CPUs / jobs for several; 1 on Ray)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: this process or --jobs processes; ray: each (agent, seed) a Ray task (pip install ray)")
    p.add_argument("--ray-address", help="an existing Ray cluster (default: start a local one)")
    p.add_argument("--reuse", action="store_true",
                   help="keep the finished runs already in --out that match this bench (resume a killed bench)")


def _export(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="a search's result.json")
    p.add_argument("--out", help="export directory (default: export/ beside the result)")
    p.add_argument("--epochs", type=nonnegative_int, default=10, help="whole-network fine-tune epochs (step 3)")
    p.add_argument("--lr", type=float, default=0.01, help="initial SGD learning rate (cosine to 0)")
    p.add_argument("--seed", type=int, default=0, help="seeds the batch order and channel noise")
    p.add_argument("--start", choices=("pruned", "recovered"), default="pruned",
                   help="fine-tune the plainly pruned network (the paper's step 3), or the one the search's "
                   "evaluation recovered and scored (its reward's network; docs/deployment.md)")


def _select(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="rpi3", help="rpi3, phone, edge-gpu, or a speed in FLOP/s")
    p.add_argument("--rate", default="40KB/s", help="link rate, e.g. 40KB/s, 2MB/s, 10Mbps")
    p.add_argument("--min-accuracy", type=probability, help="accuracy floor (default: best stored minus 0.01)")
    p.add_argument("--results", help="a trade-off CSV (default: the one shipped with the package)")
    p.add_argument("--top", type=positive_int, default=5, help="designs to list")


def _serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("export_dir", help="a directory written by `coinfer export`")
    p.add_argument("--host", default="127.0.0.1", help="address to bind; anything but loopback must be asked for")
    p.add_argument("--port", type=nonnegative_int, default=8470, help="TCP port (0: any free port, printed)")


def _infer(p: argparse.ArgumentParser) -> None:
    p.add_argument("export_dir", help="a directory written by `coinfer export`")
    p.add_argument("--server", default="127.0.0.1:8470", help="HOST:PORT of `coinfer serve`")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=("test",), default="test", help="the export's test images, with labels")
    source.add_argument("--images", help="a directory of 32x32 images to classify instead (no accuracy)")
    p.add_argument("--batch", type=positive_int, default=1, help="images per request")
    p.add_argument("--rate", help="emulate a link of this rate, e.g. 40KB/s (default: loopback speed)")


def _validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="a search's result.json")
    p.add_argument("--tolerance", type=float, default=1e-9, help="largest difference of a number that still matches")


COMMANDS: dict[str, Command] = {
    "info": Command("print each split point's FLOPs, feature size and payload", _info, "coinfer_cli.info"),
    "train": Command("step 1: train the backbone and a codec per split point", _train, "coinfer_cli.train"),
    "search": Command("step 2: search preserved ratios with an agent", _search, "coinfer_cli.search"),
    "bench": Command("compare searchers under one budget and the same seeds", _bench, "coinfer_cli.bench"),
    "validate": Command("replay a result's best design and check that its reward matches", _validate, "coinfer_cli.validate"),
    "export": Command("step 3: fine-tune the best design longer and save TorchScript", _export, "coinfer_cli.export"),
    "serve": Command("serve an export's server part over TCP (real co-inference)", _serve, "coinfer_cli.serve"),
    "infer": Command("classify images through `coinfer serve`: real bits, measured latency", _infer, "coinfer_cli.infer"),
    "select": Command("pick the fastest stored design for a device and link rate", _select, "coinfer_cli.select_design"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coinfer", description="Device-edge co-inference design (Zhang, Shao, Mao, Zhang 2021) as a Gymnasium problem.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, c in COMMANDS.items():
        p = sub.add_parser(name, help=c.purpose, description=c.purpose, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        c.arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch; bad input becomes one line naming it, and exit status 2."""
    args = build_parser().parse_args(argv)
    run = importlib.import_module(COMMANDS[args.command].module).run
    try:
        return run(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as err:
        print(f"coinfer {args.command}: error: {str(err).splitlines()[0] if _one_line(err) else err}", file=sys.stderr)
        return 2


def _one_line(err: Exception) -> bool:
    # FileNotFoundError messages from the env carry the fixing command on later lines: keep them.
    return not isinstance(err, FileNotFoundError)


if __name__ == "__main__":
    sys.exit(main())
