"""Mean ± sample standard deviation over seeds, as the experiment tables print it (detections_table.py still prints
the population deviation of its documented table)."""

from __future__ import annotations

import math


def mean_std(values) -> tuple[float, float]:
    """(mean, sample standard deviation) of a non-empty sequence; the deviation of one value is 0."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def cell(values, digits: int = 1) -> str:
    """ "mean ± std" of the seeds' values, "–" for none."""
    if not len(values):
        return "–"
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
