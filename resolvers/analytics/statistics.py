"""The published statistics' summary tables (``sql/migrations/0008_statistics.sql``) and their refresh.

``refresh_statistics(db)`` reads each department through its OWN pool — labor's postings, seekers and
training programs aggregated per year/quarter/occupation/district/skill level (and enterprise), commerce's
enterprise -> industry/section map, education's yearly outcomes and major -> industry mappings — each in one
read-only REPEATABLE READ snapshot, and writes the results into the hub's own schema through the hub pool:
large aggregates are streamed with COPY into the unlogged staging tables, then every summary table is
replaced (delete + COPY/insert) inside ONE transaction, so readers never block and never see half a
refresh. There is no SQL join across department schemas: the same code path runs whether the departments
share one database or each has its own (``HUB_<DEPT>_DATABASE_URL``).

Each refresh is recorded in ``hub.stat_refreshes`` with its data watermark: per department the reading snapshot's
xmin (transactions older than it are in the figures, see docs/design.md, "Sync contract") and each source table's
row count and max id (shown to other departments and the public without them: ``resolvers.analytics.watermark``),
and what the disclosure control did. The refresh keeps the release it replaces and audits the new one together
with it (``resolvers.analytics.disclosure.carried``). Call it after seeding, an ingest or a sync; one refresh runs
at a time (an advisory lock serialises concurrent callers: a second one waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from hub.db.pools import Department
from hub.errors import Conflict
from resolvers.analytics import disclosure

if TYPE_CHECKING:
    from hub.db.pools import Databases, Department

Progress = Callable[[str, int, int], None]

_CHUNK = 20_000
# Per-transaction limits of the refresh's statements (an API statement's timeout is far shorter).
REFRESH_STATEMENT_TIMEOUT = "30min"
REFRESH_WORK_MEM = "64MB"
LOCK_WAIT_SECONDS = 1800  # a refresh waits this long for a concurrent one to finish

# Columns of the tables filled with COPY, in the order the department queries return them.
STAGED: dict[str, tuple[str, ...]] = {
    "stat_stage_demand": ("year", "quarter", "occupation_code", "district_code", "skill_level", "enterprise_uscc",
                          "demand"),
    "stat_stage_supply": ("year", "quarter", "occupation_code", "district_code", "skill_level", "supply",
                          "new_persons", "supply_key"),
}
# hub.stat_supply_demand holds every combination of grouped dimensions (32), built from the staged aggregates
# in four steps: the finest rows, then the coarser ones summed from them (each step reads the previous).
SUPPLY_DEMAND_STEPS = ("hub/stats_build_sd_finest", "hub/stats_build_sd_quarters", "hub/stats_build_sd_years",
                       "hub/stats_build_sd_sections")
COPIED: dict[str, tuple[str, ...]] = {
    "stat_occupations": ("code", "name"),
    "stat_training": ("year", "occupation_code", "programs", "seats", "providers"),
    "stat_industries": ("code", "name", "level", "section"),
    "stat_enterprise_sections": ("uscc", "industry_code", "section"),
    "stat_major_outcomes": ("year", "major_code", "major_name", "school_code", "school_name", "district_code",
                            "enrollment", "graduates", "employed", "graduates_key", "employed_key"),
    "stat_major_industries": ("major_code", "industry_code"),
}


@dataclass(frozen=True)
class Watermark:
    """What a refresh computed its figures from: when, and each department's snapshot and table counts."""

    refresh_id: int
    started_at: dt.datetime
    refreshed_at: dt.datetime
    sources: dict[str, Any] = field(default_factory=dict)
    disclosure: dict[str, Any] = field(default_factory=dict)  # what the protection did (disclosure.METHOD ...)

    def as_json(self) -> dict[str, Any]:
        return {"refreshId": self.refresh_id, "startedAt": self.started_at.isoformat(),
                "refreshedAt": self.refreshed_at.isoformat(), "sources": self.sources, "disclosure": self.disclosure}

    @classmethod
    def from_row(cls, row: Any) -> "Watermark":
        stored = json.loads(row["watermark"])
        return cls(row["id"], row["started_at"], row["refreshed_at"], stored.get("sources", {}),
                   stored.get("disclosure", {}))


