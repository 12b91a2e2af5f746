"""Where trained weights live, and how they are written (atomically) and read (weights only).

Layout of a checkpoint directory, for a network of width W:
    resnet50-wW-backbone.pt        the trained backbone (no codec), canonical names
    resnet50-wW-splitKK.pt         the SplitNetwork at split KK, as what differs from the backbone
                                   file beside it: the codec (in float16) and whatever the joint
                                   fine-tune changed (older files hold the whole network; both load)
    resnet50-wW.json               metadata: accuracy per split, seed, command, versions

Every file is written to a temporary name in the same directory and renamed into
place, so a killed run leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from .network import SplitNetwork
from .paths import bundled_dir  # noqa: F401  (re-exported)

def split_file(directory: Path | str, width: int, split_point: int) -> Path:
    return Path(directory).expanduser() / f"resnet50-w{width}-split{split_point:02d}.pt"


def backbone_file(directory: Path | str, width: int) -> Path:
    return Path(directory).expanduser() / f"resnet50-w{width}-backbone.pt"


def meta_file(directory: Path | str, width: int) -> Path:
    return Path(directory).expanduser() / f"resnet50-w{width}.json"


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; artifacts are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def staged_directory(path: Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it replaces ``path`` whole.

    A kill before the swap leaves the old ``path`` untouched (and a ``.*.tmp``
    directory that :func:`remove_stale_temporaries` clears); the swap itself is two
    renames, so ``path`` holds either every old file or every new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield stage
        old = path.parent / f".{path.name}.old.tmp"
        if path.exists():
            os.replace(path, old)
        os.replace(stage, path)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete what :func:`atomic_write` leaves when a process is killed mid-write; return them."""
    stale = sorted(Path(directory).glob(".*.tmp")) if Path(directory).is_dir() else []
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def save_state(path: Path, state: dict[str, torch.Tensor]) -> None:
    cpu = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write(path, lambda tmp: torch.save(cpu, tmp))


def load_state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def save_json(path: Path, data: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def backbone_state(net: SplitNetwork) -> dict[str, torch.Tensor]:
    """The backbone's weights under split-independent names (stem.*, blocks.J.*, fc.*)."""
    out = {}
    for key, value in net.state_dict().items():
        part, rest = key.split(".", 1)
        if rest.startswith(("stem.", "blocks.")) or (part == "server" and rest.startswith("fc.")):
            out[rest] = value
    return out


def _at_split(state: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """Backbone names (stem.*, blocks.J.*, fc.*) -> a SplitNetwork's names at split ``k``."""
    mapped = {}
    for name, value in state.items():
        if name.startswith("blocks."):
            part = "device" if int(name.split(".")[1]) < k else "server"
        else:
            part = "device" if name.startswith("stem.") else "server"
        mapped[f"{part}.{name}"] = value
    return mapped


def load_backbone(net: SplitNetwork, state: dict[str, torch.Tensor]) -> None:
    """Copy backbone weights (from :func:`backbone_state`) into ``net`` at any split point."""
    mapped = _at_split(state, net.config.split_point)
    missing = [m for m in net.load_state_dict(mapped, strict=False).missing_keys if "coder" not in m]
    if missing:
        raise ValueError(f"backbone checkpoint lacks {missing[:3]}...: was it trained at another width?")


CODEC_DTYPE = torch.float16
"""Codec tensors are stored at half precision: the codecs are most of the shipped bytes."""


def compact_split_state(net: SplitNetwork, backbone: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What a split file stores: the codec (float16) and every tensor that differs from ``backbone``."""
    shared = _at_split(backbone, net.config.split_point)
    out = {}
    for key, value in net.state_dict().items():
        if key in shared and torch.equal(shared[key].cpu(), value.detach().cpu()):
            continue
        out[key] = value.to(CODEC_DTYPE) if "coder" in key and value.is_floating_point() else value
    return out


def load_split(directory: Path | str, width: int, split_point: int) -> dict[str, torch.Tensor]:
    """The full state of the network at ``split_point``: the backbone beside it, overlaid with the split file."""
    backbone = backbone_file(directory, width)
    shared = load_state(backbone) if backbone.exists() else {}
    return expand_split_state(shared, split_point, load_state(split_file(directory, width, split_point)))


def expand_split_state(backbone: dict[str, torch.Tensor], split_point: int, stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`compact_split_state`: the backbone at ``split_point`` overlaid with what was stored."""
    full = _at_split(backbone, split_point)
    full.update({k: v.float() if v.dtype == CODEC_DTYPE else v for k, v in stored.items()})
    return full


def split_digest(directory: Path | str, width: int, split_point: int) -> str:
    """sha256 of everything :func:`load_split` reads."""
    import hashlib

    h = hashlib.sha256()
    for path in (split_file(directory, width, split_point), backbone_file(directory, width)):
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()
