"""The Gymnasium environment: choose a preserved ratio for each prunable layer."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from . import calibration as calib
from . import checkpoints as ckpt
from .accounting import DeviceFlopsModel, cost
from . import render as pictures
from .architecture import SplitConfig, full_kept, kept_count, prunable_layers
from .budget import ActionWall
from .cache import ResultCache, array_digest, code_digest, fingerprint
from .channels import CHANNELS, SNR_CONVENTIONS, make_channel
from .data import DATASETS, DEFAULT_DATA_ROOT, load
from .evaluation import METHODS, EvalSettings, Evaluator
from .hardware import device_name
from .network import SplitNetwork
from .paths import user_cache_dir, user_checkpoint_dir
from .rng import require_deterministic_cublas, seeded
from . import validation as check


def harmonic(x: float, y: float) -> float:
    """H(x, y) = 2xy / (x + y), and 0 when x + y = 0."""
    return 0.0 if x + y == 0 else 2 * x * y / (x + y)


def reward_terms(accuracy: float, flops: int, flops_original: int, bits: int, bits_original: int, beta: float) -> dict:
    """The paper's F1-style reward and its parts."""
    nu = min(1.0, max(0.0, 1 - flops / flops_original))
    rho = min(1.0, max(0.0, 1 - bits / bits_original))
    r1, r2, r3 = harmonic(accuracy, nu), harmonic(accuracy, rho), harmonic(nu, rho)
    return {"nu": nu, "rho": rho, "R1": r1, "R2": r2, "R3": r3, "reward": (r1 + r2 + beta * r3) / 3}


