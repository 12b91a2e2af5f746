"""Several seeds of one scheme at one split point, summarised as one design: mean and standard error.

A design's seeds are reruns of the same recipe, so a user choosing among designs
should compare what a rerun can be expected to give, not the luckiest seed.
"""

from __future__ import annotations

import math
import statistics

MEASURES = ("device_flops", "payload_bits", "server_flops", "test_accuracy")


def mean_over_seeds(rows: list[dict], measures: tuple[str, ...] = MEASURES) -> list[dict]:
    """One row per (scheme, split point), in first-seen order: ``seeds``, ``epochs`` and, per measure, the mean and
    ``<measure>_se`` (the sample standard deviation over the root of the seed count; 0 for one seed)."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["scheme"], int(r["split_point"])), []).append(r)
    out = []
    for (name, k), rs in groups.items():
        row = {"scheme": name, "split_point": k, "seeds": len(rs), "epochs": rs[0].get("epochs", "")}
        for m in measures:
            v = [float(r[m]) for r in rs]
            row[m] = statistics.mean(v)  # exact arithmetic: seeds that agree give their value and an s.e. of exactly 0
            row[f"{m}_se"] = statistics.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else 0.0
        out.append(row)
    return out
