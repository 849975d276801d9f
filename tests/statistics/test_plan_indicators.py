"""The plan's indicators (issue 16) on the hand-made dataset (tests/stats_dataset.py, "The plan's sources"): measured
values, the trajectory, every status rule, the targets' admin mutation, and the teacher counts' disclosure control.

Worked out by hand (labor's horizon is 2024, so the statistics cover 2015-2024):
* KEY_MAJOR_GROUPS cumulative: 2019 1, 2020 1, 2021 2, 2022 2, 2023 3; DOUBLE_BASES: 2020 1, 2022 2;
  CITY_HIGH_STANDARD_SCHOOLS: 2023 1; CERTIFIED_INTEGRATION_ENTERPRISES: 2021 1 (E2's year is not kept);
* teachers on 31 December (exact): 2020 8, 4 dual-qualified (share 1/2); 2022 7, 4 (4/7); 2023 7, 5 (5/7).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support import stats_dataset as ds
from tests.support.helpers import sql

PLAN = """query($y: Int!) { planIndicators(year: $y) { indicator name owner unit year targetValue baseYear targetYear
  baseValue measuredValue expectedValue progress status trend { year value }
  teachers { specialtyTeachers dualQualified perturbed schools { schoolCode specialtyTeachers dualQualified share
  perturbed } } } }"""
SET = """mutation SetTarget($i: PlanIndicatorKey!, $v: Float, $b: Int!, $t: Int!) {
  setPlanTarget(indicator: $i, targetValue: $v, baseYear: $b, targetYear: $t) {
    indicator unit targetValue baseYear targetYear updatedBy } }"""


@pytest.fixture(scope="module")
def env(stats_settings) -> Iterator[tuple[Settings, dict[str, str], TestClient]]:
    settings, tokens = stats_settings
    with TestClient(create_app(settings)) as client:
        yield settings, tokens, client


def gql(env: Any, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    _, tokens, client = env
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers={"Authorization": f"Bearer {tokens[who]}"})
    assert response.status_code == 200, response.text
    return response.json()


def indicators(env: Any, year: int, who: str = "education") -> dict[str, dict[str, Any]]:
    body = gql(env, who, PLAN, {"y": year})
    assert "errors" not in body, body
    return {i["indicator"]: i for i in body["data"]["planIndicators"]}


def summary(i: dict[str, Any]) -> tuple:
    return i["measuredValue"], i["baseValue"], i["expectedValue"], i["status"]


@pytest.fixture
def target(env: Any) -> Iterator[Any]:
    """Set targets as the admin for one test; the plan's values are put back afterwards."""
    settings = env[0]
    before = sql(settings.database_url, "select indicator, target_value, base_year, target_year from hub.plan_targets")

    def set_target(indicator: str, value: float | None, base: int, until: int) -> dict[str, Any]:
        body = gql(env, "admin", SET, {"i": indicator, "v": value, "b": base, "t": until})
        assert "errors" not in body, body
        return body["data"]["setPlanTarget"]

    yield set_target
    for r in before:
        sql(settings.database_url, "update hub.plan_targets set target_value = $2, base_year = $3, target_year = $4 "
                                   "where indicator = $1", r["indicator"], r["target_value"], r["base_year"],
            r["target_year"])


def test_every_target_of_the_plan_is_listed_in_its_order_with_its_values(env) -> None:
    found = indicators(env, 2022)
    assert [(k, i["targetValue"], i["baseYear"], i["targetYear"], i["unit"], i["owner"]) for k, i in found.items()] == [
        ("KEY_MAJOR_GROUPS", 35.0, 2020, 2022, "COUNT", "education"),
        ("DOUBLE_BASES", 12.0, 2020, 2022, "COUNT", "education"),
        ("TRAINING_BASES", 35.0, 2020, 2022, "COUNT", "education"),
        ("SHORTAGE_SPECIALTY_MAJORS", 35.0, 2020, 2022, "COUNT", "education"),
        ("APPRENTICESHIP_MAJORS", 24.0, 2020, 2022, "COUNT", "education"),
        ("CITY_HIGH_STANDARD_SCHOOLS", 1.0, 2020, 2022, "COUNT", "education"),
        ("DUAL_QUALIFIED_SHARE", 0.6, 2020, 2025, "SHARE", "education"),
        ("CERTIFIED_INTEGRATION_ENTERPRISES", None, 2020, 2025, "COUNT", "commerce")]
    assert found["KEY_MAJOR_GROUPS"]["name"] == "骨干专业群"


