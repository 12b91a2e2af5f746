"""Structured (filter) pruning of a split network by preserved ratios.

``prune(net, ratios)`` keeps, in each prunable layer, the filters (or FC neurons)
whose weights have the largest L1 norm (Li et al., "Pruning filters for efficient
ConvNets"), and returns a new, physically smaller ``SplitNetwork``: the dropped
filters, their BN channels and the matching inputs of the consuming layer are gone.

The new network is allocated on the meta device and filled by slicing the old
state dict, so pruning costs one copy of the weights and no re-initialisation.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .architecture import kept_from_ratios
from .network import SplitNetwork


def l1_keep(weight: torch.Tensor, n: int) -> torch.Tensor:
    """Indices (ascending) of the ``n`` output slices of ``weight`` with largest L1 norm.

    Ties go to the lower index, so the choice is deterministic.
    """
    norms = weight.detach().abs().flatten(1).sum(1)
    order = torch.argsort(norms, descending=True, stable=True)
    return order[:n].sort().values


def _slices(net: SplitNetwork, kept: Sequence[int]) -> dict[str, tuple[torch.Tensor | None, torch.Tensor | None]]:
    """State-dict prefix -> (kept output indices, kept input indices)."""
    sd = net.state_dict()
    out: dict[str, tuple[torch.Tensor | None, torch.Tensor | None]] = {}
    for j in range(net.config.split_point):
        p = f"device.blocks.{j}"
        idx1 = l1_keep(sd[f"{p}.conv1.weight"], kept[2 * j])
        idx2 = l1_keep(sd[f"{p}.conv2.weight"], kept[2 * j + 1])
        out[f"{p}.conv1"], out[f"{p}.bn1"] = (idx1, None), (idx1, None)
        out[f"{p}.conv2"], out[f"{p}.bn2"] = (idx2, idx1), (idx2, None)
        out[f"{p}.conv3"] = (None, idx2)
    enc = l1_keep(sd["device.encoder.conv.weight"], kept[-2])
    sym = l1_keep(sd["device.encoder.fc.weight"], kept[-1])
    # The flattened encoder output holds each channel's h*w pixels contiguously.
    pixels = sd["device.encoder.fc.weight"].shape[1] // sd["device.encoder.conv.weight"].shape[0]
    columns = (enc[:, None] * pixels + torch.arange(pixels, device=enc.device)).flatten()
    out["device.encoder.conv"], out["device.encoder.bn"] = (enc, None), (enc, None)
    out["device.encoder.fc"] = (sym, columns)
    out["server.decoder.fc"] = (None, sym)
    if net.config.prune_decoder:  # mirror the encoder: keep the decoder channels the deconv weighs most
        deconv = sd["server.decoder.deconv.weight"]  # (in = decoder channels, out, k, k)
        dec = l1_keep(deconv, kept[-2])
        rows = (dec[:, None] * pixels + torch.arange(pixels, device=dec.device)).flatten()
        out["server.decoder.fc"] = (rows, sym)
        out["server.decoder.deconv"] = (dec, None)
    return out


def consumer_slices(net: SplitNetwork, kept: Sequence[int]) -> dict[str, torch.Tensor | None]:
    """Name of each conv or linear layer that loses inputs when ``net`` is pruned to ``kept`` -> its kept outputs.

    The kept outputs are ``None`` where the layer keeps all of them. These are the
    layers whose weights a reconstruction refits.
    """
    sd = net.state_dict()
    out = {}
    for prefix, (out_idx, in_idx) in _slices(net, kept).items():
        weight = sd.get(f"{prefix}.weight")
        if in_idx is not None and weight is not None and weight.dim() > 1 and len(in_idx) < weight.shape[1]:
            out[prefix] = out_idx
    return out


def prune(net: SplitNetwork, preserved_ratios: Sequence[float]) -> SplitNetwork:
    """A new network keeping ``min(c, max(1, round(a_i c)))`` channels of layer i.

    ``preserved_ratios`` has one entry in [0, 1] per ``net.prunable_layers`` entry.
    ``net`` is left untouched; the result is on the same device and in the same
    train/eval mode.
    """
    kept = kept_from_ratios(net.config, preserved_ratios)
    # Ratios count against the unpruned width; an already pruned layer can only shrink.
    kept = tuple(min(k, have) for k, have in zip(kept, net.kept))
    return prune_to(net, kept)


def prune_to(net: SplitNetwork, kept: Sequence[int]) -> SplitNetwork:
    """Like :func:`prune`, with the kept channel counts given directly."""
    slices = _slices(net, kept)
    with torch.device("meta"):
        small = SplitNetwork(net.config, kept, channel=net.channel.clone())
    state = {}
    for key, tensor in net.state_dict().items():
        prefix = key.rsplit(".", 1)[0]
        out_idx, in_idx = slices.get(prefix, (None, None))
        copied = False
        if tensor.dim() and out_idx is not None:
            tensor, copied = tensor.index_select(0, out_idx.to(tensor.device)), True
        if tensor.dim() > 1 and in_idx is not None:
            tensor, copied = tensor.index_select(1, in_idx.to(tensor.device)), True
        state[key] = tensor if copied else tensor.clone()  # index_select already copied
    small.load_state_dict(state, assign=True)
    return small.train(net.training)