async def latest_refresh(hub: "Department") -> Watermark | None:
    """The latest refresh (None before the first one)."""
    row = await hub.fetchrow("hub/stats_latest_refresh")
    return Watermark.from_row(row) if row is not None else None


def _on(dept: "Department", conn: Any) -> "Department":
    """``dept``'s named statements on one connection (same telemetry and pool name)."""
    return Department(dept.name, conn, dept.sql, dept.stats, telemetry=dept.telemetry, pool_name=dept.pool_name)


@contextlib.asynccontextmanager
async def snapshot(dept: "Department", refresh_limits: bool = False) -> AsyncIterator["Department"]:
    """``dept`` on one connection in a read-only REPEATABLE READ transaction: every read sees one snapshot.
    ``refresh_limits``: the refresh's statement timeout and work_mem instead of the API's."""
    async with dept.pool.acquire(timeout=dept.acquire_timeout) as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            on = _on(dept, conn)
            if refresh_limits:
                await on.execute("hub/stats_local_limits", REFRESH_STATEMENT_TIMEOUT, REFRESH_WORK_MEM)
            yield on


async def _stream(src: "Department", query: str, args: tuple[Any, ...], hub_conn: Any, table: str,
                  progress: Progress | None) -> int:
    """Copy the rows of ``query`` (run in ``src``'s open transaction) into ``hub.<table>`` in chunks."""
    src.stats.count(query, src.pool_name)
    cursor = await src.pool.cursor(src.sql[query], *args)
    copied = 0
    while True:
        rows = await cursor.fetch(_CHUNK)
        if not rows:
            break
        await hub_conn.copy_records_to_table(table, schema_name="hub", columns=list(STAGED[table]), records=rows)
        copied += len(rows)
        if progress:
            progress(f"hub.{table}", copied, copied)
    return copied


async def _source_watermark(dept: "Department", query: str, **extra: Any) -> dict[str, Any]:
    row = await dept.fetchrow(query)
    return {"snapshotXmin": row["snapshot_xmin"], "tables": json.loads(row["tables"]), **extra}


async def _lock(hub: "Department") -> None:
    """Wait (polling, so no statement timeout applies) until no other refresh runs, then hold the lock."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not await hub.fetchval("hub/stats_lock"):
        if time.monotonic() > deadline:
            raise Conflict(f"another statistics refresh has been running for over {LOCK_WAIT_SECONDS} s")
        await asyncio.sleep(0.2)


def _supply_shown(table: disclosure.Ptable, r: Any, previous: bool) -> disclosure.Shown:
    """A supply cell as the protection sees it, with what the previous release (if any) tells of it. A cell whose
    count and key are those of the previous release shows the value it showed then (one the protection may have
    moved), not its cell-key value afresh: the same view again tells a reader nothing new, and the audit starts
    from what is already published."""
    shown = disclosure.Shown(r["supply"], r["persons"], r["public_supply"], r["demand"])
    if previous:  # a cell the previous release had no row for had 0 persons: the reader got no value
        before = r["prev_public_supply"]
        if (r["prev_supply"], r["prev_supply_key"]) == (r["supply"], r["supply_key"]) and before is not None:
            shown.shown = before
        seen = before if r["prev_supply"] is not None and disclosure.visible(r["prev_demand"], before or 0) else None
        shown.carried = disclosure.carried(table, seen, r["prev_supply"] or 0, r["supply"])
        shown.persons_before = r["prev_persons"] or 0
    return shown


async def _protect_supply(hub: "Department", previous: bool, unresolved: set[Any]) -> int:
    """Disclosure control after the cell-key values (``resolvers.analytics.disclosure.protect_supply``), year by
    year, inside the refresh transaction, together with the previous release when there is one (``previous``);
    returns how many rows' shown supply moved."""
    table = await disclosure.load_ptable(hub)
    moved = 0
    for year in [r["year"] for r in await hub.fetch("hub/stats_supply_years")]:
        found = await hub.fetch("hub/stats_supply_cells", year)
        rows = {(r["dims"], r["occupation_code"], r["district_code"], r["skill_level"], r["quarter"]):
                _supply_shown(table, r, previous) for r in found}
        given_away: set[Any] = set()  # cells are named without their year: one set per year
        changed = disclosure.protect_supply(table, rows, given_away)
        unresolved.update((year, *cell) for cell in given_away)
        for r in found:  # every value not the cell-key one: moved now, or kept from the previous release
            cell = (r["dims"], r["occupation_code"], r["district_code"], r["skill_level"], r["quarter"])
            if rows[cell].shown != r["public_supply"]:
                await hub.execute("hub/stats_supply_protect", r["tid"], rows[cell].shown)
        moved += len(changed)
    return moved


