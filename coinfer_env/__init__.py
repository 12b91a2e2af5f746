"""coinfer-env: device-edge co-inference design as a Gymnasium RL problem."""
from .architecture import PrunableLayer, SplitConfig
from .accounting import Cost, cost
from .channels import make_channel
from .network import SplitNetwork, build_split_resnet50
from .pruning import prune, prune_to
