"""The schemes the AutoML co-inference paper compares against, behind one interface."""

from .common import Context, Point
from .partition import ServerPNG, SimplePartition
from .ipdr import IPDR
from .paa import PAA
from .schemes import BottleNetPP, Proposed, TwoStepPruning


def scheme(name: str, **kwargs):
    """Build a scheme by name."""
    table = {
        "server-png": ServerPNG, "simple-partition": SimplePartition, "bottlenet++": BottleNetPP,
        "2-step": TwoStepPruning, "paa": PAA, "ipdr": IPDR,
        "proposed-ddpg": lambda **kw: Proposed("ddpg", **kw), "proposed-random": lambda **kw: Proposed("random", **kw),
    }
    if name not in table:
        raise ValueError(f"scheme {name!r} is unknown: choose from {', '.join(table)}")
    return table[name](**kwargs)


SCHEMES = ("server-png", "simple-partition", "bottlenet++", "2-step", "paa", "ipdr", "proposed-ddpg", "proposed-random")

__all__ = ["Context", "Point", "ServerPNG", "SimplePartition", "IPDR", "PAA", "BottleNetPP", "Proposed", "TwoStepPruning",
           "scheme", "SCHEMES"]