def test_measured_values_are_cumulative_as_of_the_years_end(env) -> None:
    found = indicators(env, 2023)
    assert [(t["year"], t["value"]) for t in found["KEY_MAJOR_GROUPS"]["trend"]] == [
        (2015, 0.0), (2016, 0.0), (2017, 0.0), (2018, 0.0), (2019, 1.0), (2020, 1.0), (2021, 2.0), (2022, 2.0),
        (2023, 3.0)]
    measured = {k: i["measuredValue"] for k, i in found.items()}
    assert measured == {"KEY_MAJOR_GROUPS": 3.0, "DOUBLE_BASES": 2.0, "TRAINING_BASES": 0.0,
                        "SHORTAGE_SPECIALTY_MAJORS": 2.0, "APPRENTICESHIP_MAJORS": 1.0, "CITY_HIGH_STANDARD_SCHOOLS": 1.0,
                        "DUAL_QUALIFIED_SHARE": 5 / 7, "CERTIFIED_INTEGRATION_ENTERPRISES": 1.0}


def test_behind_below_the_trajectory_and_after_the_target_year(env) -> None:
    """DOUBLE_BASES, 12 by 2022 from 2020 (1 base): 2021 expects 1 + 11 / 2 = 6.5, has 1; 2022 expects 12, has 2."""
    assert summary(indicators(env, 2021)["DOUBLE_BASES"]) == (1.0, 1.0, 6.5, "BEHIND")
    late = indicators(env, 2022)["DOUBLE_BASES"]
    assert summary(late) == (2.0, 1.0, 12.0, "BEHIND") and late["progress"] == pytest.approx(2 / 12)
    # the high-standard school came in 2023, a year after its target year: BEHIND in 2022, MET from 2023
    assert summary(indicators(env, 2022)["CITY_HIGH_STANDARD_SCHOOLS"]) == (0.0, 0.0, 1.0, "BEHIND")
    met = indicators(env, 2024)["CITY_HIGH_STANDARD_SCHOOLS"]
    assert summary(met) == (1.0, 0.0, 1.0, "MET") and met["progress"] == 1.0


def test_on_track_at_or_above_the_trajectory_and_met_at_the_target(env, target) -> None:
    """KEY_MAJOR_GROUPS set to 3 by 2024 from 2020 (1 group): the trajectory is 1.5 in 2021 (has 2: ON_TRACK), 2.0 in
    2022 (has 2: ON_TRACK, equal counts), 2.5 in 2023 (has 3 = the target: MET); before the base year there is no
    base value (its year has not ended), no trajectory and no status."""
    assert target("KEY_MAJOR_GROUPS", 3, 2020, 2024) == {
        "indicator": "KEY_MAJOR_GROUPS", "unit": "COUNT", "targetValue": 3.0, "baseYear": 2020, "targetYear": 2024,
        "updatedBy": "bigdata: big-data bureau (admin)"}
    assert summary(indicators(env, 2021)["KEY_MAJOR_GROUPS"]) == (2.0, 1.0, 1.5, "ON_TRACK")
    assert summary(indicators(env, 2022)["KEY_MAJOR_GROUPS"]) == (2.0, 1.0, 2.0, "ON_TRACK")
    met = indicators(env, 2023)["KEY_MAJOR_GROUPS"]
    assert summary(met) == (3.0, 1.0, 2.5, "MET") and met["progress"] == 1.0
    early = indicators(env, 2019)["KEY_MAJOR_GROUPS"]
    assert summary(early) == (1.0, None, None, None) and early["progress"] == pytest.approx(1 / 3)


def test_the_dual_qualified_share_from_exact_counts_for_education(env) -> None:
    """0.60 by 2025 from 2020 (4 of 8 = 0.5): 2022 expects 0.5 + 0.1 * 2 / 5 = 0.54 and has 4 of 7 (ON_TRACK); 2023
    has 5 of 7 (MET)."""
    share = indicators(env, 2022)["DUAL_QUALIFIED_SHARE"]
    assert summary(share) == (pytest.approx(4 / 7), 0.5, pytest.approx(0.54), "ON_TRACK")
    assert share["progress"] == pytest.approx((4 / 7) / 0.6)
    assert share["teachers"] == {"specialtyTeachers": 7, "dualQualified": 4, "perturbed": False, "schools": [
        {"schoolCode": ds.S2, "specialtyTeachers": 2, "dualQualified": 0, "share": 0.0, "perturbed": False},
        {"schoolCode": ds.S3, "specialtyTeachers": 1, "dualQualified": 1, "share": 1.0, "perturbed": False},
        {"schoolCode": ds.S1, "specialtyTeachers": 4, "dualQualified": 3, "share": 0.75, "perturbed": False}]}
    assert summary(indicators(env, 2023)["DUAL_QUALIFIED_SHARE"])[::3] == (pytest.approx(5 / 7), "MET")
    assert indicators(env, 2022)["KEY_MAJOR_GROUPS"]["teachers"] is None


