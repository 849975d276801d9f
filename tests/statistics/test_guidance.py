"""Enrollment guidance (issue 16) on the hand-made dataset of tests/support/guidance_dataset.py: every list worked out by hand
(the module's docstring has the data).

Tianhe 2024: graduates M2 90 (3 schools), M1 10 -> shares 0.9, 0.1; demand 3911 40, 6511 36+40+44+48 = 168 (208 in
all) -> demand shares 40/208, 168/208; index M2 0.9 / 0.1923 = 4.68 OVERSUPPLIED, M1 0.1 / 0.8077 = 0.124
UNDERSUPPLIED. 6511 grows (4, 8, ..., 48: the forecast of 2025 is above 2024's 168 by more than 10 %), 3911 is flat
(40 -> 40). The city adds Yuexiu: M3 20 graduates, E3's 80 in class 8411 (not mapped to any major).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from resolvers.analytics.report.html import render
from tests.support import guidance_dataset as ds
from tests.support.database import recreate_database, with_database
from tests.support.reports import report_of

M = ds.M
GUIDANCE = """query($d: String) { enrollmentGuidance(year: 2024, district: $d) { year districtCode duplicateSchools
  growthThreshold
  expand { majorCode majorName category match { index status graduatesShare demandShare perturbed }
           demand { lastYearDemand forecastDemand growth growing } schools { code districtCode } }
  open { majorCode majorName category shortageOccupations { code name } demand { lastYearDemand growing }
         taughtElsewhere { code } }
  duplicated { majorCode schoolCount match { index status } schools { code } } } }"""


@pytest.fixture(scope="module")
def guidance(server_url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    url = with_database(server_url, "hub_test_guidance")
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, policy_cache_seconds=0.0)
    asyncio.run(recreate_database(server_url, "hub_test_guidance"))
    yield settings, asyncio.run(ds.prepare(settings))


def ask(settings: Settings, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    with TestClient(create_app(settings)) as client:
        body = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers={"Authorization": f"Bearer {token}"}).json()
    return body


def guide(guidance, who: str = "education", district: str | None = None, **settings: Any) -> dict[str, Any]:
    s, tokens = guidance
    body = ask(replace(s, **settings), tokens[who], GUIDANCE, {"d": district})
    assert "errors" not in body, body["errors"]
    return body["data"]["enrollmentGuidance"]


def test_expand_undersupplied_with_growing_demand(guidance) -> None:
    g = guide(guidance, district=ds.TIANHE)
    assert (g["year"], g["districtCode"], g["duplicateSchools"], g["growthThreshold"]) == (2024, ds.TIANHE, 3, 0.1)
    (e,) = g["expand"]
    assert (e["majorCode"], e["majorName"], e["category"]) == (M[1], "计算机应用技术", "电子与信息大类")
    assert e["match"]["status"] == "UNDERSUPPLIED" and e["match"]["perturbed"] is False
    assert e["match"]["graduatesShare"] == pytest.approx(0.1)
    assert e["match"]["demandShare"] == pytest.approx(168 / 208)
    assert e["match"]["index"] == pytest.approx(0.1 / (168 / 208))
    assert e["demand"]["lastYearDemand"] == 168.0
    assert e["demand"]["growing"] is True and e["demand"]["growth"] >= 0.1
    assert e["demand"]["forecastDemand"] == pytest.approx(168 * (1 + e["demand"]["growth"]))
    assert e["schools"] == [{"code": ds.T1, "districtCode": ds.TIANHE}]


def test_no_expand_without_growth(guidance) -> None:
    """With a growth threshold no forecast reaches, M1 is still UNDERSUPPLIED but not listed."""
    assert guide(guidance, district=ds.TIANHE, stats_growth=5.0)["expand"] == []
    # growing but not UNDERSUPPLIED (index 0.124 above a bound of 0.1): not listed either
    assert guide(guidance, district=ds.TIANHE, stats_match_undersupplied=0.1)["expand"] == []


def test_city_expand_lists_every_undersupplied_growing_major(guidance) -> None:
    """City: graduates M2 90, M1 10, M3 20 (120); demand 3911 40, 6511 168, 8411 80 (288): M1 index
    (10/120) / (168/288) = 0.143, M3 (20/120) / (168/288) = 0.286, both UNDERSUPPLIED in growing 6511."""
    g = guide(guidance)
    assert [(e["majorCode"], e["match"]["index"]) for e in g["expand"]] == [
        (M[1], pytest.approx((10 / 120) / (168 / 288))), (M[3], pytest.approx((20 / 120) / (168 / 288)))]
    assert [e["schools"] for e in g["expand"]] == [[{"code": ds.T1, "districtCode": ds.TIANHE}],
                                                   [{"code": ds.Y1, "districtCode": ds.YUEXIU}]]


def test_open_untaught_majors_of_shortage_occupations_or_growing_industries(guidance) -> None:
    """Tianhe teaches M1 and M2. M3 (taught in Yuexiu) and M5 map to growing 6511; M4 to O1, on 2024's shortage
    list; M6 maps to nothing."""
    g = guide(guidance, district=ds.TIANHE)
    assert [(o["majorCode"], [s["code"] for s in o["shortageOccupations"]], o["demand"] and o["demand"]["growing"],
             [s["code"] for s in o["taughtElsewhere"]]) for o in g["open"]] == [
        (M[3], [], True, [ds.Y1]), (M[5], [], True, []), (M[4], [ds.O1], None, [])]
    names = {o["majorCode"]: (o["majorName"], o["category"]) for o in g["open"]}
    assert names[M[5]] == ("软件技术", "电子与信息大类")  # from the catalog: no school teaches it
    assert g["open"][2]["shortageOccupations"] == [{"code": ds.O1, "name": "养老护理员"}]


def test_open_depends_on_the_district(guidance) -> None:
    """Yuexiu has no demand in 6511 or 3911: only M4 (shortage occupation) is to open there; the city lacks M4
    and M5."""
    assert [o["majorCode"] for o in guide(guidance, district=ds.YUEXIU)["open"]] == [M[4]]
    assert [o["majorCode"] for o in guide(guidance)["open"]] == [M[5], M[4]]


def test_duplicated_needs_n_schools_and_oversupply(guidance) -> None:
    g = guide(guidance, district=ds.TIANHE)
    assert [(d["majorCode"], d["schoolCount"], d["match"]["status"], [s["code"] for s in d["schools"]])
            for d in g["duplicated"]] == [(M[2], 3, "OVERSUPPLIED", [ds.T2, ds.T3, ds.T1])]  # by school code
    assert g["duplicated"][0]["match"]["index"] == pytest.approx(0.9 / (40 / 208))
    assert guide(guidance, district=ds.TIANHE, stats_duplicate_schools=4)["duplicated"] == []
    # three schools but not OVERSUPPLIED (index 4.68 under a bound of 10): not duplicated
    assert guide(guidance, district=ds.TIANHE, stats_match_oversupplied=10.0)["duplicated"] == []
    assert guide(guidance, district=ds.YUEXIU)["duplicated"] == []  # one school


def test_non_owners_see_the_guidance_from_perturbed_graduates(guidance) -> None:
    """Commerce sees the match from perturbed graduates (perturbed: true); on this data the lists are the same."""
    mine, theirs = guide(guidance, district=ds.TIANHE), guide(guidance, "commerce", district=ds.TIANHE)
    assert all(e["match"]["perturbed"] for e in theirs["expand"] + [])
    assert [e["majorCode"] for e in theirs["expand"]] == [e["majorCode"] for e in mine["expand"]]
    assert [d["majorCode"] for d in theirs["duplicated"]] == [d["majorCode"] for d in mine["duplicated"]]
    assert theirs["open"] == mine["open"]


def test_industry_series_follow_the_eight_quarter_rule(guidance) -> None:
    """The guidance's demand is the forecast per industry class: Tianhe's 6511 has 12 quarters; Yuexiu's 8411 only
    4, so Yuexiu has no growth figure for anything."""
    g = guide(guidance, district=ds.YUEXIU)
    assert all(o["demand"] is None for o in g["open"])


def test_bad_district_is_a_user_error(guidance) -> None:
    s, tokens = guidance
    body = ask(s, tokens["commerce"], '{ enrollmentGuidance(year: 2024, district: "abc") { year } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = ask(s, tokens["commerce"], "{ enrollmentGuidance(year: 1999) { year } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_catalog_is_public_and_paged(guidance) -> None:
    s, tokens = guidance
    body = ask(s, tokens["science"], '{ majorCatalog(first: 2, codePrefix: "51") { nodes { code name category } '
                                     "pageInfo { hasNextPage } } }")
    assert body["data"]["majorCatalog"] == {
        "nodes": [{"code": M[1], "name": "计算机应用技术", "category": "电子与信息大类"},
                  {"code": M[3], "name": "计算机网络技术", "category": "电子与信息大类"}],
        "pageInfo": {"hasNextPage": True}}


# --- the annual report's sections 8 and 9 -------------------------------------------------------------------------

def test_the_report_has_the_forecast_and_guidance_sections(guidance) -> None:
    """The draft of 2024 (the public view): the likely shortages (O1 on the forecast of 2025, on the official list),
    the city's guidance (EXPAND M1 and M3, OPEN M5 and M4, DUPLICATED M2) and both definitions."""
    s, tokens = guidance
    with TestClient(create_app(s)) as client:
        page = client.get("/reports/2024?lang=en", headers={"Authorization": f"Bearer {tokens['commerce']}"}).text
        document = client.get("/reports/2024.json", headers={"Authorization": f"Bearer {tokens['commerce']}"}).json()

    def codes(table: str) -> list[str]:
        body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
        return re.findall(r'<td class="t">(\d{6}|\d-\d\d-\d\d-\d\d)</td>', body)

    assert '<section id="forecast-section"><h2>8. Demand forecast</h2>' in page
    assert codes("likely-shortages") == [ds.O1]
    assert codes("guidance-expand") == [M[1], M[3]]
    assert codes("guidance-open") == [M[5], M[4]]
    assert codes("guidance-duplicated") == [M[2]]
    assert "taught by at least 3 schools there while oversupplied" in page
    assert "at least 10 % above the latest 4 quarters" in page
    assert "history too short: not tested" in page  # 12 quarters: no origin with 12 before it and data after
    with TestClient(create_app(s)) as client:
        csv = client.get("/reports/2024.csv", headers={"Authorization": f"Bearer {tokens['commerce']}"}).text
    assert f"guidance_duplicated,{M[2]},机械制造及自动化,schoolCount,3," in csv
    assert f"likely_shortage,{ds.O1},养老护理员,onOfficialList,true," in csv
    figures = document["figures"]
    assert [e["majorCode"] for e in figures["enrollmentGuidance"]["duplicated"]] == [M[2]]
    assert figures["forecast"]["likelyShortages"][0]["occupationCode"] == ds.O1
    assert figures["forecast"]["accuracy"] == {"demand": None, "supply": None}


def test_versions_frozen_before_the_forecasts_render_without_them(guidance) -> None:
    s, tokens = guidance
    with TestClient(create_app(s)) as client:
        document = client.get("/reports/2024.json", headers={"Authorization": f"Bearer {tokens['labor']}"}).json()
    old = {k: v for k, v in document["figures"].items() if k not in ("forecast", "enrollmentGuidance")}
    page = render(report_of({**document, "figures": old, "status": "published", "version": 1,
                              "publishedAt": "2025-01-02T03:04:05+00:00"}), "en")
    assert "forecast-section" not in page and "guidance-section" not in page and "Enrollment guidance" not in page
    assert '<section id="warnings-section">' in page