class CoInferEnv(gym.Env):
    """Prune a split ResNet-50 layer by layer for device-edge co-inference.

    One episode visits each prunable layer of the device part in order (conv1 and
    conv2 of blocks 1..k, then the encoder conv, then the encoder FC) and the agent
    gives each a *preserved ratio*. After the last one the network is pruned,
    recovered (``evaluation``: the paper's slight fine-tune, or a cheaper, more
    faithful method, see below) and scored (Zhang, Shao, Mao, Zhang 2021,
    Algorithm 1).

    ## Action Space
    ``Box(0, 1, (1,), float32)``: the preserved ratio a_i of the current layer; it
    keeps ``min(c, max(1, round(a_i c)))`` of its c filters (largest L1 norm).
    Values outside [0, 1] are clipped (``preserved_ratios`` in the final info shows
    the ratios as applied); NaN, inf or a wrong shape raise ``ValueError``. With
    ``flops_budget`` or ``bits_budget`` each ratio is also limited to the largest
    one that keeps the budgets reachable (AMC's action wall, :mod:`coinfer_env.budget`).

    ## Observation Space
    ``Box(0, 1, (12,), float32)``, the paper's equation (1), for the current layer i
    of the L = 2k + 2 layers:

    | idx | feature | meaning |
    |-----|---------|---------|
    | 0 | i | layer index / (L - 1) |
    | 1 | type | 0 conv, 1 fc |
    | 2 | k | kernel size, min-max scaled over the episode's layers |
    | 3 | stride | stride, min-max scaled |
    | 4 | c_in | input channels (features for fc), min-max scaled |
    | 5 | c_out | output channels (neurons for fc), min-max scaled |
    | 6 | f_in | input spatial size (features for fc), min-max scaled |
    | 7 | FLOPs_i | the layer's unpruned FLOPs, min-max scaled |
    | 8 | reduced_i | device FLOPs removed by the earlier actions / Lambda |
    | 9 | rest_i | unpruned FLOPs of the later prunable layers / Lambda |
    | 10 | d_i | unpruned encoder payload / Omega at the last step, else 0 |
    | 11 | a_{i-1} | the previous action as applied; 1.0 at the first step |

    Static features use the unpruned network; a min-max feature is 0 when all
    layers share one value. Values are clipped into [0, 1].

    ## Rewards
    0 on every step but the last. On the last, with kappa the validation accuracy
    after the ``evaluation`` method's recovery (mapped by the monotone calibration
    map shipped with the weights when ``calibrated=True``),
    nu = clip(1 - lambda/Lambda, 0, 1) and rho = clip(1 - omega/Omega, 0, 1):
    ``reward = (H(kappa, nu) + H(kappa, rho) + beta H(nu, rho)) / 3`` with
    H(x, y) = 2xy / (x + y) (0 when x + y = 0). Lambda: FLOPs of the unpruned
    backbone up to the split; lambda: pruned device part with its encoder; Omega:
    the raw split feature at 32 bits; omega: symbols sent x bits per symbol.

    | mode | reward on the last step |
    |------|-------------------------|
    | default | the paper's blend above, a float |
    | ``flops_budget`` / ``bits_budget`` set | kappa alone (AMC); the blend is in ``info["paper_reward"]`` |
    | ``vector_reward=True`` | ``np.array([kappa, nu, rho])``, with ``reward_space`` Box(0, 1, (3,)) (MO-Gymnasium) |

    | ``evaluation`` | recovery before kappa is read | budget kwargs |
    |----------------|-------------------------------|---------------|
    | ``finetune`` | the paper's slight fine-tune of device part and codec (Adam) | ``finetune_steps``, ``finetune_batch``, ``finetune_lr`` |
    | ``adaptive-bn`` | BN statistics re-estimated, no gradient step (EagleEye) | ``bn_batches`` x ``finetune_batch`` images |
    | ``reconstruct`` | least-squares refit of each layer whose inputs were pruned, then adaptive BN (ThiNet, AMC) | ``bn_batches`` |
    | ``distill`` | fine-tune toward the unpruned network's logits and decoder output | ``finetune_steps`` |
    | ``adaptive-bn+finetune``, ``reconstruct+finetune``, ``reconstruct+distill`` | the stages in turn | both |
    | ``finetune-whole`` | like ``finetune``, every layer trains, the server included (the export recipe's scope) | ``finetune_steps``, ``finetune_batch``, ``finetune_lr`` |

    How well each ranks designs against their deployed accuracy is measured by
    benchmarks/reward_fidelity.py (docs/environment.md).

    ## Episode End
    ``terminated`` is True after the L-th step (the encoder FC); ``truncated`` is
    always False. Stepping again before ``reset`` raises ``RuntimeError``.

    ## Final info
    ``accuracy, accuracy_raw, flops, flops_original, bits, bits_original, nu, rho,
    R1, R2, R3, reward, preserved_ratios, kept, eval_seconds, cache_hit`` (and
    ``paper_reward`` in the budget mode); ``accuracy_raw`` is kappa before
    calibration. After it, ``env.unwrapped.last_model`` is the pruned, recovered
    ``SplitNetwork``.
    ``env.unwrapped.evaluate(ratios)`` gives the same info for a whole ratio vector
    in one call; ``env.unwrapped.num_layers`` is L.

    ## Rendering
    ``render_mode="ansi"``: a text table of the layers with their kept channels;
    ``"rgb_array"``: the same as a bar chart of kept against original channels,
    titled with the last episode's accuracy, FLOPs and bits.

    ## Arguments
    See docs/environment.md for every keyword and its default.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2, "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        width: int = 8,
        split_point: int = 13,
        prune_decoder: bool = False,
        beta: float = 0.5,
        channel: str = "ideal",
        snr_db: float = 20.0,
        snr_convention: str = "average",
        erasure_prob: float = 0.1,
        flip_prob: float = 0.01,
        bits: int = 8,
        finetune_steps: int = 16,
        finetune_batch: int = 64,
        finetune_lr: float = 1e-3,
        evaluation: str = "reconstruct",
        bn_batches: int = 8,
        calibrated: bool = False,
        flops_budget: float | None = None,
        bits_budget: float | None = None,
        vector_reward: bool = False,
        eval_images: int = 1000,
        dataset: str = "cifar10-subset",
        data_root: str | Path = DEFAULT_DATA_ROOT,
        download: bool = False,
        checkpoint_dir: str | Path | None = None,
        pretrained: bool = True,
        device: str = "auto",
        cache: bool = True,
        cache_dir: str | Path | None = None,
        eval_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        kw = _check_kwargs(locals())  # from here on only the checked, normalised values are used
        eval_seed, eval_images = kw["eval_seed"], kw["eval_images"]
        self.config = SplitConfig(kw["width"], kw["split_point"], prune_decoder=kw["prune_decoder"])
        self.beta = kw["beta"]
        self.channel_settings = {k: kw[k] for k in ("bits", "snr_db", "snr_convention", "erasure_prob", "flip_prob")}
        self.channel_name = channel
        make_channel(channel, **self.channel_settings)  # validates the settings now
        _warn_ignored(channel, kw)
        self.eval_settings = EvalSettings(kw["evaluation"], kw["finetune_steps"], kw["finetune_batch"], kw["finetune_lr"],
                                          kw["bn_batches"], eval_seed)
        self.torch_device = resolve_device(device)
        if self.torch_device.type == "cuda":
            require_deterministic_cublas()
        self.checkpoint_dir = kw["checkpoint_dir"] or default_checkpoint_dir(self.config)

        data = load(dataset, data_root, download, seed=eval_seed)  # fails fast with the fix
        weights = self._weights_file() if pretrained else None
        if eval_images > len(data.val):
            raise ValueError(f"eval_images={eval_images} is invalid: dataset {dataset!r} has {len(data.val)} validation images")
        val = data.val.take(slice(0, eval_images))
        self.trained = self._load_network(weights, eval_seed)
        self.evaluator = Evaluator(self.trained, data.train, val, self.eval_settings)
        self.weights_sha256 = ckpt.split_digest(self.checkpoint_dir, self.config.width, self.config.split_point) if weights else None
        self.calibration = self._calibration(weights) if kw["calibrated"] else None
        self.layers = prunable_layers(self.config)
        self.full_kept = full_kept(self.config)
        self._static = _static_features(self.layers)
        self._unpruned = cost(self.config, None, self.trained.bits_per_symbol)
        self._device_flops = DeviceFlopsModel(self.config)  # keeps each step in microseconds
        self.flops_budget, self.bits_budget = kw["flops_budget"], kw["bits_budget"]
        self._wall = None if self.flops_budget is None and self.bits_budget is None else ActionWall(
            self.full_kept, self._device_flops, self._unpruned.flops_original, self._unpruned.bits_original,
            self.trained.bits_per_symbol, self.flops_budget, self.bits_budget)
        self.render_mode = kw["render_mode"]
        self.vector_reward = kw["vector_reward"]
        if self.vector_reward:  # MO-Gymnasium's convention: its wrappers read env.unwrapped.reward_space
            self.reward_space = spaces.Box(0.0, 1.0, (3,), np.float32)
            self.reward_dim = 3
        self._last_info: dict | None = None
        self._cache_base = self._cache_fingerprint(weights, data, val) if cache else None
        self._cache = ResultCache((kw["cache_dir"] or user_cache_dir()) / "eval-cache.sqlite") if cache else None

        self.action_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.observation_space = spaces.Box(0.0, 1.0, (12,), np.float32)
        self._last_model: SplitNetwork | None = None
        self._pending_kept: tuple[int, ...] | None = None
        self._step = -1  # -1: reset needed
        self._ratios: list[float] = []

    # -- set-up helpers ------------------------------------------------------------
    def _weights_file(self) -> Path:
        path = ckpt.split_file(self.checkpoint_dir, self.config.width, self.config.split_point)
        if not path.exists():
            raise FileNotFoundError(
                f"no trained weights at {path}. Train them (step 1 of the paper) with\n"
                f"    coinfer train --env CoInfer-ResNet50{'-Tiny' if self.config.width == 8 else ''}-v0 "
                f"--splits {self.config.split_point} --device cuda"
                f"{'' if self.checkpoint_dir == user_checkpoint_dir() else f' --out {self.checkpoint_dir}'}\n"
                "or pass pretrained=False for random weights (tests and timing)."
            )
        return path

    def _load_network(self, weights: Path | None, seed: int) -> SplitNetwork:
        with seeded(seed):  # random weights (pretrained=False) are repeatable; the caller's RNG is untouched
            net = SplitNetwork(self.config, channel=make_channel(self.channel_name, **self.channel_settings))
        if weights is not None:
            net.load_state_dict(ckpt.load_split(self.checkpoint_dir, self.config.width, self.config.split_point))
        return net.to(self.torch_device).eval()

    def _calibration(self, weights: Path | None) -> calib.Calibration:
        if weights is None:
            raise ValueError("calibrated=True needs trained weights: a fit belongs to them; drop pretrained=False")
        return calib.lookup(self.checkpoint_dir, self.config.width, self.config.split_point, self.weights_sha256, self.eval_settings)

    def _cache_fingerprint(self, weights: Path | None, data, val) -> dict:
        """Everything an evaluation's result depends on, besides the kept vector and the thread count."""
        return {
            "weights": self.weights_sha256 or f"random-{self.eval_settings.seed}",
            "data": array_digest(data.train.images, data.train.labels, val.images, val.labels),
            "code": code_digest(),
            "config": self.config,
            "channel": [self.channel_name, self.channel_settings],
            "evaluation": self.eval_settings,
            "device": device_name(self.torch_device),
            "torch": torch.__version__,
        }

    def provenance(self) -> dict:
        """What a result depends on beyond the env's keywords, for ``coinfer validate``: code, weights, calibration map,
        torch, threads and device (the GPU, or the CPU's model and kernel level: :func:`coinfer_env.hardware.device_name`).
        The map lives beside the weights, outside the code digest, so it is named here."""
        return {
            "code": code_digest(),
            "weights_sha256": self.weights_sha256,
            "calibration": self.calibration.digest() if self.calibration is not None else None,
            "torch": str(torch.__version__),  # a TorchVersion would not load with weights_only=True
            "threads": torch.get_num_threads(),
            "device": device_name(self.torch_device),
        }

    def _cache_key(self) -> str:
        # read at every use: a caller may change the thread count after making the env
        return fingerprint({**self._cache_base, "threads": torch.get_num_threads()})

    # -- the MDP -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._step, self._ratios, self._last_info = 0, [], None
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._step < 0:
            raise RuntimeError("the episode has ended (or never began): call env.reset() before env.step()")
        self._ratios.append(self._applied(self._step, action))
        self._step += 1
        if self._step < len(self.layers):
            return self._observation(), self._reward(None), False, False, {}
        self._step = -1
        info = self._finish()
        obs = self._observation_at(len(self.layers) - 1)
        return obs, self._reward(info), True, False, info

    def _reward(self, info: dict | None) -> float | np.ndarray:
        """The scalar reward, or with ``vector_reward=True`` the vector (accuracy, nu, rho); zero before the last step."""
        if self.vector_reward:
            return np.zeros(3, np.float32) if info is None else np.array([info["accuracy"], info["nu"], info["rho"]], np.float32)
        return 0.0 if info is None else float(info["reward"])

    def _kept(self, ratios: list[float]) -> tuple[int, ...]:
        return tuple(kept_count(a, c) for a, c in zip(ratios, self.full_kept))

    @property
    def num_layers(self) -> int:
        """The episode length L = 2k + 2: one step per prunable layer (``self.layers``, in order)."""
        return len(self.layers)

    def evaluate(self, ratios: Any) -> dict:
        """Score a whole vector of preserved ratios in one call, as an episode playing them would.

        Returns the same final info dict (through the same cache); values outside
        [0, 1] are clipped as ``step`` clips them. Any episode in progress is ended.
        """
        values = np.asarray(ratios, dtype=np.float64).reshape(-1)
        if values.shape != (self.num_layers,):
            raise ValueError(f"ratios has {values.size} entries; split point {self.config.split_point} has {self.num_layers} layers")
        self._ratios, self._step = [], -1
        for i, a in enumerate(values):
            self._ratios.append(self._applied(i, a))
        return self._finish()

    def _applied(self, i: int, action: Any) -> float:
        """Layer i's ratio as applied: checked, clipped into [0, 1], then limited by the budgets' action wall."""
        ratio = _check_action(action)
        return ratio if self._wall is None else self._wall.limit(i, self._kept(self._ratios[:i]), ratio)

    def _finish(self) -> dict:
        kept = self._kept(self._ratios)
        c = cost(self.config, kept, self.trained.bits_per_symbol)
        start = time.perf_counter()
        key = self._cache_key() if self._cache is not None else ""
        hit = self._cache.get(key, kept) if self._cache is not None else None
        self._pending_kept = None
        if hit is None:
            evaluation, self._last_model = self.evaluator.evaluate(kept)
            raw = evaluation.accuracy
            if self._cache is not None:
                self._cache.put(key, kept, {"accuracy": raw})
        else:
            raw = hit["accuracy"]
            self._last_model, self._pending_kept = None, kept  # rebuilt on first access
        accuracy = self.calibration(raw) if self.calibration is not None else raw
        terms = reward_terms(accuracy, c.flops, c.flops_original, c.bits, c.bits_original, self.beta)
        if self._wall is not None:  # the budget mode: the reward is the accuracy (AMC); the paper's blend is kept beside it
            terms = {**terms, "reward": accuracy, "paper_reward": terms["reward"]}
        info = {
            "accuracy": accuracy,
            "accuracy_raw": raw,
            "flops": c.flops,
            "flops_original": c.flops_original,
            "bits": c.bits,
            "bits_original": c.bits_original,
            **terms,
            "preserved_ratios": list(self._ratios),
            "kept": list(kept),
            "eval_seconds": time.perf_counter() - start,
            "cache_hit": hit is not None,
        }
        self._last_info = info
        return info

    def render(self) -> str | np.ndarray | None:
        """``ansi``: a text table of the layers and their kept channels; ``rgb_array``: the same as a bar chart."""
        if self.render_mode is None:
            return None
        decided = self._kept(self._ratios)
        kept = list(decided) + [None] * (len(self.layers) - len(decided))
        info = self._last_info if self._step < 0 else None
        return (pictures.ansi if self.render_mode == "ansi" else pictures.rgb_array)(self.layers, kept, info)

    def _observation(self) -> np.ndarray:
        return self._observation_at(self._step)

    def _observation_at(self, i: int) -> np.ndarray:
        L = len(self.layers)
        lam = self._unpruned.flops_original
        partial = self._kept(self._ratios[:i]) + self.full_kept[i:]
        reduced = (self._unpruned.flops - self._device_flops(partial)) / lam
        rest = sum(layer.flops for layer in self.layers[i + 1 :]) / lam
        d = self._unpruned.bits / self._unpruned.bits_original if i == L - 1 else 0.0
        prev = self._ratios[i - 1] if i > 0 else 1.0
        obs = [i / max(1, L - 1), *self._static[i], reduced, rest, d, prev]
        return np.clip(np.asarray(obs, dtype=np.float32), 0.0, 1.0)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    @property
    def last_model(self) -> SplitNetwork | None:
        """The pruned, fine-tuned network of the last finished episode.

        After a cache hit it is rebuilt on first access: the evaluation is
        deterministic, so this is the network the cached result came from.
        """
        if self._pending_kept is not None:
            self._last_model, self._pending_kept = self.evaluator.build(self._pending_kept)[0], None
        return self._last_model


