"""The plan's indicators in the statistics refresh (issue 16): their measured values, from the owners' pools.

``PlanSources`` is filled inside the refresh's own read-only snapshots of commerce and education (no SQL joins two
departments) and written into ``hub.stat_plan_counts`` (each count indicator's value, cumulative as of each year's
end) and ``hub.stat_plan_teachers`` (specialty teachers and the dual-qualified among them per school and year, and
the city's, with their cell-key values) inside the refresh's replacing transaction. The indicators, their targets
(``hub.plan_targets``) and statuses are computed at query time (``resolvers.analytics.plan``).

Years: from ``FIRST_YEAR`` (the earliest base year a target may have) to the refresh's horizon (the latest year with
labor data, as for every other figure).
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING, Any

from resolvers.analytics import disclosure

if TYPE_CHECKING:
    from hub.db.pools import Department

FIRST_YEAR = 2015
# (source table, kind) of a department's row -> the indicator it counts towards (hub.plan_targets.indicator).
INDICATOR_OF: dict[tuple[str, str], str] = {
    ("major_designations", "KEY_GROUP"): "KEY_MAJOR_GROUPS",
    ("school_enterprise_bases", "DOUBLE_BASE"): "DOUBLE_BASES",
    ("school_enterprise_bases", "TRAINING_BASE"): "TRAINING_BASES",
    ("major_designations", "SHORTAGE_SPECIALTY"): "SHORTAGE_SPECIALTY_MAJORS",
    ("major_designations", "APPRENTICESHIP"): "APPRENTICESHIP_MAJORS",
    ("school_designations", "CITY_HIGH_STANDARD"): "CITY_HIGH_STANDARD_SCHOOLS",
    ("enterprises", "CERTIFIED_INTEGRATION"): "CERTIFIED_INTEGRATION_ENTERPRISES",
}
COUNTS = ("indicator", "year", "value")
TEACHERS = ("year", "school_code", "school_name", "district_code", "teachers", "teachers_key", "dual", "dual_key")


def years(horizon: int | None) -> range:
    return range(FIRST_YEAR, max(horizon or FIRST_YEAR, FIRST_YEAR) + 1)


def cumulative(rows: list[Any], span: range, sources: set[str]) -> list[tuple[str, int, int]]:
    """(indicator, year, value) for every indicator counted from ``sources`` (a department's tables) and every year
    of ``span``: the number made in that year or before (rows: source, kind, year, n)."""
    per_year: dict[str, dict[int, int]] = {i: {} for (source, _), i in INDICATOR_OF.items() if source in sources}
    for r in rows:
        indicator = INDICATOR_OF.get((r["source"], r["kind"]))
        if indicator is not None:
            made = per_year.setdefault(indicator, {})
            made[r["year"]] = made.get(r["year"], 0) + r["n"]
    out = []
    for indicator, made in per_year.items():
        before = sum(n for y, n in made.items() if y < span.start)
        running = list(accumulate((made.get(y, 0) for y in span), initial=before))[1:]
        out += [(indicator, year, value) for year, value in zip(span, running)]
    return out


def with_city(rows: list[Any], span: range) -> list[tuple]:
    """The schools' teacher rows and, per year of ``span``, the city's (their sums; 0 without teachers)."""
    out = [tuple(r[c] for c in TEACHERS) for r in rows]
    for year in span:
        mine = [r for r in rows if r["year"] == year]
        out.append((year, None, None, None, *(sum(r[c] for r in mine) for c in TEACHERS[4:])))
    return out


class PlanSources:
    """What the refresh read for the plan's indicators, until it writes it."""

    def __init__(self, horizon: int | None):
        self.span = years(horizon)
        self.counts: list[tuple[str, int, int]] = []
        self.teachers: list[tuple] = []

    async def read_commerce(self, commerce: "Department") -> None:
        self.counts += cumulative(await commerce.fetch("commerce/stats_plan_certified"), self.span, {"enterprises"})

    async def read_education(self, education: "Department", secret: str) -> None:
        self.counts += cumulative(await education.fetch("education/stats_plan_items"), self.span,
                                  {"major_designations", "school_enterprise_bases", "school_designations"})
        rows = await education.fetch("education/stats_plan_teachers", secret, self.span.start, self.span.stop - 1)
        self.teachers = with_city(rows, self.span)

    async def write(self, hub: "Department", conn: Any) -> int:
        """Replace the plan's summary tables (inside the refresh transaction) and protect the teacher counts;
        returns how many of them moved."""
        await hub.execute("hub/stats_plan_clear")
        await conn.copy_records_to_table("stat_plan_counts", schema_name="hub", columns=list(COUNTS),
                                         records=self.counts)
        await conn.copy_records_to_table("stat_plan_teachers", schema_name="hub", columns=list(TEACHERS),
                                         records=self.teachers)
        await hub.execute("hub/stats_plan_perturb")
        return await protect_teachers(hub)


async def protect_teachers(hub: "Department") -> int:
    """Disclosure control of the published teacher counts (``resolvers.analytics.disclosure.protect_teachers``)."""
    table = await disclosure.load_ptable(hub)
    rows: dict[tuple, disclosure.Shown] = {}
    for r in await hub.fetch("hub/stats_plan_teacher_cells"):
        rows[("teachers", r["year"], r["school_code"])] = disclosure.Shown(r["teachers"], r["teachers"],
                                                                           r["public_teachers"])
        rows[("dual", r["year"], r["school_code"])] = disclosure.Shown(r["dual"], r["dual"], r["public_dual"])
    changed = disclosure.protect_teachers(table, rows)
    for year, school in sorted({k[1:] for k in changed}, key=str):
        await hub.execute("hub/stats_plan_teachers_protect", year, school, rows[("teachers", year, school)].shown,
                          min(rows[("dual", year, school)].shown, rows[("teachers", year, school)].shown))
    return len(changed)
