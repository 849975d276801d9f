"""Disclosure control of the published statistics: the cell-key method (as the ABS TableBuilder and the ONS
census tables use it), chosen over secondary suppression because GraphQL lets a reader ask for any grouping and
filter of a five-dimensional cube: a suppression pattern can be made to hold inside one table and its margins,
not across every grouping a reader can request, while the cell-key method needs no pattern at all.

* Every person record behind a published count has a fixed 32-bit record key: a seeker's is derived from its id
  and the installation's secret (``hub.stat_cell_key_secret``, ``sql/queries/labor/stats_supply.sql``); a
  graduate's (education holds counts, not person rows) from the school, major, year and its position in the
  count (``sql/queries/education/stats_major_outcomes.sql``).
* A cell (any group of records the API can show) has a count and the sum of its records' keys; both add up over
  the finest cells, so any grouping has them. Its *cell key* is that sum mod 2^32.
* The count a non-owner sees is ``hub.stat_perturbed(count, key sum)`` (``sql/migrations/0015_cell_key.sql``):
  the count plus a shift from a fixed table (the ptable) indexed by the count (0..4, 5+) and the cell key's
  percentile. Shifts are within +-MAX_NOISE; 0 stays 0; 1 and 2 are never shown (a count shown is 0 or >= 3).
* The same cell always has the same records, so the same key and the same value, in every query: asking again,
  or for the same cell through another grouping or filter, gives nothing new, and differencing two published
  counts gives the difference plus noise of up to +-2 * MAX_NOISE.
* Ratios, gaps, shares, indexes, statuses and warnings shown to a non-owner are computed from the perturbed
  counts; the shortage list is computed from them for every reader (one official list). Owners (labor for
  seekers, education for graduates) see exact counts. Demand (postings' headcount) is not a person count and is
  exact.

The refresh stores the perturbed supply of every summary row of ``hub.stat_supply_demand`` (every grouping is
pre-aggregated there), so a query costs nothing extra; graduates are perturbed in the (small) match and warning
queries with the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.db import Department

MAX_NOISE = 2        # |shown - exact| <= MAX_NOISE
SMALLEST_SHOWN = 3   # a count shown is 0 or at least this: 1 and 2 are never shown
LARGE = 5            # counts from LARGE on share one row of the ptable
BUCKETS = 100        # percentile buckets of the cell key
# What a published version records about its protection (with its thresholds).
METHOD = {"method": "cell-key", "maxNoise": MAX_NOISE, "smallestShown": SMALLEST_SHOWN}


@dataclass(frozen=True)
class Ptable:
    """The perturbation table as the database defines it: ``shifts[n][b]`` is the shift of a count ``n``
    (``LARGE``: any count from ``LARGE`` on) whose cell key lies in percentile bucket ``b``."""

    shifts: dict[int, tuple[int, ...]]

    def shown(self, count: int, bucket: int) -> int:
        return count + self.shifts[min(count, LARGE)][bucket]

    def outputs(self, count: int) -> set[int]:
        """Every value ``count`` can be shown as."""
        return {self.shown(count, b) for b in range(BUCKETS)}

    def candidates(self, shown: int) -> tuple[int, int]:
        """The smallest and largest exact count that can be shown as ``shown`` (what a reader who knows the
        ptable learns from one published count)."""
        found = [n for n in range(0, shown + MAX_NOISE + 1) if shown in self.outputs(n)]
        return min(found), max(found)


async def load_ptable(hub: "Department") -> Ptable:
    """Read the ptable back from ``hub.stat_cell_shift`` (the one definition, used by the refresh and queries)."""
    rows = await hub.fetch("hub/stats_ptable", LARGE, BUCKETS)
    shifts: dict[int, list[int]] = {n: [0] * BUCKETS for n in range(LARGE + 1)}
    for r in rows:
        shifts[r["n"]][r["bucket"]] = r["shift"]
    return Ptable({n: tuple(v) for n, v in shifts.items()})