def _static_features(layers: list) -> list[tuple[float, ...]]:
    """(type, k, stride, c_in, c_out, f_in, FLOPs) per layer, min-max scaled over the episode."""
    raw = np.array([[l.kernel, l.stride, l.in_channels, l.out_channels, l.in_size, l.flops] for l in layers], dtype=np.float64)
    lo, hi = raw.min(0), raw.max(0)
    scaled = np.where(hi > lo, (raw - lo) / np.where(hi > lo, hi - lo, 1), 0.0)
    return [(float(l.kind == "fc"), *map(float, row)) for l, row in zip(layers, scaled)]


def _check_action(action: Any) -> float:
    a = np.asarray(action, dtype=np.float64)
    if a.shape not in ((1,), ()):
        raise ValueError(f"action has shape {a.shape}; give one preserved ratio, shape (1,)")
    value = float(a.reshape(()))
    if not math.isfinite(value):
        raise ValueError(f"action {value} is not finite; give a preserved ratio in [0, 1]")
    return min(1.0, max(0.0, value))


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when torch sees a GPU, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but torch sees no GPU: use device='cpu' or 'auto'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device={name!r} is invalid: choose auto, cpu or cuda")
    return torch.device(name)


def default_checkpoint_dir(config: SplitConfig) -> Path:
    """The bundled weights where they exist for this width and split (the Tiny net), else the user's."""
    bundled = ckpt.bundled_dir()
    return bundled if ckpt.split_file(bundled, config.width, config.split_point).exists() else user_checkpoint_dir()


