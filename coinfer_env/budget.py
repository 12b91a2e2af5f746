"""The budget-constrained mode: AMC's action wall, which keeps FLOPs and bits budgets reachable.

With ``flops_budget`` (a fraction of the unpruned device FLOPs, the reward's
Lambda) and/or ``bits_budget`` (a fraction of the unpruned payload, Omega), each
action is limited, before it is applied, to the largest preserved ratio that still
lets the budgets be met if every later layer kept only one channel (He et al.,
"AMC", ECCV 2018, section 3.3). Every finished episode therefore meets its
budgets, and the reward can be the accuracy alone.
"""

from __future__ import annotations

from typing import Callable, Sequence


class ActionWall:
    """Limits each layer's preserved ratio so that the budgets stay reachable.

    ``device_flops(kept)`` gives the FLOPs the budget counts (the env's
    :class:`~coinfer_env.accounting.DeviceFlopsModel`); bits are the encoder FC's
    kept symbols times ``bits_per_symbol``.
    """

    def __init__(self, full: Sequence[int], device_flops: Callable[[Sequence[int]], int], flops_original: int,
                 bits_original: int, bits_per_symbol: int, flops_budget: float | None, bits_budget: float | None) -> None:
        self.full, self.device_flops = tuple(full), device_flops
        self.max_flops = None if flops_budget is None else flops_budget * flops_original
        self.max_symbols = None if bits_budget is None else int(bits_budget * bits_original // bits_per_symbol)
        least = device_flops([1] * len(full))
        if self.max_flops is not None and least > self.max_flops:
            raise ValueError(f"flops_budget={flops_budget} is infeasible: one channel per layer still costs "
                             f"{least / flops_original:.4f} of the unpruned device FLOPs; give at least that")
        if self.max_symbols is not None and self.max_symbols < 1:
            raise ValueError(f"bits_budget={bits_budget} is infeasible: one symbol is {bits_per_symbol / bits_original:.2e} "
                             "of the unpruned payload; give at least that")

    def max_kept(self, i: int, kept_before: Sequence[int]) -> int:
        """The most channels layer i may keep, given the earlier layers' choices."""
        hi = self.full[i]
        if self.max_symbols is not None and i == len(self.full) - 1:
            hi = min(hi, self.max_symbols)
        if self.max_flops is None:
            return hi
        rest = [1] * (len(self.full) - i - 1)

        def fits(k: int) -> bool:
            return self.device_flops([*kept_before, k, *rest]) <= self.max_flops

        lo = 1  # feasible: the wall kept every earlier step feasible
        while lo < hi:  # FLOPs grow with k: binary search the largest k that fits
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
        return lo

    def limit(self, i: int, kept_before: Sequence[int], ratio: float) -> float:
        """``ratio`` or the largest ratio that keeps the budgets reachable, whichever is smaller."""
        return min(ratio, self.max_kept(i, kept_before) / self.full[i])
