"""Small, exact statistics over integer samples (no numpy in the runtime dependencies)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sample: the smallest value with at least ``q``
    percent of the sample at or below it (``q`` in (0, 100])."""
    if not ordered:
        raise ValueError("percentile of an empty sample")
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def binomial_halfwidth(fraction: float, trials: int, z: float = 1.96) -> float:
    """Half-width of the normal-approximation confidence interval of a measured fraction
    (z = 1.96: 95%)."""
    if trials <= 0:
        return 0.0
    return z * math.sqrt(max(fraction * (1 - fraction), 0.0) / trials)


def rounded(value: float, places: int = 4) -> float:
    """Round a reported figure: four decimals keep 0.01% resolution on fractions."""
    return round(value, places)
