"""Differencing across releases (attack review): the API is a live release that changes with every refresh. A
reader that knows one seeker joined a cell (it registered the seeker itself, was told, or — before this was
closed — read from ``statisticsRefresh.watermark`` that labor.job_seekers grew by one row) knows ``after = before +
quarters`` for every cell containing that seeker: two perturbed views of the same count. Nothing may pin a count of
1 or 2 persons from the two releases together. The reader here is given that knowledge (the worst case): the
watermark no longer shows it row counts (only admins and labor see them)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Any, Iterator

import asyncpg
import pytest
from starlette.testclient import TestClient

from resolvers.analytics import disclosure
from hub.app import create_app
from hub.settings import Settings
from tests.support import stats_dataset as ds
from tests.support.database import recreate_database, with_database
from tests.support.disclosure_audit import BIG_PAGE, Reader, Truth, cell, ptable
from tests.support.reports import refresh

YEAR = 2024
WATERMARK = "{ statisticsRefresh { watermark } }"
# New seekers registered one at a time (occupation, skill level, district, registered_on). The first three join
# cells of 2024 that hold 1 or 2 persons (tests/support/stats_dataset.py: A/Yuexiu/3 and /4 hold 2, C/Tianhe/5 holds 1)
# whose finest cells already hold someone, so every cell keeps its key. The others open finest cells that held
# nobody (C and A at level 2, B at level 5, in Haizhu; D had no seekers): every cell containing them gets a new key,
# so a value drawn afresh, and without the release-aware audit of the refresh the two releases pin counts of 1-2.
NEW_SEEKERS = [(o, lv, d, dt.date(YEAR, 1, 1)) for o, lv, d in
               [("A", 3, ds.YUEXIU), ("A", 4, ds.YUEXIU), ("C", 5, ds.TIANHE), ("C", 2, ds.HAIZHU),
                ("B", 5, ds.HAIZHU), ("A", 2, ds.HAIZHU), ("D", 3, ds.YUEXIU)]]


@pytest.fixture(scope="module")
def releases(server_url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    url = with_database(server_url, "hub_test_releases")
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, policy_cache_seconds=0.0,
                       max_page_size=BIG_PAGE, max_cost=100 * BIG_PAGE,
                       # the reader asks every grouping after each of seven refreshes: far above 50/s on a fast
                       # machine; the rate limit is not what this test is about
                       rate_limit_per_second=0.0)
    asyncio.run(recreate_database(server_url, "hub_test_releases"))
    tokens = asyncio.run(ds.prepare(settings, dict.fromkeys(("hub", "labor", "commerce", "education"), url)))
    yield settings, tokens


def _add_seeker_and_refresh(settings: Settings, seeker: tuple[Any, ...], n: int) -> None:
    occ, level, district, registered = seeker

    async def go() -> None:
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute(
                "insert into labor.job_seekers (name, id_number, phone, gender, birth_year, education, "
                "occupation_code, skill_level, district_code, registered_on, left_on) "
                "values ($1, $2, $3, 'F', 1995, 'HIGH_SCHOOL', $4, $5, $6, $7, null)",
                f"新求职者{n}", f"{district}19950101{n:03d}2"[:17] + "X", f"139{n:08d}", ds.OCC[occ], level,
                district, registered)
        finally:
            await conn.close()
    asyncio.run(go())
    refresh(settings)


def _shown(reader: Reader) -> dict[tuple, tuple[int, int]]:
    return {cell(group, r): (r["demand"], r["supply"]) for group, rows in reader.supply(YEAR).items() for r in rows}


def _contains(c: tuple, seeker: tuple[Any, ...]) -> bool:
    occ, level, district, _ = seeker
    return ((not c[0] & 1 or c[1] == ds.OCC[occ]) and (not c[0] & 2 or c[2] == district)
            and (not c[0] & 4 or c[3] == level))


def _delta(c: tuple, seeker: tuple[Any, ...]) -> int:
    """Seeker-quarters the new seeker adds to cell ``c`` (registered on 1 January, still seeking: 4 quarters)."""
    if not _contains(c, seeker):
        return 0
    return 1 if c[4] is not None else 4


def test_two_releases_do_not_pin_a_count_of_1_or_2_persons(releases) -> None:
    settings, tokens = releases
    table = ptable(settings)
    truth = Truth(settings.database_url)
    found = []
    with TestClient(create_app(settings)) as client:
        commerce = Reader(client, tokens["commerce"])
        admin = Reader(client, tokens["admin"])
        rows_before = admin(WATERMARK)["statisticsRefresh"]["watermark"]["sources"]["labor"]["tables"]
        for n, seeker in enumerate(NEW_SEEKERS, 1):
            exact = truth.supply(YEAR)
            before = _shown(commerce)
            _add_seeker_and_refresh(settings, seeker, n)
            after = _shown(commerce)
            watermark = admin(WATERMARK)["statisticsRefresh"]["watermark"]
            protection = watermark["disclosure"]
            assert protection["acrossReleases"] and protection["givenAwayByPreviousRelease"] == 0
            rows_after = watermark["sources"]["labor"]["tables"]
            assert "tables" not in commerce(WATERMARK)["statisticsRefresh"]["watermark"]["sources"]["labor"]
            # what the reader is given: exactly one seeker row was added since the last release
            assert rows_after["labor.job_seekers"]["rows"] == rows_before["labor.job_seekers"]["rows"] + 1
            rows_before = rows_after
            model = disclosure.supply_model(table, before, codes=exact)
            later = disclosure.supply_model(table, after, codes=exact)
            model.propagate()
            later.propagate()
            for key in list(model.keys):
                if key in later.index:
                    lo, hi = later.bounds(key)
                    d = _delta(key, seeker)
                    model.know(key, lo - d, hi - d)
            clash = [k for i, k in enumerate(model.keys) if model.lo[i] > model.hi[i]]
            assert not clash, (seeker, clash[:3])  # the reader's knowledge is consistent
            model.propagate()
            found += [(seeker, key, count, persons) for key, (count, persons) in exact.items()
                      if 1 <= persons <= 2 and model.determined(key)]
            # and the counts of the new release (after = before + the seeker's quarters: pinned together)
            found += [(seeker, key, count, persons) for key, (count, persons) in truth.supply(YEAR).items()
                      if 1 <= persons <= 2 and key in model.index and model.determined(key)]
            if found:
                break
    assert found == []


def test_the_refresh_moves_a_value_the_previous_release_would_pin(releases) -> None:
    """The release-aware protection on its own: a school major had 1 graduate, shown as 3 (1..5); now it has 2 and
    the reader knows one was added (2..6). Shown as 0 (0..2) now, the two releases pin it to 2 — and the city's
    cells with it. The protection moves the values (to others the ptable can show for them) until nothing of 1-2
    persons, then or now, is determined; without the previous release nothing is pinned and nothing moves."""
    settings, _ = releases
    table = ptable(settings)
    S = disclosure.Shown

    def rows(previous: bool) -> dict[tuple, disclosure.Shown]:
        found = {("outcome", 2024, "S1", "M"): S(2, 2, 0, district="D1"),
                 ("employed", 2024, "S1", "M"): S(0, 0, 0),
                 ("outcome", 2024, "S2", "M"): S(7, 7, 7, district="D2"),
                 ("employed", 2024, "S2", "M"): S(5, 5, 5)}
        for district, n in (("D1", 2), ("D2", 7), (None, 9)):
            found[("cell", 2024, district, "M")] = S(n, n, n if n > 2 else 0)
            found[("cell", 2024, district, None)] = S(n, n, n if n > 2 else 0)
        if previous:  # then: S1 had 1 graduate shown as 3; everything else as now (the change: +1 in S1's cells)
            for key, r in found.items():
                grew = key[0] == "outcome" and key[2] == "S1" or key[0] == "cell" and key[2] in ("D1", None)
                before = r.count - 1 if grew else r.count
                shown_then = 3 if grew and before <= 2 else (r.shown - 1 if grew else r.shown)
                r.carried = disclosure.carried(table, shown_then, before, r.count)
                r.persons_before = before
        return found

    def pinned(found: dict[tuple, disclosure.Shown]) -> list[tuple]:
        model = disclosure.graduates_model(table, found)
        model.propagate()
        return [k for k, r in found.items() if r.small() and model.determined(k)]

    assert pinned(rows(False)) == [] and disclosure.protect_graduates(table, rows(False)) == set()
    now = rows(True)
    assert ("outcome", 2024, "S1", "M") in pinned(now)
    unresolved: set[tuple] = set()
    moved = disclosure.protect_graduates(table, now, unresolved)
    assert moved and pinned(now) == [] and unresolved == set()
    for key in moved:
        assert now[key].shown in table.outputs(now[key].count), key


def test_a_refresh_without_changes_shows_the_same_values(releases) -> None:
    """Nothing changed since the last release: every value shown is the one shown then — also those the protection
    moved (a cell keeps its published value while its count and key stay), so the new release adds nothing."""
    settings, tokens = releases
    with TestClient(create_app(settings)) as client:
        commerce = Reader(client, tokens["commerce"])
        before = {year: _shown_year(commerce, year) for year in (2023, YEAR)}
        moved = Truth(settings.database_url)._fetch(
            "select count(*) from hub.stat_supply_demand where public_supply <> hub.stat_perturbed(supply, supply_key)")
        refresh(settings)
        assert {year: _shown_year(commerce, year) for year in (2023, YEAR)} == before
    assert moved[0][0] > 0  # some values shown are moved ones (not the cell-key value), and they stay


def _shown_year(reader: Reader, year: int) -> dict[tuple, tuple[int, int]]:
    return {cell(group, r): (r["demand"], r["supply"]) for group, rows in reader.supply(year).items() for r in rows}

