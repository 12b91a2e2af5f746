"""coinfer-env: device-edge co-inference design as a Gymnasium RL problem.

``import coinfer_env`` registers ``CoInfer-ResNet50-v0`` (width 64, CIFAR-10) and
``CoInfer-ResNet50-Tiny-v0`` (width 8, the bundled CIFAR-10 subset and weights).
"""

import gymnasium

from .accounting import Cost, cost
from .architecture import PrunableLayer, SplitConfig
from .channels import make_channel
from .network import SplitNetwork, build_split_resnet50
from .presets import FULL_ID, PRESETS, TINY_ID, preset
from .pruning import prune, prune_to

for _id in PRESETS:
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="coinfer_env.envs:CoInferEnv", kwargs=preset(_id))

__all__ = [
    "Cost", "cost", "PrunableLayer", "SplitConfig", "make_channel", "SplitNetwork",
    "build_split_resnet50", "prune", "prune_to", "FULL_ID", "TINY_ID",
]
