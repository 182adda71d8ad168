"""Worst error in float32 ULPs against the exact (mpmath) value.

Binary cross-entropy with logits over x in [-1e4, 1e4] (a wide grid plus a fine one over
[-120, 120], where saturation and cancellation happen), y in {0, 1, 0.3}; cross-entropy for
confident correct predictions, logits [m, 0, -1] with margins m in [0, 100].

The exact values come from the on-disk cache of lossviz._exact_cache (the first run computes them
with mpmath, about a minute; later runs read them); LOSSVIZ_CACHE=off recomputes.
"""
import time

import torch
import torch.nn.functional as F

from _table import table, ulps
from lossviz import naive, numerics, stable
from lossviz import _exact_cache
from lossviz._exact_cache import cached

BCE = {
    "lossviz.stable": stable.binary_cross_entropy_with_logits,
    "torch F.binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "log(1 + exp(-|x|)) without log1p": naive.bce_with_logits_without_log1p,
    "textbook -(y log p + (1-y) log(1-p))": naive.binary_cross_entropy_with_logits,
    "torch sigmoid + F.binary_cross_entropy": lambda x, y, reduction: F.binary_cross_entropy(torch.sigmoid(x), y, reduction=reduction),
}
CE = {
    "lossviz.stable": stable.cross_entropy,
    "torch F.cross_entropy": F.cross_entropy,
    "textbook log(softmax(z))": naive.cross_entropy,
}


def main(points: int = 200_000) -> str:
    started = time.perf_counter()
    x = torch.cat([torch.linspace(-1e4, 1e4, points + 1), torch.linspace(-120, 120, points + 1)])
    labels = (0.0, 1.0, 0.3)
    exact = {y: cached(numerics.exact_bce_with_logits, x, torch.full_like(x, y)) for y in labels}
    rows = []
    for name, fn in BCE.items():
        row = [name]
        for y in labels:
            loss = fn(x, torch.full_like(x, y), reduction="none")
            row.append(ulps(numerics.ulp_error(loss, exact[y]).max().item()))
        rows.append(row)
    bce = table(["binary cross-entropy, float32", "y = 0", "y = 1", "y = 0.3"], rows)

    margins = torch.linspace(0, 100, 10_001)
    z = torch.stack([margins, torch.zeros_like(margins), torch.full_like(margins, -1.0)], 1)
    target = torch.zeros(len(z), dtype=torch.long)
    exact_ce = cached(numerics.exact_cross_entropy, z, target)
    ce_rows = []
    for name, fn in CE.items():
        errors = numerics.ulp_error(fn(z, target, reduction="none"), exact_ce)
        zero_from = margins[fn(z, target, reduction="none") == 0]
        ce_rows.append([name, ulps(errors.max().item()),
                        f"{zero_from.min().item():.2f}" if len(zero_from) else "never"])
    ce = table(["cross-entropy [m, 0, -1], target 0, float32", "worst ULP", "returns exactly 0 from m ="], ce_rows)
    seconds = time.perf_counter() - started
    return (f"## Accuracy: worst error in float32 ULPs against mpmath ({len(x):,} logits per label)\n\n{bce}\n\n{ce}\n\n"
            f"({seconds:.0f} s; {_cache_note()})\n")


def _cache_note() -> str:
    if not _exact_cache.enabled():
        return "exact values computed afresh: LOSSVIZ_CACHE=off"
    return f"exact values cached in {_exact_cache.directory()}; LOSSVIZ_CACHE=off recomputes them"


if __name__ == "__main__":
    print(main())
