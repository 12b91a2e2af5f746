"""The registered environment ids and what distinguishes them."""

from __future__ import annotations

FULL_ID = "CoInfer-ResNet50-v0"
TINY_ID = "CoInfer-ResNet50-Tiny-v0"

PRESETS: dict[str, dict] = {
    FULL_ID: {"width": 64, "dataset": "cifar10", "eval_images": 5000},
    TINY_ID: {"width": 8, "dataset": "cifar10-subset", "eval_images": 1000},
}


def preset(env_id: str) -> dict:
    """Preset kwargs of ``env_id`` (with or without the ``coinfer_env:`` prefix)."""
    env_id = env_id.split(":")[-1]
    if env_id not in PRESETS:
        raise ValueError(f"env id {env_id!r} is unknown: choose {FULL_ID} or {TINY_ID}")
    return dict(PRESETS[env_id])
