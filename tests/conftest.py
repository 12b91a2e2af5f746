import os

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _user_directories(tmp_path_factory):
    """Tests (and the commands they run in subprocesses) never touch the real user directories."""
    root = tmp_path_factory.mktemp("user")
    saved = {k: os.environ.get(k) for k in ("COINFER_CACHE_DIR", "COINFER_DATA_DIR")}
    os.environ["COINFER_CACHE_DIR"], os.environ["COINFER_DATA_DIR"] = str(root / "cache"), str(root / "data")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
