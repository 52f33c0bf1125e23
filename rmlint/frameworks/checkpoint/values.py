"""Statistics of one tensor's values, decoded without numpy, and whether they look untrained.

The bands follow checkpoints.md section 6: a head still at OpenRLHF's init N(0, 1/(h+1)) has its
std within 1 +- 4/sqrt(2n) of that sigma, |mean| <= 4 sigma/sqrt(n) and kurtosis within
3 +- 4 sqrt(24/n). Training at reward-model learning rates moves an OpenRLHF-initialised head out
of that band within ~50 steps; it barely moves an N(0, 0.02) or nn.Linear-uniform head, so a
match with those is reported as inconclusive, never as a verdict.
"""

import math
from array import array

MAX_HEAD_BYTES = 4 * 1024 * 1024   # a real head is [labels, hidden]: 64 KB at hidden 16,384 in F32


def decode(data: bytes, dtype: str) -> list | None:
    if dtype == "F32":
        values = array("f", data)
    elif dtype == "F64":
        values = array("d", data)
    elif dtype == "BF16":            # the high half of an IEEE float32
        wide = bytearray(2 * len(data))
        wide[2::4], wide[3::4] = data[0::2], data[1::2]
        values = array("f", bytes(wide))
    elif dtype == "F16":
        import struct
        values = struct.unpack(f"<{len(data) // 2}e", data)
    else:
        return None
    return list(values)


def statistics(values: list) -> dict:
    n = len(values)
    finite = [v for v in values if math.isfinite(v)]
    stats = {"n": n, "nonfinite": n - len(finite), "zeros": sum(1 for v in values if v == 0.0),
             "mean": 0.0, "std": 0.0, "max_abs": 0.0, "kurtosis": 0.0, "constant": False}
    if not finite:
        return stats
    mean = math.fsum(finite) / len(finite)
    m2 = math.fsum((v - mean) ** 2 for v in finite) / len(finite)
    m4 = math.fsum((v - mean) ** 4 for v in finite) / len(finite)
    stats.update(mean=mean, std=math.sqrt(m2), max_abs=max(abs(v) for v in finite),
                 kurtosis=m4 / (m2 * m2) if m2 > 0 else 0.0, constant=m2 == 0.0)
    return stats


def _normal_at(stats: dict, sigma: float) -> bool:
    n = stats["n"]
    return (abs(stats["std"] / sigma - 1) <= 4 / math.sqrt(2 * n)
            and abs(stats["mean"]) <= 4 * sigma / math.sqrt(n)
            and abs(stats["kurtosis"] - 3) <= 4 * math.sqrt(24 / n))


def init_match(stats: dict, hidden: int, initializer_range: float) -> tuple:
    """(init, confidence): which initialisation the values are indistinguishable from (`openrlhf`: N(0,
    1/(h+1)); `hf`: N(0, initializer_range); `linear`: nn.Linear's uniform), and how sure that is."""
    n = stats["n"]
    if n < 16 or stats["nonfinite"] or stats["constant"]:
        return "", ""
    if hidden and _normal_at(stats, 1 / (hidden + 1)):
        return "openrlhf", "medium" if n >= 1024 else "low"
    if _normal_at(stats, initializer_range):
        return "hf", "inconclusive"
    if hidden and stats["max_abs"] <= 1 / math.sqrt(hidden) and abs(stats["kurtosis"] - 1.8) <= 4 * math.sqrt(1 / n):
        return "linear", "inconclusive"
    return "", ""
