"""Disclosure control of the published statistics: the cell-key method (as the ABS TableBuilder and the ONS
census tables use it), chosen over secondary suppression because GraphQL lets a reader ask for any grouping and
filter of a five-dimensional cube: a suppression pattern can be made to hold inside one table and its margins,
not across every grouping a reader can request, while the cell-key method needs no pattern at all.

* The records behind the keys are the finest cells: a seeker-quarter's (year, quarter, occupation, district,
  skill level) and a school major's year (education holds counts, not person rows). Each has a fixed 32-bit key
  derived from its identity and the installation's secret (``hub.stat_cell_key_secret``,
  ``sql/queries/labor/stats_supply.sql``, ``sql/queries/education/stats_major_outcomes.sql``).
* A cell (any group the API can show) has a count and the sum of the keys of the finest cells with someone in
  them it is made of; both add up, so any grouping has them. Its *cell key* is that sum mod 2^32. Two cells made
  of the same persons have the same key; a cell keeps its key while persons join or leave finest cells that
  already hold someone (``0017_release_stable_keys.sql``: the key of a person would change the cell's noise with
  every person who joins it, which two releases together give away).
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
pre-aggregated there) and the perturbed graduates of every school major's year and every cell of the match
(``hub.stat_graduate_cells``), so a query costs nothing extra. It then audits what a non-owner can obtain as a
reader who knows the ptable would (``Intervals``: integer bounds through every sum) and moves any shown value that
would let a count of 1 or 2 persons be determined (``protect_supply``, ``protect_graduates``), together with the
release it replaces (``carried``: a reader who knows how every count changed since then).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from resolvers.analytics.intervals import Intervals

if TYPE_CHECKING:
    from hub.db.pools import Department

MAX_NOISE = 2        # |shown - exact| <= MAX_NOISE
SMALLEST_SHOWN = 3   # a count shown is 0 or at least this: 1 and 2 are never shown
LARGE = 5            # counts from LARGE on share one row of the ptable
BUCKETS = 100        # percentile buckets of the cell key
# What a published version records about its protection (with its thresholds).
# acrossReleases: keys of the finest cells, each refresh audited with the release it replaces (0017); a version
# published before says nothing of it (the report's definitions follow what the version was published under).
METHOD = {"method": "cell-key", "maxNoise": MAX_NOISE, "smallestShown": SMALLEST_SHOWN, "acrossReleases": True}


@dataclass(frozen=True)
class Ptable:
    """The perturbation table as the database defines it: ``shifts[n][b]`` is the shift of a count ``n``
    (``LARGE``: any count from ``LARGE`` on) whose cell key lies in percentile bucket ``b``."""

    shifts: dict[int, tuple[int, ...]]

    @functools.cached_property
    def _shift_sets(self) -> dict[int, frozenset[int]]:
        return {n: frozenset(v) for n, v in self.shifts.items()}

    def outputs(self, count: int) -> frozenset[int]:
        """Every value ``count`` can be shown as."""
        return frozenset(count + shift for shift in self._shift_sets[min(count, LARGE)])

    def candidates(self, shown: int) -> tuple[int, int]:
        """The smallest and largest exact count that can be shown as ``shown`` (what a reader who knows the
        ptable learns from one published count); shifts are within +-MAX_NOISE, so only those counts are looked
        at."""
        cache = self.__dict__.setdefault("_candidates", {})
        found = cache.get(shown)
        if found is None:
            n = [n for n in range(max(0, shown - MAX_NOISE), shown + MAX_NOISE + 1)
                 if shown - n in self._shift_sets[min(n, LARGE)]]
            found = cache[shown] = (min(n), max(n))
        return found


async def load_ptable(hub: "Department") -> Ptable:
    """Read the ptable back from ``hub.stat_cell_shift`` (the one definition, used by the refresh and queries)."""
    rows = await hub.fetch("hub/stats_ptable", LARGE, BUCKETS)
    shifts: dict[int, list[int]] = {n: [0] * BUCKETS for n in range(LARGE + 1)}
    for r in rows:
        shifts[r["n"]][r["bucket"]] = r["shift"]
    return Ptable({n: tuple(v) for n, v in shifts.items()})


def central(table: Ptable, count: int) -> int:
    """The value ``count`` can be shown as that leaves it strictly inside the reader's interval (nearest to
    ``count``): a cell shown so can never be pinned by its own value. 0 has no such value (it is the floor)."""
    for shown in sorted(table.outputs(count), key=lambda o: (abs(o - count), o)):
        lo, hi = table.candidates(shown)
        if lo < count < hi:
            return shown
    return count


# --- supply: what a non-owner can obtain from every grouping of supplyDemand -----------------------------------

# (name, bit of the dims mask, position in a cell key) of the dimensions supply is grouped by (0008_statistics.sql).
SUPPLY_DIMENSIONS = (("OCCUPATION", 1), ("DISTRICT", 2), ("SKILL_LEVEL", 4), ("QUARTER", 16))
SUPPLY_MASKS = tuple(sum(bit for _, bit in combo) for n in range(5)
                     for combo in itertools.combinations(SUPPLY_DIMENSIONS, n))
Cell = tuple  # (dims, occupation_code, district_code, skill_level, quarter): a row of hub.stat_supply_demand


def visible(demand: int, shown: int) -> bool:
    """A non-owner gets a row only when it has demand or a supply shown above 0 (stats_supply_demand.sql): the
    existence of a row without demand would tell that someone seeks there."""
    return demand > 0 or shown > 0


def supply_model(table: Ptable | None, shown: dict[Cell, tuple[int, int]], codes: Iterable[Cell] = (),
                 withheld: set[Cell] | frozenset = frozenset(), missing: tuple[int, int] = (0, MAX_NOISE),
                 existence_means_seekers: bool = False, cells: Iterable[Cell] | None = None,
                 into: Intervals | None = None,
                 carried: dict[Cell, tuple[float, float]] | None = None) -> Intervals:
    """The reader's intervals of one year's supply: ``shown`` maps every row the reader gets to (demand, value
    shown); every other cell of the cube spanned by the values seen (occupations, districts, levels, the four
    quarters; ``codes``: further cells whose codes the reader knows from the classifications) is a row it does
    not get: ``missing`` (0..MAX_NOISE for the cell-key method; ``table`` None: values shown are exact). Every grouping is the
    sum of its finer groupings along each dimension it does not group (a year is the sum of its quarters).
    ``cells``: only these cells (the rows of the summary table); every other cell is known to be 0, which is
    true (no posting, no seeker) and more than a reader knows, so a pattern safe against this model is safe
    against the reader (and the model stays the size of the table).
    ``withheld`` (the earlier rule): rows shown as null, 1..2 persons. ``existence_means_seekers``: a row without
    demand exists only because someone seeks there. ``into``: a model built before for the same cells, whose
    sums are kept and whose intervals are set again from ``shown``. ``carried``: what an earlier release tells of
    some counts (``carried``), known besides."""
    seen: list[set] = [set(), set(), set(), {1, 2, 3, 4}]
    for cell in itertools.chain(shown, codes):
        for position in range(3):
            if cell[0] & SUPPLY_DIMENSIONS[position][1]:
                seen[position].add(cell[position + 1])
    universe: dict[int, list[Cell]] = {mask: [] for mask in SUPPLY_MASKS}
    if cells is not None:
        for cell in cells:
            universe[cell[0]].append(cell)
    model = into if into is not None else Intervals()
    model.reset()
    for mask in SUPPLY_MASKS:
        if cells is None:
            values = [sorted(seen[i], key=str) if mask & bit else [None]
                      for i, (_, bit) in enumerate(SUPPLY_DIMENSIONS)]
            universe[mask] = [(mask, *combo) for combo in itertools.product(*values)]
        for cell in universe[mask]:
            found = shown.get(cell)
            if found is None:
                model.know(cell, *missing)
                continue
            demand, value = found
            if cell in withheld:
                model.know(cell, 1, 2 if mask & 16 else 8)  # 1-2 persons, up to 4 quarters each
            else:
                model.know(cell, *table.candidates(value)) if table is not None else model.know(cell, value, value)
            if existence_means_seekers and demand == 0:
                model.know(cell, 1, math.inf)
    for cell, (lo, hi) in (carried or {}).items():
        model.know(cell, max(lo, 0), hi)
    if into is not None:
        return model
    for mask in SUPPLY_MASKS:
        for position, (_, bit) in enumerate(SUPPLY_DIMENSIONS):
            if mask & bit:
                continue
            children: dict[Cell, list[Cell]] = {}
            for child in universe[mask | bit]:
                parent = (mask,) + tuple(None if i == position else v for i, v in enumerate(child[1:]))
                children.setdefault(parent, []).append(child)
            for parent in universe[mask]:
                model.add_sum(parent, children.get(parent, []))
    return model


@dataclass
class Shown:
    """A count as the refresh protects it: exact, its persons, the value non-owners see (moved in place).
    ``carried``: what the previous release tells of this count (``carried``); ``persons_before``: the persons of
    the same count in the previous release, protected as well."""

    count: int
    persons: int
    shown: int
    demand: int = 0  # supply only: a row without demand whose supply is shown as 0 is not returned
    district: str | None = None  # a school major's graduates: the school's district
    carried: tuple[float, float] | None = None
    persons_before: int = 0

    def small(self) -> bool:
        """A count of 1 or 2 persons, now or (for a count the previous release showed) then."""
        return 1 <= self.persons <= 2 or (self.carried is not None and 1 <= self.persons_before <= 2)


# --- across releases -------------------------------------------------------------------------------------------
# Every refresh is a release. The worst reader of two releases knows, for every count, how much it changed between
# them (it registered the new seeker itself, or it was told): it holds the previous release's interval of the old
# count, shifted by that change, as an interval of the new count. The refresh adds that interval to its model of
# the new release (``Shown.carried``), so a value is moved whenever the two releases together would pin a count
# of 1 or 2 persons, old or new (the previous release is kept by the refresh: 0017_release_stable_keys.sql). The
# keys of the finest cells are fixed, so a count of 5 or more that changes keeps its shift and the carried interval
# usually says nothing new; it matters when a finest cell gets its first person or loses its last (new key sums)
# and for small counts (another row of the ptable).

def carried(table: Ptable, before_shown: int | None, before_count: int, count: int,
            at_least: bool = False) -> tuple[float, float]:
    """The interval of ``count`` that the previous release gives a reader who knows the change ``count -
    before_count``: the candidates of the value shown then (``before_shown`` None: the reader got no value, so
    0..MAX_NOISE), shifted by the change. ``at_least``: the value shown then only bounded the count from below (an
    employed count shown at its graduates)."""
    lo, hi = (0, MAX_NOISE) if before_shown is None else table.candidates(before_shown)
    change = count - before_count
    return lo + change, math.inf if at_least else hi + change


def _protect(table: Ptable, rows: dict[Any, Shown], model_of: Any, max_rounds: int = 200,
             unresolved: set[Any] | None = None) -> set[Any]:
    """Move shown values until ``model_of(rows, previous model)`` (the reader's intervals) pins no count of 1 or 2
    persons: a pinned count is shown at its ``central`` value (another value the ptable can show for it, so the
    reader cannot tell), or when it already is, the counts it is summed with are. Returns the keys moved.

    A count the previous release already gives away (``Shown.carried``: no value of this release can hide it
    again) is added to ``unresolved`` when given (the refresh reports how many); without it, or when a count that
    no earlier release involves cannot be protected, RuntimeError."""
    changed: set[Any] = set()
    if unresolved is None:
        unresolved = set()
        lenient = False
    else:
        lenient = True
    model = None
    for _ in range(max_rounds):
        model = model_of(rows, model)
        model.propagate()
        pinned = [k for k, r in rows.items() if r.small() and model.determined(k) and k not in unresolved]
        if not pinned:
            return changed
        sums_of: dict[int, list[int]] = {}
        for n, (p, cs) in enumerate(model.sums):
            for i in (p, *cs):
                sums_of.setdefault(i, []).append(n)
        moved = False
        for key in pinned:
            if rows[key].shown != central(table, rows[key].count):
                targets = [key]
            else:
                targets = [model.keys[i] for n in sums_of.get(model.index[key], ())
                           for i in (model.sums[n][0], *model.sums[n][1])]
            for target in targets:
                row = rows.get(target)
                if row is not None and row.shown != central(table, row.count):
                    row.shown = central(table, row.count)
                    changed.add(target)
                    moved = True
        if not moved:
            if lenient and all(rows[k].carried is not None for k in pinned):
                unresolved.update(pinned)
                continue
            raise RuntimeError(f"cannot protect {len(pinned)} small counts: every related count is central")
    raise RuntimeError("the disclosure protection did not settle")


def protect_supply(table: Ptable, rows: dict[Cell, Shown], unresolved: set[Cell] | None = None) -> set[Cell]:
    """Make sure no count of 1 or 2 persons of one year's supply can be determined from everything a non-owner
    gets (``supply_model`` on the table's own rows: a stronger reader than the real one), with what the previous
    release tells of each count (``Shown.carried``), now or then. The cell-key values
    alone leave a few such counts pinned when a sum's published bound is at its edge and its other terms are at
    theirs (some hundreds of the demo data's rows, since this reader knows more than a real one)."""
    carried_of = {c: r.carried for c, r in rows.items() if r.carried is not None}

    def model_of(rows: dict[Cell, Shown], before: Intervals | None) -> Intervals:
        return supply_model(table, {c: (r.demand, r.shown) for c, r in rows.items() if visible(r.demand, r.shown)},
                            cells=rows, into=before, carried=carried_of)
    return _protect(table, rows, model_of, unresolved=unresolved)


# --- teachers: the plan's dual-qualified share (issue 16) ------------------------------------------------------
# Keys: ("teachers", year, school | None) specialty teachers of a school (None: the city), ("dual", year, school |
# None) the dual-qualified among them.

def teachers_model(table: Ptable, rows: dict[tuple, Shown]) -> Intervals:
    """The reader's intervals of the teacher counts: every school's counts of a year are shown (``planIndicators``),
    the city's are their sums, and the dual-qualified are shown at most the teachers (a shown value that reached the
    teachers shown only bounds them from below, as for the employed)."""
    model = Intervals()
    parts: dict[tuple, list[tuple]] = {}
    for key, r in rows.items():
        kind, year, school = key
        if kind == "dual":
            total = rows[("teachers", year, school)]
            shown = min(r.shown, total.shown)
            if shown < total.shown:
                model.know(key, *table.candidates(shown))
            else:
                model.know(key, table.candidates(shown)[0], math.inf)
            model.add_at_most(key, ("teachers", year, school))
        else:
            model.know(key, *table.candidates(r.shown))
        if school is not None:
            parts.setdefault((kind, year, None), []).append(key)
    for parent, children in parts.items():
        model.add_sum(parent, children)
    return model


def protect_teachers(table: Ptable, rows: dict[tuple, Shown]) -> set[tuple]:
    """``protect_supply`` for the teacher counts of the plan's indicators."""
    return _protect(table, rows, lambda rows, before: teachers_model(table, rows))


# --- graduates: the match (per district and the city) and the warnings ----------------------------------------
# Keys: ("outcome", year, school, major) graduates of a school's major, ("employed", year, school, major), and
# ("cell", year, district | None, major | None) the match's sums (None: every district / every major).

def graduates_model(table: Ptable, rows: dict[tuple, Shown]) -> Intervals:
    """The reader's intervals of the graduates (stronger than a real reader: every school major's year is taken
    as shown, though only warned ones are). A major's graduates in a district are the sum of its schools'; a
    district's, the sum of its majors'; a major's in the city, the sum of its districts'; the city's, the sum of
    the districts' and of the majors'. Employed are shown at most graduates: a shown value that reached the
    graduates shown only bounds them from below."""
    model = Intervals()
    parts: dict[tuple, list[tuple]] = {}
    for key, r in rows.items():
        kind, year = key[0], key[1]
        if kind == "employed":
            graduates = rows[("outcome", *key[1:])]
            shown = min(r.shown, graduates.shown)
            if shown < graduates.shown:
                model.know(key, *table.candidates(shown))
            else:
                model.know(key, table.candidates(shown)[0], math.inf)
            model.add_at_most(key, ("outcome", *key[1:]))
            continue
        model.know(key, *table.candidates(r.shown))
    for key, r in rows.items():
        if r.carried is not None:
            model.know(key, max(r.carried[0], 0), r.carried[1])
    for key, r in rows.items():
        if key[0] == "outcome":
            _, year, school, major = key
            district = r.district
            parts.setdefault(("cell", year, district, major), []).append(key)
        elif key[0] == "cell" and key[2] is not None and key[3] is not None:
            _, year, district, major = key
            parts.setdefault(("cell", year, district, None), []).append(key)
            parts.setdefault(("cell", year, None, major), []).append(key)
        elif key[0] == "cell" and key[2] is not None:
            parts.setdefault(("cell", key[1], None, None), []).append(key)
    for parent, children in parts.items():
        model.add_sum(parent, children)
    for key in rows:  # the city's total is also the sum of the majors'
        if key[0] == "cell" and key[2] is None and key[3] is not None:
            parts.setdefault(("majors", key[1]), []).append(key)
    for key, children in parts.items():
        if key[0] == "majors":
            model.add_sum(("cell", key[1], None, None), children)
    return model


def protect_graduates(table: Ptable, rows: dict[tuple, Shown], unresolved: set[tuple] | None = None) -> set[tuple]:
    """``protect_supply`` for the graduates (and the employed) of the match and the warnings."""
    return _protect(table, rows, lambda rows, before: graduates_model(table, rows), unresolved=unresolved)