def _warn_ignored(channel: str, kw: dict) -> None:
    """One warning per setting that differs from its default but that ``channel`` does not use."""
    uses = {"ideal": (), "quantize": ("bits",), "awgn": ("snr_db", "snr_convention"), "bec": ("bits", "erasure_prob"),
            "bsc": ("bits", "flip_prob")}
    defaults = {"bits": 8, "snr_db": 20.0, "snr_convention": "average", "erasure_prob": 0.1, "flip_prob": 0.01}
    for name, default in defaults.items():
        if kw[name] != default and name not in uses[channel]:
            warnings.warn(f"{name}={kw[name]!r} is ignored: channel={channel!r} does not use it", UserWarning, stacklevel=4)


def _check_kwargs(kw: dict) -> dict:
    """Every keyword checked and normalised (numpy scalars -> Python); ValueError names the first bad one."""
    return {
        "width": check.integer("width", kw["width"], 1),
        "split_point": check.integer("split_point", kw["split_point"], 1, 16),
        "prune_decoder": check.boolean("prune_decoder", kw["prune_decoder"]),
        "beta": check.number("beta", kw["beta"], 0, 1),
        "channel": check.choice("channel", kw["channel"], CHANNELS),
        "snr_db": check.number("snr_db", kw["snr_db"], -100, 100),
        "snr_convention": check.choice("snr_convention", kw["snr_convention"], SNR_CONVENTIONS),
        "erasure_prob": check.number("erasure_prob", kw["erasure_prob"], 0, 1),
        "flip_prob": check.number("flip_prob", kw["flip_prob"], 0, 1),
        "bits": check.integer("bits", kw["bits"], 1, 16),
        "finetune_steps": check.integer("finetune_steps", kw["finetune_steps"], 0),
        "finetune_batch": check.integer("finetune_batch", kw["finetune_batch"], 1),
        "finetune_lr": check.number("finetune_lr", kw["finetune_lr"], 0, 10, closed_lo=False),
        "evaluation": check.choice("evaluation", kw["evaluation"], tuple(METHODS)),
        "bn_batches": check.integer("bn_batches", kw["bn_batches"], 1),
        "calibrated": check.boolean("calibrated", kw["calibrated"]),
        "eval_images": check.integer("eval_images", kw["eval_images"], 1),
        "dataset": check.choice("dataset", kw["dataset"], DATASETS),
        "download": check.boolean("download", kw["download"]),
        "checkpoint_dir": check.path_or_none("checkpoint_dir", kw["checkpoint_dir"]),
        "pretrained": check.boolean("pretrained", kw["pretrained"]),
        "device": check.choice("device", kw["device"], ("auto", "cpu", "cuda")),
        "cache": check.boolean("cache", kw["cache"]),
        "cache_dir": check.path_or_none("cache_dir", kw["cache_dir"]),
        "eval_seed": check.integer("eval_seed", kw["eval_seed"], 0),
        "flops_budget": None if kw["flops_budget"] is None else check.number("flops_budget", kw["flops_budget"], 0, 1, closed_lo=False),
        "bits_budget": None if kw["bits_budget"] is None else check.number("bits_budget", kw["bits_budget"], 0, 1, closed_lo=False),
        "vector_reward": check.boolean("vector_reward", kw["vector_reward"]),
        "render_mode": None if kw["render_mode"] is None else check.choice("render_mode", kw["render_mode"], ("ansi", "rgb_array")),
    }
