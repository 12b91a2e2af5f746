"""Where coinfer-env reads and writes on this machine, outside the installed package.

| what | default | override |
|---|---|---|
| trained checkpoints (``coinfer train``; the full id reads them) | platformdirs' user data dir / checkpoints | ``COINFER_DATA_DIR``, ``--out``, ``checkpoint_dir`` |
| the evaluation cache (sqlite) | platformdirs' user cache dir | ``COINFER_CACHE_DIR``, ``cache_dir`` |
| torchvision's CIFAR-10 | ``~/.cache/coinfer_env/data`` | ``data_root`` |

The package's own files (the bundled Tiny weights and data) are only ever read.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP = "coinfer-env"
DEFAULT_DATA_ROOT = Path("~/.cache/coinfer_env/data").expanduser()


def bundled_dir() -> Path:
    """The package's own checkpoints (the Tiny, width-8 network): read-only."""
    return Path(str(resources.files("coinfer_env") / "checkpoints"))


def user_checkpoint_dir() -> Path:
    """Where ``coinfer train`` writes by default."""
    root = os.environ.get("COINFER_DATA_DIR")
    return (Path(root).expanduser() if root else platformdirs.user_data_path(APP)) / "checkpoints"


def user_cache_dir() -> Path:
    """Where evaluation caches live by default."""
    root = os.environ.get("COINFER_CACHE_DIR")
    return Path(root).expanduser() if root else platformdirs.user_cache_path(APP)