def _graduates_carried(table: disclosure.Ptable, shown: disclosure.Shown, before_count: int | None,
                       before_shown: int | None, at_least: bool = False) -> None:
    if before_count is not None:
        shown.carried = disclosure.carried(table, before_shown, before_count, shown.count, at_least)
        shown.persons_before = before_count
    else:  # new this release: nothing was shown of it before (0 persons)
        shown.carried = disclosure.carried(table, None, 0, shown.count)


async def _protect_graduates(hub: "Department", previous: bool, unresolved: set[Any]) -> int:
    """The same for the graduates and the employed (``resolvers.analytics.disclosure.protect_graduates``)."""
    table = await disclosure.load_ptable(hub)
    rows: dict[tuple, disclosure.Shown] = {}
    for r in await hub.fetch("hub/stats_graduates_cells"):
        if r["kind"] == "outcome":
            key = (r["year"], r["school_code"], r["major_code"])
            graduates = rows[("outcome", *key)] = disclosure.Shown(
                r["graduates"], r["graduates"], r["public_graduates"], district=r["district_code"])
            employed = rows[("employed", *key)] = disclosure.Shown(r["employed"], r["employed"], r["public_employed"])
            if previous:
                _graduates_carried(table, graduates, r["prev_graduates"], r["prev_public_graduates"])
                shown_employed, shown_graduates = r["prev_public_employed"], r["prev_public_graduates"]
                clipped = shown_employed is not None and shown_employed >= shown_graduates
                _graduates_carried(table, employed, r["prev_employed"],
                                   min(shown_employed, shown_graduates) if shown_employed is not None else None,
                                   at_least=clipped)
        else:
            cell = rows[("cell", r["year"], r["district_code"], r["major_code"])] = disclosure.Shown(
                r["graduates"], r["graduates"], r["public_graduates"])
            if previous:
                _graduates_carried(table, cell, r["prev_graduates"], r["prev_public_graduates"])
    changed = disclosure.protect_graduates(table, rows, unresolved)
    for key in {k[1:] for k in changed if k[0] in ("outcome", "employed")}:
        await hub.execute("hub/stats_graduates_protect_outcome", *key, rows[("outcome", *key)].shown,
                          rows[("employed", *key)].shown)
    for key in [k for k in changed if k[0] == "cell"]:
        await hub.execute("hub/stats_graduates_protect_cell", *key[1:], rows[key].shown)
    return len(changed)


