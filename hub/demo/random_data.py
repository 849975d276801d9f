"""Helpers of the demo data generator (``hub.demo.seed``): seeded random streams, weighted pickers, dates,
money, and the organisation-code check character."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from decimal import Decimal
from typing import Iterable, Sequence

from hub.demo import names as N

# --- check characters ------------------------------------------------------------------------------

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check_char(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code (digits and capital letters)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, _ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


# --- helpers ----------------------------------------------------------------------------------------

YEARS = (2022, 2023, 2024, 2025)
START = dt.date(2022, 1, 1).toordinal()
END = dt.date(2025, 12, 31).toordinal()


class Picker:
    """Weighted choice with precomputed cumulative weights (fast for large tables)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, items: Sequence, weights: Iterable[float]):
        self.items = list(items)
        acc, cum = 0.0, []
        for w in weights:
            acc += w
            cum.append(acc)
        if not self.items or acc <= 0:
            raise ValueError("nothing to choose from")
        self.cum, self.total = cum, acc

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total, 0, len(self.cum) - 1)]


def rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def date_in_year(rng: random.Random, year: int) -> dt.date:
    start = dt.date(year, 1, 1).toordinal()
    return dt.date.fromordinal(start + rng.randrange(dt.date(year, 12, 31).toordinal() - start + 1))


def month_picker(month_weights: Sequence[float], year_weights: Sequence[float]) -> Picker:
    cells = [(y, m) for y in YEARS for m in range(1, 13)]
    weights = [year_weights[y - YEARS[0]] * month_weights[m - 1] for y, m in cells]
    return Picker(cells, weights)


def date_in_month(rng: random.Random, ym: tuple[int, int]) -> dt.date:
    y, m = ym
    first = dt.date(y, m, 1).toordinal()
    last = (dt.date(y + (m == 12), m % 12 + 1, 1)).toordinal()
    return dt.date.fromordinal(first + rng.randrange(last - first))


def quarter(d: dt.date) -> int:
    return (d.year - 2022) * 4 + (d.month - 1) // 3


def quarters_met(start: dt.date, end: dt.date | None) -> int:
    a = max(quarter(start), 0)
    b = 15 if end is None else min(quarter(end), 15)
    return max(0, b - a + 1)


def money(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def section_of(code: str) -> str:
    n = int(code[:2])
    for letter, (lo, hi) in N.SECTION_DIVISIONS.items():
        if lo <= n <= hi:
            return letter
    raise ValueError(code)
