"""``coinfer export``: step 3, the best design of a search fine-tuned longer and saved as TorchScript."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .args import make_env
from .files import check_writable_dir


def run(args: argparse.Namespace) -> int:
    import coinfer_env
    from agents.common import SearchResult
    from coinfer_env.data import Splits, load
    from coinfer_env.export import export
    from coinfer_env.paths import DEFAULT_DATA_ROOT

    result = SearchResult.from_json(Path(args.result))
    if not result.best_info:
        raise ValueError(f"{args.result} has no finished episode to export")
    out = Path(args.out) if args.out else Path(args.result).parent / "export"
    check_writable_dir(out, "--out")
    env = make_env(result.env_id, result.env_kwargs).unwrapped
    kwargs = {**coinfer_env.preset(result.env_id), **result.env_kwargs}
    data = load(kwargs["dataset"], kwargs.get("data_root", DEFAULT_DATA_ROOT))
    data = Splits(data.train.to(env.torch_device), data.val, data.test)
    recovered_by = env.evaluator if args.start == "recovered" else None
    report = export(env.trained, result.best_info["kept"], data, out, args.epochs, args.lr, args.seed, kwargs["dataset"],
                    recovered_by)
    print(json.dumps(report, indent=2))
    print(f"wrote {out}/device.pt, server.pt and export.json")
    return 0