def test_an_indicator_without_a_number_shows_count_and_trend_without_a_status(env) -> None:
    found = indicators(env, 2022)["CERTIFIED_INTEGRATION_ENTERPRISES"]
    assert (found["targetValue"], found["expectedValue"], found["progress"], found["status"]) == (None, None, None,
                                                                                                  None)
    assert [t["value"] for t in found["trend"]] == [0.0] * 6 + [1.0, 1.0]  # 2015-2022: E1 certified in 2021


def test_a_year_without_data_has_no_value_and_no_status(env) -> None:
    for year in (2014, 2030):  # before the statistics begin, after labor's horizon
        found = indicators(env, year)["KEY_MAJOR_GROUPS"]
        assert (found["measuredValue"], found["status"]) == (None, None)
    body = gql(env, "commerce", PLAN, {"y": 1999})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_non_owners_see_the_teacher_counts_perturbed(env) -> None:
    """The cell-key values the refresh stored: never 1 or 2, at most 2 from the exact count, the same for every
    non-owner; the share and status come from them."""
    exact = indicators(env, 2022)["DUAL_QUALIFIED_SHARE"]["teachers"]
    shown = {who: indicators(env, 2022, who)["DUAL_QUALIFIED_SHARE"] for who in ("commerce", "labor", "admin")}
    assert shown["commerce"] == shown["labor"] == shown["admin"]
    teachers = shown["commerce"]["teachers"]
    assert teachers["perturbed"] is True
    for mine, theirs in zip(exact["schools"], teachers["schools"]):
        assert mine["schoolCode"] == theirs["schoolCode"] and theirs["perturbed"] is True
        for field in ("specialtyTeachers", "dualQualified"):
            assert theirs[field] not in (1, 2) and abs(theirs[field] - mine[field]) <= 2
    if teachers["specialtyTeachers"]:
        assert shown["commerce"]["measuredValue"] == teachers["dualQualified"] / teachers["specialtyTeachers"]


def test_only_an_admin_changes_a_target_with_clear_errors(env, target) -> None:
    refused = gql(env, "education", SET, {"i": "DOUBLE_BASES", "v": 20, "b": 2020, "t": 2022})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN" and refused["data"] is None
    for variables, argument in (({"i": "DOUBLE_BASES", "v": 20, "b": 2014, "t": 2022}, "baseYear"),
                                ({"i": "DOUBLE_BASES", "v": 20, "b": 2022, "t": 2021}, "targetYear"),
                                ({"i": "DOUBLE_BASES", "v": 2.5, "b": 2020, "t": 2022}, "targetValue"),
                                ({"i": "DOUBLE_BASES", "v": -1, "b": 2020, "t": 2022}, "targetValue"),
                                ({"i": "DUAL_QUALIFIED_SHARE", "v": 60, "b": 2020, "t": 2025}, "targetValue")):
        body = gql(env, "admin", SET, variables)
        [error] = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", argument), body
    assert indicators(env, 2022)["DOUBLE_BASES"]["targetValue"] == 12.0  # nothing changed
    # a number for the certified enterprises gives them a status; the change is audited
    assert target("CERTIFIED_INTEGRATION_ENTERPRISES", 2, 2020, 2022)["targetValue"] == 2.0
    assert summary(indicators(env, 2021)["CERTIFIED_INTEGRATION_ENTERPRISES"]) == (1.0, 0.0, 1.0, "ON_TRACK")
    audited = sql(env[0].database_url, "select department, outcome, error_codes from hub.audit_log "
                                       "where operation_name = 'SetTarget' order by id")
    assert [(r["department"], r["outcome"], list(r["error_codes"])) for r in audited[-7:]] == [
        ("education", "DENIED", ["FORBIDDEN"]), *[("bigdata", "ERROR", ["BAD_USER_INPUT"])] * 5, ("bigdata", "OK", [])]


# setPlanTarget with hostile numbers (attack review): a count target must be a count the API can carry back exactly
# (a GraphQL Int), not any float; the refusal is BAD_USER_INPUT naming targetValue, and nothing changes.
@pytest.mark.parametrize("value", [1e300, 2.0 ** 53 + 2, 2.0 ** 31])
def test_a_count_target_beyond_any_count_is_refused(env, target, value: float) -> None:
    """(``target`` puts the plan's values back should one be accepted.)"""
    body = gql(env, "admin", SET, {"i": "DOUBLE_BASES", "v": value, "b": 2020, "t": 2022})
    assert [(e["extensions"]["code"], e["extensions"].get("argument")) for e in body.get("errors", [])] == [
        ("BAD_USER_INPUT", "targetValue")], body
    assert indicators(env, 2022)["DOUBLE_BASES"]["targetValue"] == 12.0  # nothing changed
