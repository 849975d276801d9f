"""Issue 16 under attack: ways the plan's indicators and the forecasts could tell a non-owner what the cell-key method
hides (docs/statistics.md, "Disclosure control"), each checked as a reader would read the answers over GraphQL.

* The teacher counts of ``planIndicators``: a school is listed only when it has specialty teachers, so a school listed
  with its count shown as 0 has 1 or 2 — the rule ``supplyDemand`` keeps ("a non-owner gets no row without demand
  whose supply is shown as 0") does not hold here.
* The forecasts: which series exist, and how many quarters they rest on, must follow from what the reader is shown
  (or from demand, which is not a person count), never from a seeker the reader is not shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Any, Iterator

import asyncpg
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support import stats_dataset as ds
from tests.support.database import recreate_database, with_database
from tests.support.stats_api import Api

TEACHERS = """query($y: Int!) { planIndicators(year: $y) { indicator teachers { schools { schoolCode
  specialtyTeachers } } } }"""


def _teachers(api: Api, who: str, year: int) -> dict[str, int]:
    found = api(who, TEACHERS, {"y": year})["planIndicators"]
    [share] = [i for i in found if i["indicator"] == "DUAL_QUALIFIED_SHARE"]
    return {s["schoolCode"]: s["specialtyTeachers"] for s in share["teachers"]["schools"]}


@pytest.fixture(scope="module")
def api(stats_settings) -> Iterator[Api]:  # noqa: F811
    settings, tokens = stats_settings
    with TestClient(create_app(settings)) as client:
        yield Api(client, tokens)


def test_a_school_with_1_or_2_teachers_shown_as_0_looks_like_a_school_without_teachers(api: Api) -> None:
    """A non-owner must not tell a school without teachers from one whose 1-2 teachers are shown as 0: both listed
    with 0, or both left out. The listing leaves out the schools without teachers and lists the others whatever
    their shown count, so S3 (1 teacher, shown 0 in 2020-2024 with the dataset's secret) is known to have 1 or 2.
    With sums it pins: two schools of one teacher each, both shown 0, and the city's 2 shown 0 — each listed school
    has at least one, so both are 1 and the city 2 (the protection does not move them: its model of the teacher
    counts, ``hub.disclosure.teachers_model``, does not know that a listed school has teachers, where the supply's
    model does, ``existence_means_seekers``)."""
    register = {code for code, *_ in ds.SCHOOLS}
    looks_like_none: dict[tuple[int, str], str] = {}
    for year in range(2015, 2025):
        exact, shown = _teachers(api, "education", year), _teachers(api, "commerce", year)
        for school in register:
            if shown.get(school, 0) == 0:
                looks_like_none[(year, school)] = (f"listed with 0 ({exact.get(school, 0)} in truth)"
                                                   if school in shown else "left out")
    small = [k for k, how in looks_like_none.items() if how.startswith("listed") and not how.endswith("(0 in truth)")]
    assert small, "the dataset has a small teacher count shown as 0 (else this test proves nothing)"
    assert len({how.split(" (")[0] for how in looks_like_none.values()}) == 1, looks_like_none


# --- the forecasts: a lone seeker the reader is not shown ----------------------------------------------------

LONE_OCCUPATION = ds.OCC["F"]  # no postings, ever
LONE_QUARTER = (dt.date(2022, 7, 10), dt.date(2022, 8, 10))  # one seeker in 2022 Q3, before any posting (shown 0)


async def _load(urls: dict[str, str]) -> None:
    await ds.load(urls)
    conn = await asyncpg.connect(urls["labor"])
    try:
        await conn.execute(
            "insert into labor.job_seekers (name, id_number, phone, gender, birth_year, education, occupation_code, "
            "skill_level, district_code, registered_on, left_on) values ('独行者', '44010619900101999X', "
            "'13800009999', 'M', 1990, 'HIGH_SCHOOL', $1, 4, $2, $3, $4)", LONE_OCCUPATION, ds.TIANHE, *LONE_QUARTER)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def lone(server_url: str) -> Iterator[Api]:
    url = with_database(server_url, "hub_test_plan_leaks")
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, policy_cache_seconds=0.0)
    asyncio.run(recreate_database(server_url, "hub_test_plan_leaks"))
    tokens = asyncio.run(ds.prepare(settings, dict.fromkeys(("hub", "labor", "commerce", "education"), url),
                                    loader=_load))
    with TestClient(create_app(settings)) as client:
        yield Api(client, tokens)


FORECAST = "{ demandForecast(horizon: 1) { occupationCode history } }"


def _shown_occupations(api: Api, who: str) -> set[str]:
    return {r["occupationCode"] for year in (2022, 2023, 2024)
            for r in api.rows(who, f"year: {year}, groupBy: [OCCUPATION, QUARTER]")}


def _shown_quarters(api: Api, who: str) -> list[tuple[int, int]]:
    return sorted((year, r["quarter"]) for year in (2022, 2023, 2024)
                  for r in api.rows(who, f"year: {year}, groupBy: [QUARTER]"))


def test_forecasts_are_no_sign_of_a_seeker_the_reader_is_not_shown(lone: Api) -> None:
    """Labor sees its lone seeker of occupation F in 2022 Q3; commerce is shown no row of F and no row of 2022 (the
    seeker is shown as 0 and there is no demand), so it must not learn of them from the forecasts either: no series
    of F (an occupation that never had demand) and a history counted from the first quarter it is shown."""
    assert LONE_OCCUPATION in _shown_occupations(lone, "labor")
    assert LONE_OCCUPATION not in _shown_occupations(lone, "commerce"), "the seeker is shown (this proves nothing)"
    quarters = _shown_quarters(lone, "commerce")
    assert quarters[0] == (2023, 1)  # 2022 Q3 is not shown to commerce
    rows = lone("commerce", FORECAST)["demandForecast"]
    last = (2024, 4)
    shown_history = (last[0] - quarters[0][0]) * 4 + last[1] - quarters[0][1] + 1
    assert (LONE_OCCUPATION in {r["occupationCode"] for r in rows}, {r["history"] for r in rows}) == (
        False, {shown_history})
