"""Time structure of the demo data's demand and supply per occupation (issue 16: the demand forecast needs
history with real structure to be fitted and backtested on).

Without it every occupation's postings and seekers would follow one city-wide calendar (``hub.demo.random_data.month_picker``'s month
and year weights), so an occupation's quarterly series would be that calendar plus noise. Here each occupation gets,
from its own seeded stream (``random.Random(f"{seed}:structure:{code}")``, so adding an occupation changes no
other):

* a **trend**: demand grows by ``growth`` per year, drawn uniformly in [-15 %, +25 %] (so some occupations shrink);
* a **seasonality**: demand in quarter q is multiplied by ``1 + amplitude * cos(2π (q - peak) / 4)``, amplitude
  uniform in [0.1, 0.5], ``peak`` the quarter (1-4) of highest demand;
* supply (seekers) follows half the occupation's growth (people retrain slower than firms hire) and the common
  calendar's seasonality only.

How it is applied, keeping every other generated value the same: a date drawn from the common calendar is
carried to the occupation's calendar by its quantile (the share of the common calendar's weight before the date
becomes the same share of the occupation's calendar, with the same position inside the month). No random number
is drawn here, so the generator's streams — and every enterprise, occupation, headcount, name or duration — are
unchanged; only the dates of postings and seekers move.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Sequence

GROWTH = (-0.15, 0.25)
AMPLITUDE = (0.1, 0.5)
SUPPLY_GROWTH_SHARE = 0.5


@dataclass(frozen=True)
class Structure:
    """One occupation's trend and seasonality (the documented truth a forecast should find)."""

    growth: float     # per year
    amplitude: float  # seasonal, relative
    peak: int         # quarter 1-4 of highest demand

    def demand_factor(self, year_index: int, month: int) -> float:
        quarter = (month - 1) // 3 + 1
        season = 1 + self.amplitude * math.cos(2 * math.pi * (quarter - self.peak) / 4)
        return (1 + self.growth) ** year_index * season

    def supply_factor(self, year_index: int, month: int) -> float:
        return (1 + SUPPLY_GROWTH_SHARE * self.growth) ** year_index


def structure(seed: int, occupation_code: str) -> Structure:
    rng = random.Random(f"{seed}:structure:{occupation_code}")
    return Structure(growth=rng.uniform(*GROWTH), amplitude=rng.uniform(*AMPLITUDE), peak=rng.randint(1, 4))


class Calendar:
    """Months of the demo years with weights; carries a date of one calendar to another by quantile."""

    def __init__(self, years: Sequence[int], weights: Sequence[float]):
        self.cells = [(y, m) for y in years for m in range(1, 13)]
        if len(weights) != len(self.cells):
            raise ValueError("one weight per month")
        self.cum, acc = [], 0.0
        for w in weights:
            acc += w
            self.cum.append(acc)
        self.total = acc

    def quantile(self, d: dt.date) -> float:
        i = self.cells.index((d.year, d.month))
        first = dt.date(d.year, d.month, 1).toordinal()
        days = _month_days(d.year, d.month)
        before = self.cum[i - 1] if i else 0.0
        return (before + (self.cum[i] - before) * (d.toordinal() - first + 0.5) / days) / self.total

    def at(self, q: float) -> dt.date:
        target = q * self.total
        i = min(bisect.bisect_left(self.cum, target), len(self.cum) - 1)
        before = self.cum[i - 1] if i else 0.0
        y, m = self.cells[i]
        frac = (target - before) / (self.cum[i] - before) if self.cum[i] > before else 0.0
        days = _month_days(y, m)
        return dt.date.fromordinal(dt.date(y, m, 1).toordinal() + min(days - 1, max(0, int(frac * days))))


def _month_days(y: int, m: int) -> int:
    return (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.date(y, m, 1)).days


class Restructure:
    """Carries dates of the common demand (postings) or supply (seekers) calendar to each occupation's."""

    def __init__(self, seed: int, years: Sequence[int], month_weights: Sequence[float],
                 year_weights: Sequence[float], supply: bool = False):
        self.seed, self.years, self.supply = seed, list(years), supply
        self.base_weights = [year_weights[i] * month_weights[m - 1] for i in range(len(self.years))
                             for m in range(1, 13)]
        self.common = Calendar(self.years, self.base_weights)
        self.by_occupation: dict[str, Calendar] = {}

    def calendar(self, occupation_code: str) -> Calendar:
        cal = self.by_occupation.get(occupation_code)
        if cal is None:
            s = structure(self.seed, occupation_code)
            factor = s.supply_factor if self.supply else s.demand_factor
            weights = [w * factor(i // 12, i % 12 + 1) for i, w in enumerate(self.base_weights)]
            cal = self.by_occupation[occupation_code] = Calendar(self.years, weights)
        return cal

    def move(self, occupation_code: str, d: dt.date) -> dt.date:
        """``d`` (drawn from the common calendar) carried to the occupation's calendar."""
        return self.calendar(occupation_code).at(self.common.quantile(d))