async def refresh_statistics(db: "Databases", progress: Progress | None = None) -> Watermark:
    """Recompute every summary table from the departments' current data; returns the new watermark.

    Readers keep the previous figures until the replacing transaction commits. ``progress(step, done,
    total)`` is told about each step (the CLI shows it as progress bars).
    """
    steps = ["labor", "commerce", "education", "summaries", "vacuum"]

    def step(i: int) -> None:
        if progress:
            progress("statistics refresh", i, len(steps))

    copied: dict[str, list[Any]] = {}
    sources: dict[str, Any] = {}
    async with db.hub.pool.acquire(timeout=db.hub.acquire_timeout) as hub_conn:
        hub = _on(db.hub, hub_conn)
        try:
            await _lock(hub)  # a session lock: released below (a cancel may hit after the server took it)
            started = dt.datetime.now(dt.timezone.utc)
            await hub.execute("hub/stats_stage_clear")
            secret = await hub.fetchval("hub/stats_cell_key_secret")  # record keys of the cell-key method
            step(0)
            async with snapshot(db.labor, refresh_limits=True) as labor:
                horizon = await labor.fetchval("labor/stats_horizon")
                await _stream(labor, "labor/stats_demand", (horizon,), hub_conn, "stat_stage_demand", progress)
                await _stream(labor, "labor/stats_supply", (horizon, secret), hub_conn, "stat_stage_supply",
                              progress)
                copied["stat_occupations"] = await labor.fetch("labor/stats_occupations")
                copied["stat_training"] = await labor.fetch("labor/stats_training")
                sources["labor"] = await _source_watermark(labor, "labor/stats_watermark", horizonYear=horizon)
            step(1)
            async with snapshot(db.commerce, refresh_limits=True) as commerce:
                copied["stat_industries"] = await commerce.fetch("commerce/stats_industries")
                copied["stat_enterprise_sections"] = await commerce.fetch("commerce/stats_enterprise_sections")
                sources["commerce"] = await _source_watermark(commerce, "commerce/stats_watermark")
            step(2)
            async with snapshot(db.education, refresh_limits=True) as education:
                copied["stat_major_outcomes"] = await education.fetch("education/stats_major_outcomes", secret)
                copied["stat_major_industries"] = await education.fetch("education/stats_major_industries")
                sources["education"] = await _source_watermark(education, "education/stats_watermark")
            step(3)
            await hub.execute("hub/stats_stage_analyze")
            async with hub_conn.transaction():
                await hub.execute("hub/stats_local_limits", REFRESH_STATEMENT_TIMEOUT, REFRESH_WORK_MEM)
                previous = await latest_refresh(hub) is not None  # the release this one replaces
                if previous:
                    await hub.execute("hub/stats_keep_previous")
                    await hub.execute("hub/stats_previous_analyze")
                await hub.execute("hub/stats_clear")
                for table, rows in copied.items():
                    await hub_conn.copy_records_to_table(table, schema_name="hub", columns=list(COPIED[table]),
                                                         records=rows)
                for step_query in SUPPLY_DEMAND_STEPS:
                    await hub.execute(step_query)
                unresolved: set[Any] = set()
                moved = await _protect_supply(hub, previous, unresolved)
                await hub.execute("hub/stats_build_demand_industry")
                await hub.execute("hub/stats_build_major_demand")
                await hub.execute("hub/stats_build_graduates")
                moved_graduates = await _protect_graduates(hub, previous, unresolved)
                protection = {**disclosure.METHOD, "supplyCellsMoved": moved, "graduateCellsMoved": moved_graduates,
                              "acrossReleases": previous, "givenAwayByPreviousRelease": len(unresolved)}
                row = await hub.fetchrow("hub/stats_refresh_insert", started,
                                         json.dumps({"sources": sources, "disclosure": protection}))
            step(4)
            await hub.execute("hub/stats_vacuum")
            step(5)
        finally:
            try:
                await hub.execute("hub/stats_unlock")
            except BaseException:
                # The pools keep sessions as they are (hub.db.pools.keep_session): never hand a connection that
                # may still hold the lock back to the pool.
                hub_conn.terminate()
                raise
    return Watermark.from_row({"id": row["id"], "started_at": row["started_at"],
                               "refreshed_at": row["refreshed_at"], "watermark": row["watermark"]})
