"""Image data: the bundled CIFAR-10 subset, full CIFAR-10 through torchvision, synthetic.

Images are held as uint8 tensors and normalised per batch on the compute device,
so 50,000 CIFAR images cost 150 MB rather than 600 MB. Validation is carved out of
the *training* set with a fixed permutation (seed 0), as in the paper; the test set
is only used by ``coinfer train`` and ``coinfer export``, never by a search.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .paths import DEFAULT_DATA_ROOT

DATASETS = ("cifar10", "cifar10-subset", "synthetic")
MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
SPLIT_SEED = 0
VAL_SIZE = {"cifar10": 5000, "cifar10-subset": 1000, "synthetic": 1000}
SUBSET_FILE = "cifar10-subset.npz"


@dataclass
class ImageSet:
    """uint8 images (N, 3, 32, 32) and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: torch.Tensor | np.ndarray | slice) -> "ImageSet":
        index = torch.as_tensor(index) if not isinstance(index, slice) else index
        return ImageSet(self.images[index], self.labels[index])

    def to(self, device: torch.device | str) -> "ImageSet":
        return ImageSet(self.images.to(device), self.labels.to(device))


@dataclass
class Splits:
    train: ImageSet
    val: ImageSet
    test: ImageSet


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float, per-channel CIFAR-10 normalisation."""
    x = images.float().div_(255)
    # channels_last: faster convs on CPU, and harmless for contiguous weights.
    return ((x - MEAN.to(x.device)) / STD.to(x.device)).contiguous(memory_format=torch.channels_last)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crop of the 4-pixel zero-padded image and random horizontal flip, per image."""
    n, device = images.shape[0], images.device
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    dy, dx = (torch.randint(0, 9, (2, n), generator=generator, device=generator.device).to(device))
    base = torch.arange(32, device=device)
    rows = (dy[:, None] + base)[:, None, :, None]
    cols = (dx[:, None] + base)[:, None, None, :]
    flip = torch.rand(n, generator=generator, device=generator.device).to(device) < 0.5
    cols = torch.where(flip[:, None, None, None], cols.flip(-1), cols)
    batch = torch.arange(n, device=device)[:, None, None, None]
    chans = torch.arange(3, device=device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def strong_augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Crop-and-flip, then per image torchvision's TrivialAugmentWide and RandomErasing (p 0.25).

    torchvision draws from torch's global generator; it runs here under a seed taken
    from ``generator``, inside ``fork_rng``, so batches are repeatable and the
    caller's global state is left alone.
    """
    from torchvision.transforms import v2

    images = augment(images, generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    ops = v2.Compose([v2.TrivialAugmentWide(), v2.RandomErasing(p=0.25)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = torch.stack([ops(img) for img in images.cpu()])
    return out.to(images.device)


def mix_batch(alpha: float = 1.0, num_classes: int = 10):
    """MixUp or CutMix (one of the two per batch, as torchvision's recipe does) with soft targets."""
    from torchvision.transforms import v2

    ops = v2.RandomChoice([v2.MixUp(alpha=alpha, num_classes=num_classes), v2.CutMix(alpha=alpha, num_classes=num_classes)])

    def mix(x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[x.device.index or 0] if x.is_cuda else []):
            torch.manual_seed(seed)
            return ops(x, labels)

    return mix


def subset_path() -> Path:
    return Path(str(resources.files("coinfer_env") / "data" / SUBSET_FILE))


def _from_arrays(images: np.ndarray, labels: np.ndarray) -> ImageSet:
    return ImageSet(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64)))


def _train_val(train: ImageSet, val_size: int) -> tuple[ImageSet, ImageSet]:
    order = torch.from_numpy(np.random.default_rng(SPLIT_SEED).permutation(len(train)))
    return train.take(order[val_size:]), train.take(order[:val_size])


def load_subset() -> Splits:
    """The bundled 5,085 + 1,017 image subset: 4,085 train, 1,000 val, 1,017 test."""
    with np.load(subset_path()) as z:
        train = _from_arrays(z["train_images"], z["train_labels"])
        test = _from_arrays(z["test_images"], z["test_labels"])
    return Splits(*_train_val(train, VAL_SIZE["cifar10-subset"]), test)


def load_cifar10(root: str | Path = DEFAULT_DATA_ROOT, download: bool = False) -> Splits:
    """Full CIFAR-10 via torchvision: 45,000 train, 5,000 val, 10,000 test."""
    root = Path(root).expanduser()
    if not download and not (root / "cifar-10-batches-py").is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 is not at data_root={str(root)!r}. Fetch it with\n"
            f"    python -c \"import torchvision; torchvision.datasets.CIFAR10('{root}', download=True)\"\n"
            "or pass download=True (needs network), or use dataset='cifar10-subset' for the bundled subset."
        )
    from torchvision.datasets import CIFAR10

    sets = [CIFAR10(str(root), train=t, download=download) for t in (True, False)]
    train, test = (_from_arrays(s.data.transpose(0, 3, 1, 2), np.asarray(s.targets)) for s in sets)
    return Splits(*_train_val(train, VAL_SIZE["cifar10"]), test)


def load_synthetic(seed: int = 0, train_size: int = 512, val_size: int = 1000, test_size: int = 256) -> Splits:
    """Seeded random images and labels: for tests and timing, not for accuracy."""
    g = torch.Generator().manual_seed(seed)

    def make(n: int) -> ImageSet:
        return ImageSet(torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8), torch.randint(0, 10, (n,), generator=g))

    return Splits(make(train_size), make(val_size), make(test_size))


def load(dataset: str, data_root: str | Path = DEFAULT_DATA_ROOT, download: bool = False, seed: int = 0) -> Splits:
    if dataset == "cifar10-subset":
        return load_subset()
    if dataset == "cifar10":
        return load_cifar10(data_root, download)
    if dataset == "synthetic":
        return load_synthetic(seed)
    raise ValueError(f"dataset={dataset!r} is unknown: choose one of {', '.join(DATASETS)}")
