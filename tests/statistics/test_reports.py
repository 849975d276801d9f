"""The annual report: the HTML page, its CSV and JSON, publishing versions, and the CLI (hand-made dataset)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any, Iterator

import asyncpg
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from hub.app import create_app
from hub.cli.main import app as cli
from hub.db.pools import Databases
from hub.settings import Settings
from resolvers.analytics.report import html as report_html, svg as report_svg
from resolvers.analytics.report.build import Report
from resolvers.analytics.report.html import covered_quarter, render
from resolvers.analytics.statistics import refresh_statistics
from tests.support import stats_dataset as ds
from tests.support.database import recreate_database, with_database
from tests.support.reports import refresh, report_of

PUBLISH = "mutation($y: Int!) { publishReport(year: $y) { year version url refreshId watermark } }"


@pytest.fixture(scope="module")
def env(server_url: str) -> Iterator[tuple[Settings, dict[str, str], TestClient]]:
    url = with_database(server_url, "hub_test_reports")
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, policy_cache_seconds=0.0)
    asyncio.run(recreate_database(server_url, "hub_test_reports"))
    tokens = asyncio.run(ds.prepare(settings, dict.fromkeys(("hub", "labor", "commerce", "education"), url)))
    with TestClient(create_app(settings)) as client:
        yield settings, tokens, client


def auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def gql(client: TestClient, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def sql(url: str, query: str, *args: Any) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.execute(query, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_a_draft_needs_a_token(env) -> None:
    settings, tokens, client = env
    for path in ("/reports/2024", "/reports/2024.csv", "/reports/2024.json"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = client.get("/reports/2024", headers=auth(tokens, "commerce"))
    assert response.status_code == 200
    page = response.text
    assert '<div class="banner draft" id="status">' in page and "草稿" in page
    assert "2024年度技能人才供求信息报告" in page
    assert response.headers["cache-control"] == "private, no-store"
    assert client.get("/reports/2024", headers={"Authorization": "Bearer tdh_wrong"}).status_code == 401


def test_the_page_is_self_contained(env) -> None:
    settings, tokens, client = env
    page = client.get("/reports/2024", headers=auth(tokens, "labor")).text
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'none'" in page
    for chart in ("chart-quarterly-ratio", "chart-shortage", "chart-skill-level", "chart-district"):
        assert f'<svg class="chart' in page and f'id="{chart}"' in page
    for table in ("totals", "shortage", "by-skill-level", "by-district", "training", "match", "warnings"):
        assert f'<table id="{table}">' in page
    # names as in the data, in every language
    assert "计算机整机装配调试员" in page and "计算机网络技术" in page and "天河区" in page
    english = client.get("/reports/2024?lang=en", headers=auth(tokens, "labor")).text
    assert '<html lang="en">' in english and "Skilled-talent supply and demand report 2024" in english
    assert "Shortage occupations" in english and "计算机整机装配调试员" in english and "草稿" not in english


def test_a_year_without_data_renders_an_empty_draft(env) -> None:
    settings, tokens, client = env
    response = client.get("/reports/2031?lang=en", headers=auth(tokens, "labor"))
    assert response.status_code == 200
    assert 'id="chart-quarterly-ratio"' in response.text and "No major is warned this year." in response.text
    figures = client.get("/reports/2031.json", headers=auth(tokens, "labor")).json()["figures"]
    assert figures["annual"] == {"year": 2031, "quarter": None, "occupationCode": None, "occupationName": None,
                                 "districtCode": None, "districtName": None, "skillLevel": None,
                                 "industrySection": None, "industrySectionName": None, "demand": 0, "supply": 0,
                                 "ratio": None, "gap": 0, "suppressed": False, "perturbed": False}
    assert figures["shortage"] == [] and figures["trainingCatalog"] == []


def test_the_public_report_shows_perturbed_person_counts(env) -> None:
    settings, tokens, client = env
    # The labor consumer reads its own seekers exactly over GraphQL, but the report is the public view: the
    # same figures as any reader that owns none of the persons (here commerce) gets.
    figures = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()["figures"]
    w = next(m for m in figures["majorIndustryMatch"] if m["majorCode"] == "570101")
    assert (w["graduates"], w["perturbed"], w["suppressed"]) == (0, True, False)  # 1 graduate, shown as 0
    level5 = next(r for r in figures["bySkillLevel"] if r["skillLevel"] == 5)
    assert (level5["demand"], level5["supply"], level5["perturbed"]) == (8, 4, True)  # 1 seeker (4 quarters)
    assert (figures["annual"]["demand"], figures["annual"]["supply"]) == (132, 72)
    query = "{ supplyDemand(year: 2024, groupBy: [DISTRICT]) { nodes { districtCode demand supply ratio gap } } }"
    body = client.post("/graphql", json={"query": query}, headers=auth(tokens, "commerce")).json()
    assert [{k: r[k] for k in ("districtCode", "demand", "supply", "ratio", "gap")} for r in figures["byDistrict"]] \
        == body["data"]["supplyDemand"]["nodes"]


def test_the_draft_is_the_public_view_for_every_reader(env) -> None:
    """The live draft is computed like a published version (the cell-key method's perturbed counts), whoever reads
    it: the owners of the seekers (labor) and of the graduates (education) and admins get the figures commerce gets,
    not their exact counts."""
    settings, tokens, client = env
    query = "{ supplyDemand(year: 2024, groupBy: [SKILL_LEVEL]) { nodes { skillLevel supply } } }"
    exact = gql(client, tokens["labor"], query)["data"]["supplyDemand"]["nodes"]
    public = gql(client, tokens["commerce"], query)["data"]["supplyDemand"]["nodes"]
    assert exact != public  # the dataset has cells the method perturbs
    for year in (2023, 2024):
        drafts = {who: client.get(f"/reports/{year}.json?draft=1", headers=auth(tokens, who)).json()["figures"]
                  for who in ("commerce", "labor", "education", "admin")}
        assert all(figures == drafts["commerce"] for figures in drafts.values()), year
    assert [{"skillLevel": r["skillLevel"], "supply": r["supply"]} for r in drafts["labor"]["bySkillLevel"]] == public


def test_csv_and_json_give_the_same_figures(env) -> None:
    settings, tokens, client = env
    document = client.get("/reports/2024.json", headers=auth(tokens, "education")).json()
    response = client.get("/reports/2024.csv", headers=auth(tokens, "education"))
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["section", "key", "name", "metric", "value", "suppressed"]

    def value(section: str, key: str, metric: str) -> str:
        (row,) = [r for r in rows if (r["section"], r["key"], r["metric"]) == (section, key, metric)]
        return row["value"]

    f = document["figures"]
    assert value("totals", "2024", "demand") == str(f["annual"]["demand"]) == "132"
    assert value("quarters", "2024Q3", "demand") == "42" and float(value("quarters", "2024Q4", "ratio")) == 18 / 18
    assert [s["occupationCode"] for s in f["shortage"]] == [ds.OCC["A"], ds.OCC["E"]]
    assert value("shortage", ds.OCC["E"], "previousRank") == "1" and value("shortage", ds.OCC["A"], "gap") == "34"
    assert value("match", "440104/510202", "status") == "BALANCED"
    assert value("match", "city/510202", "status") == "OVERSUPPLIED"
    assert value("warnings", f"460104/{ds.S1}", "level") == "RED"
    assert not [r for r in rows if r["key"] == f"570101/{ds.S2}"]  # 2024's 1 graduate is shown as 0: no run
    assert value("training", ds.OCC["A"], "seats") == "50" and value("training", ds.OCC["A"], "shortage") == "true"
    assert document["status"] == "draft" and document["thresholds"]["shortageRatio"] == 1.5


def test_publishing_freezes_a_numbered_version(env) -> None:
    settings, tokens, client = env
    body = gql(client, tokens["labor"], PUBLISH, {"y": 2024})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    v1 = gql(client, tokens["admin"], PUBLISH, {"y": 2024})["data"]["publishReport"]
    assert (v1["year"], v1["version"], v1["url"]) == (2024, 1, "/reports/2024?version=1")
    assert v1["watermark"]["refreshId"] == v1["refreshId"]

    public = client.get("/reports/2024")  # published: no token needed
    assert public.status_code == 200 and '<div class="banner published" id="status">' in public.text
    assert "第1版" in public.text and "草稿" not in public.text
    frozen = client.get("/reports/2024.json?version=1").json()
    assert (frozen["status"], frozen["version"], frozen["watermark"]["refreshId"]) == ("published", 1, v1["refreshId"])
    # the frozen watermark keeps every source's row counts (admins see them); the public and other departments don't
    assert "tables" in v1["watermark"]["sources"]["labor"] and "tables" not in frozen["watermark"]["sources"]["labor"]
    listed = gql(client, tokens["commerce"], "{ publishedReports(year: 2024) { watermark } }")["data"]
    assert listed["publishedReports"][0]["watermark"]["sources"]["labor"] == {"horizonYear": 2024}
    assert client.get("/reports/2024.csv").status_code == 200

    # Later data: 40 more welders wanted in 2024 Q4, refreshed.
    sql(settings.database_url, "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, "
        "wage_min, wage_max, education, skill_level, district_code, posted_on, closes_on) values ('岗位', $1, $2, 40, "
        "5000, 6000, 'HIGH_SCHOOL', 4, '440104', '2024-11-01', '2024-12-31')", ds.E2, ds.OCC["B"])
    refresh(settings)
    live = gql(client, tokens["labor"], "{ supplyDemand(year: 2024) { nodes { demand } } }")
    assert live["data"]["supplyDemand"]["nodes"] == [{"demand": 172}]
    assert client.get("/reports/2024.json?version=1").json() == frozen
    assert client.get("/reports/2024.json").json()["figures"] == frozen["figures"]  # latest is still version 1
    draft = client.get("/reports/2024.json?draft=1", headers=auth(tokens, "commerce")).json()
    assert (draft["status"], draft["figures"]["annual"]["demand"]) == ("draft", 172)
    assert client.get("/reports/2024?draft=1").status_code == 401

    v2 = gql(client, tokens["admin"], PUBLISH, {"y": 2024})["data"]["publishReport"]
    assert v2["version"] == 2 and v2["refreshId"] > v1["refreshId"]
    page = client.get("/reports/2024").text
    assert "第2版" in page and 'href="/reports/2024?version=1"' in page and 'href="/reports/2024?version=2"' in page
    assert client.get("/reports/2024.json").json()["figures"]["annual"]["demand"] == 172
    assert client.get("/reports/2024.json?version=1").json() == {**frozen, "versions": frozen["versions"] + [
        {"version": 2, "publishedAt": client.get("/reports/2024.json").json()["publishedAt"],
         "publishedBy": "bigdata: big-data bureau (admin)", "withdrawn": False}]}
    listed = gql(client, tokens["commerce"], "{ publishedReports(year: 2024) { version refreshId } }")
    assert listed["data"]["publishedReports"] == [{"version": 1, "refreshId": v1["refreshId"]},
                                                  {"version": 2, "refreshId": v2["refreshId"]}]


def test_published_versions_cannot_be_altered(env) -> None:
    settings, tokens, client = env
    gql(client, tokens["admin"], PUBLISH, {"y": 2023})
    for statement in ("update hub.stat_publications set figures = '{}'::jsonb",
                      "delete from hub.stat_publications", "truncate hub.stat_publications"):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            sql(settings.database_url, statement)


def test_publishing_a_year_without_figures_is_refused(env) -> None:
    settings, tokens, client = env
    body = gql(client, tokens["admin"], PUBLISH, {"y": 2030})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = gql(client, tokens["admin"], PUBLISH, {"y": 1900})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("path, status", [
    ("/reports/2024?lang=fr", 400), ("/reports/2024?version=0", 400), ("/reports/2024?version=x", 400),
    ("/reports/2024?version=99", 404), ("/reports/1999", 404), ("/reports/2024.json?version=1&draft=1", 400),
    ("/reports/abc", 404)])
def test_bad_report_requests(env, path: str, status: int) -> None:
    settings, tokens, client = env
    assert client.get(path, headers=auth(tokens, "labor")).status_code == status


def test_cli_refresh_publish_and_render(env, tmp_path: Path) -> None:
    settings, tokens, client = env
    runner = CliRunner()
    environment = {"DATABASE_URL": settings.database_url}
    result = runner.invoke(cli, ["stats", "refresh"], env=environment)
    assert result.exit_code == 0, result.output
    assert "statistics refresh #" in result.output
    result = runner.invoke(cli, ["report", "publish", "2019"], env=environment)
    assert result.exit_code == 1 and "no figures for 2019" in result.output  # the dataset starts in 2020
    result = runner.invoke(cli, ["report", "publish", "2023"], env=environment)
    assert result.exit_code == 0, result.output
    version = int(re.search(r"published 2023 version (\d+)", result.output).group(1))
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", "2023", "--out", str(out)], env=environment)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert f"第{version}版" in page and "2023年度技能人才供求信息报告" in page and '<svg class="chart' in page
    result = runner.invoke(cli, ["report", "2023", "--draft", "--lang", "en", "--out", str(out)], env=environment)
    assert result.exit_code == 0 and "DRAFT" in out.read_text(encoding="utf-8")
    for args in (["report", "--help"], ["report", "publish", "--help"], ["report", "render", "--help"],
                 ["stats", "refresh", "--help"]):
        assert runner.invoke(cli, args).exit_code == 0


def test_readers_never_see_half_a_refresh(env) -> None:
    """While a refresh replaces the summary tables, a reader sees the previous figures or the new ones, never
    an empty or half-filled table, and is not blocked."""
    settings, tokens, client = env
    query = "{ supplyDemand(year: 2024) { nodes { demand } } }"
    before = gql(client, tokens["labor"], query)["data"]["supplyDemand"]["nodes"][0]["demand"]
    sql(settings.database_url, "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, "
        "wage_min, wage_max, education, district_code, posted_on, closes_on) values ('岗位', $1, $2, 7, 5000, 6000, "
        "'HIGH_SCHOOL', '440106', '2024-05-01', '2024-05-31')", ds.E1, ds.OCC["D"])

    async def go() -> list[tuple[int, ...]]:
        db = await Databases(settings, settings.database_url).open()
        try:
            seen: list[tuple[int, ...]] = []
            done = asyncio.Event()

            async def read() -> None:
                while not done.is_set():
                    rows = await db.hub.fetch("hub/stats_supply_demand", 2024, 0, None, None, None, None, None, 10, 0,
                                              True)
                    seen.append(tuple(r["demand"] for r in rows))
                    await asyncio.sleep(0)

            reader = asyncio.create_task(read())
            try:
                await refresh_statistics(db)
            finally:
                done.set()
                await reader
            return seen
        finally:
            await db.close()

    seen = asyncio.run(go())
    assert len(seen) > 3 and set(seen) <= {(before,), (before + 7,)}
    after = gql(client, tokens["labor"], query)["data"]["supplyDemand"]["nodes"][0]["demand"]
    assert after == before + 7


def test_concurrent_refreshes_run_one_after_the_other(env) -> None:
    settings, tokens, client = env

    async def go():
        one = await Databases(settings, settings.database_url).open()
        two = await Databases(settings, settings.database_url).open()
        try:
            return await asyncio.gather(refresh_statistics(one), refresh_statistics(two))
        finally:
            await one.close()
            await two.close()

    a, b = asyncio.run(go())
    first, second = sorted((a, b), key=lambda w: w.refresh_id)
    assert second.refresh_id == first.refresh_id + 1
    assert second.started_at >= first.refreshed_at  # the second waited for the first to finish
    rows = gql(client, tokens["labor"], "{ supplyDemand(year: 2024, groupBy: [QUARTER]) { nodes { quarter } } }")
    assert [n["quarter"] for n in rows["data"]["supplyDemand"]["nodes"]] == [1, 2, 3, 4]


# --- published files are safe to open (issue 12) ---------------------------------------------------------

def _csv_rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_report_csv_neutralises_formulas_and_keeps_numbers(env) -> None:
    settings, tokens, client = env
    rows = _csv_rows_of(client.get("/reports/2022.csv", headers=auth(tokens, "labor")).text)
    (providers,) = [r for r in rows if (r["section"], r["key"], r["metric"]) == ("training", ds.OCC["F"], "providers")]
    assert providers["value"] == "'" + ds.HYPERLINK_PROVIDER  # text, not a live formula
    assert providers["name"] == ds.SCRIPT_NAME  # CSV is not HTML: the name is as in the data
    (seats,) = [r for r in rows if (r["section"], r["key"], r["metric"]) == ("training", ds.OCC["F"], "seats")]
    assert seats["value"] == "12"
    # Numbers stay numbers, negative ones included: every gap of the JSON is the CSV's cell as written.
    document = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()["figures"]
    rows = _csv_rows_of(client.get("/reports/2024.csv", headers=auth(tokens, "labor")).text)
    gaps = {r["key"]: r["value"] for r in rows if r["section"] == "skill_level" and r["metric"] == "gap"}
    expected = {str(r["skillLevel"] or "unstated"): r["gap"] for r in document["bySkillLevel"]}
    assert any(isinstance(g, int) and g < 0 for g in expected.values()), expected  # the data has a negative gap
    assert gaps == {k: "" if g is None else str(g) for k, g in expected.items()}
    assert not [r for r in rows if r["value"].startswith("'")]  # nothing else in this year is text to neutralise


def test_the_snapshot_csv_neutralises_formulas(env) -> None:
    settings, tokens, client = env
    response = client.get("/sync/labor.training_programs/snapshot", params={"format": "csv"},
                          headers=auth(tokens, "commerce"))
    assert response.status_code == 200, response.text
    body = response.text.rstrip("\n").rsplit("\n", 1)[0]  # without the final #cursor line
    rows = _csv_rows_of(body)
    (hostile,) = [r for r in rows if r["occupation_code"] == ds.OCC["F"]]
    assert hostile["provider"] == "'" + ds.HYPERLINK_PROVIDER and hostile["seats"] == "12"
    assert {r["provider"] for r in rows if r is not hostile} == {"甲培训学校", "乙职业技能培训中心"}


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def _hostile_names(value: Any) -> Any:
    """Every name in the figures (occupations, districts, majors, schools, industries, providers) -> HOSTILE."""
    if isinstance(value, dict):
        return {k: (HOSTILE if (k.endswith("Name") or k == "name") and isinstance(v, str) else
                    [HOSTILE for _ in v] if k == "providers" else
                    {c: HOSTILE for c in v} if k == "districtNames" else _hostile_names(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hostile_names(v) for v in value]
    return value


def test_names_in_the_page_are_escaped(env) -> None:
    settings, tokens, client = env
    page = client.get("/reports/2022", headers=auth(tokens, "labor")).text  # occupation F: <script> in its name
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#34;occupation&#34;)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://evil.example/x&#34;,&#34;click&#34;)" in page  # shown as the text it is

    document = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()
    report = report_of({**document, "figures": _hostile_names(document["figures"])})
    for lang in ("zh", "en"):
        page = render(report, lang)
        assert "<script" not in page and "<img" not in page
        for section in ("totals", "shortage", "district", "training", "match", "warnings"):
            part = page.split(f'<section id="{section}-section">')[1].split("</section>")[0]
            assert "&lt;script&gt;alert(1)" in part or "&lt;img" in part or section == "totals", section
        chart = page.split('id="chart-shortage"')[1].split("</svg>")[0]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in chart  # <title>


def test_the_page_is_built_by_an_autoescaping_template_engine() -> None:
    assert report_html.ENVIRONMENT.autoescape is True
    for module in (report_html, report_svg):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.search(r"\bescape\(|markupsafe|Markup\(|from html import", source), module.__name__


def test_versions_frozen_before_later_figures_still_render(env) -> None:
    """A version frozen before the city-wide match and the district names were part of the figures."""
    settings, tokens, client = env
    document = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()
    old = {k: v for k, v in document["figures"].items() if k not in ("majorIndustryMatchCity", "districtNames")}
    page = render(report_of({**document, "figures": old, "status": "published", "version": 1,
                              "publishedAt": "2025-01-02T03:04:05+00:00"}), "en")
    assert '<table id="match-city"><thead>' in page and "Version 1, published 2025-01-02 03:04 UTC." in page

WITHDRAW = """mutation($y: Int!, $v: Int!, $r: String!) { withdrawReport(year: $y, version: $v, reason: $r) {
  version url withdrawal { reason withdrawnBy withdrawnAt } } }"""


def test_a_published_version_can_be_withdrawn(env) -> None:
    """Issue 13: versions published before the disclosure-control fix leak small cells; they cannot be altered,
    but an admin withdraws them (append-only, with a reason) so that they stop being the latest word and their
    figures stop being public (the paths and readers: tests/statistics/test_report_withdrawn.py)."""
    settings, tokens, client = env
    v1 = gql(client, tokens["admin"], PUBLISH, {"y": 2022})["data"]["publishReport"]["version"]
    v2 = gql(client, tokens["admin"], PUBLISH, {"y": 2022})["data"]["publishReport"]["version"]
    reason = "published before the cell-key disclosure control (issue 13)"
    assert gql(client, tokens["labor"], WITHDRAW, {"y": 2022, "v": v2, "r": reason})["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"
    for variables, code in (({"y": 2022, "v": v2, "r": "  "}, "BAD_USER_INPUT"),
                            ({"y": 2022, "v": 99, "r": reason}, "NOT_FOUND"),
                            ({"y": 1900, "v": 1, "r": reason}, "BAD_USER_INPUT")):
        assert gql(client, tokens["admin"], WITHDRAW, variables)["errors"][0]["extensions"]["code"] == code
    done = gql(client, tokens["admin"], WITHDRAW, {"y": 2022, "v": v2, "r": reason})["data"]["withdrawReport"]
    assert (done["version"], done["withdrawal"]["reason"]) == (v2, reason)
    assert done["withdrawal"]["withdrawnBy"].startswith("bigdata")
    again = gql(client, tokens["admin"], WITHDRAW, {"y": 2022, "v": v2, "r": reason})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    # the latest word is v1 now; v2's figures are gone for the public, its notice says why and links v1
    latest = client.get("/reports/2022.json").json()
    assert (latest["version"], latest["withdrawal"]) == (v1, None)
    assert [(v["version"], v["withdrawn"]) for v in latest["versions"]] == [(v1, False), (v2, True)]
    old = client.get(f"/reports/2022.json?version={v2}")
    assert old.status_code == 410 and "figures" not in old.text
    assert old.json()["errors"][0]["extensions"]["replacedBy"] == v1
    admin = client.get(f"/reports/2022.json?version={v2}", headers=auth(tokens, "admin")).json()
    assert admin["withdrawal"]["reason"] == reason and admin["withdrawal"]["replacedBy"] == v1
    assert admin["figures"] == client.get(f"/reports/2022.json?version={v1}").json()["figures"]
    page = client.get(f"/reports/2022?version={v2}&lang=en").text
    assert 'id="withdrawn"' in page and reason in page and f"/reports/2022?version={v1}&amp;lang=en" in page
    assert 'id="withdrawn"' not in client.get("/reports/2022").text
    listed = gql(client, tokens["commerce"], "{ publishedReports(year: 2022) { version withdrawal { reason } } }")
    assert listed["data"]["publishedReports"] == [{"version": v1, "withdrawal": None},
                                                  {"version": v2, "withdrawal": {"reason": reason}}]
    for statement in ("update hub.stat_withdrawals set reason = 'x'", "delete from hub.stat_withdrawals",
                      "truncate hub.stat_withdrawals"):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            sql(settings.database_url, statement)
    # withdrawing every version: the year has no latest word; its page is the draft again (a token is needed)
    result = CliRunner().invoke(cli, ["report", "withdraw", "2022", str(v1), "--reason", reason],
                                env={"DATABASE_URL": settings.database_url})
    assert result.exit_code == 0 and f"withdrew 2022 version {v1}" in result.output, result.output
    assert client.get("/reports/2022").status_code == 401
    gone = client.get(f"/reports/2022.json?version={v1}")
    assert gone.status_code == 410 and gone.json()["errors"][0]["extensions"]["replacedBy"] is None
    assert 'href="/reports/2022"' in client.get(f"/reports/2022?version={v1}").text


# --- a page to publish: chart and axis titles, separators, partial years, files written by --out -----------


def _quarters(demand: list[int]) -> list[dict[str, Any]]:
    return [{"year": 2024, "quarter": q, "demand": d, "supply": d, "ratio": 1.0 if d else None, "gap": 0,
             "suppressed": False} for q, d in enumerate(demand, 1)]


def test_charts_have_visible_titles_and_a_labelled_value_axis(env) -> None:
    settings, tokens, client = env
    for lang, ratio, gap, progress in (("zh", "求人倍率（需求人数 ÷ 求职人数）", "缺口（人）", "完成进度"),
                                       ("en", "Job-to-applicant ratio (demand ÷ supply)", "Gap (persons)", "Progress")):
        page = client.get(f"/reports/2024?lang={lang}", headers=auth(tokens, "labor")).text
        figures = re.findall(r'<figure class="chart-figure" id="([\w-]+)-figure"><figcaption>([^<]+)</figcaption>'
                             r'<svg ([^>]*)>(.*?)</svg></figure>', page)
        assert [f[0] for f in figures] == ["chart-quarterly-ratio", "chart-shortage", "chart-skill-level",
                                          "chart-district", "chart-plan-progress"]
        axes = {chart: re.findall(r'<text class="axis-title"[^>]*>([^<]+)</text>', svg) for chart, _, _, svg in figures}
        assert [a[0] for a in axes.values()] == [ratio, gap, ratio, ratio, progress]  # the value axis of each chart
        for chart, caption, attributes, svg in figures:
            assert f"<title id=\"{chart}-title\">{caption}</title>" in svg  # the caption is the chart's title
            assert 'width="100%"' in attributes and "height=" not in attributes  # scaled to the page's width
            assert len(re.findall(r'<text class="tick"', svg)) >= 5  # the value axis has its scale


def test_english_lists_are_joined_with_commas(env) -> None:
    settings, tokens, client = env
    f = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()["figures"]
    lists = [[i["name"] or i["code"] for i in m["industries"]] for m in f["majorIndustryMatch"]]
    lists += [[f"{d['districtName']} {d['gap'] if d['gap'] is not None else '*'}" for d in s["districts"]]
              for s in f["shortage"]]
    lists += [t["providers"] for t in f["trainingCatalog"]]
    lists = [names for names in lists if len(names) > 1]
    assert len(lists) >= 3
    english = client.get("/reports/2024?lang=en", headers=auth(tokens, "labor")).text
    chinese = client.get("/reports/2024", headers=auth(tokens, "labor")).text
    for names in lists:
        assert f'<td class="t">{escape(", ".join(names), quote=False)}</td>' in english, names
        assert f'<td class="t">{escape("、".join(names), quote=False)}</td>' in chinese, names


def test_a_partial_year_says_so(env) -> None:
    def report(demand: list[int], refreshed: str | None) -> Report:
        figures = {"quarters": _quarters(demand)}
        return Report(2024, figures, "draft", {}, {"refreshId": 1, "refreshedAt": refreshed} if refreshed else None,
                      [])

    assert covered_quarter(report([5, 5, 5, 5], "2025-02-01T00:00:00+00:00")) == 4
    assert covered_quarter(report([5, 5, 5, 0], "2025-02-01T00:00:00+00:00")) == 3  # Q4 without data
    assert covered_quarter(report([5, 5, 5, 5], "2024-08-14T10:00:00+00:00")) == 3  # refreshed in Q3
    assert covered_quarter(report([0, 0, 0, 0], "2025-02-01T00:00:00+00:00")) == 0
    assert covered_quarter(report([5, 5, 5, 5], "2023-12-31T10:00:00+00:00")) == 0  # before the year began
    assert covered_quarter(report([5, 5, 0, 0], None)) == 2  # never refreshed: judged by today's date

    # on the page, in both languages (the page of the hand-made dataset, rendered with a partial watermark)
    settings, tokens, client = env
    document = client.get("/reports/2024.json?draft=1", headers=auth(tokens, "labor")).json()
    partial = {**document, "watermark": {**document["watermark"], "refreshedAt": "2024-08-14T10:00:00+00:00"}}
    assert 'id="coverage"' not in render(report_of(document), "en")
    assert '<div class="banner partial" id="coverage">非完整年度：数据截至2024年第3季度。</div>' in render(
        report_of(partial), "zh")
    assert '<div class="banner partial" id="coverage">Partial year: data up to Q3 2024.</div>' in render(
        report_of(partial), "en")



def _links(page: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)"', page)


def test_report_out_writes_files_whose_links_work_from_a_folder(env, tmp_path: Path) -> None:
    settings, tokens, client = env
    runner = CliRunner()
    environment = {"DATABASE_URL": settings.database_url}
    assert runner.invoke(cli, ["stats", "refresh"], env=environment).exit_code == 0
    assert runner.invoke(cli, ["report", "publish", "2024"], env=environment).exit_code == 0
    versions = client.get("/reports/2024.json").json()["versions"]
    assert len(versions) >= 1

    out = tmp_path / "published" / "report-2024.html"
    out.parent.mkdir()
    result = runner.invoke(cli, ["report", "2024", "--out", str(out)], env=environment)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["report-2024.csv", "report-2024.en.html",
                                                            "report-2024.html", "report-2024.json"]
    for page in ("report-2024.html", "report-2024.en.html"):
        links = _links((out.parent / page).read_text(encoding="utf-8"))
        assert links, page
        for href in links:  # every link is a file beside it: nothing on a server, nothing absolute
            assert "/" not in href and (out.parent / href).is_file(), (page, href)
    zh = (out.parent / "report-2024.html").read_text(encoding="utf-8")
    assert _links(zh)[:3] == ["report-2024.en.html", "report-2024.csv", "report-2024.json"]
    latest = versions[-1]["version"]
    assert f'<a href="report-2024.html">第{latest}版</a>' in zh  # its own version; the others are text only
    document = json.loads((out.parent / "report-2024.json").read_bytes())
    assert document["version"] == latest
    assert document["figures"] == client.get("/reports/2024.json").json()["figures"]
    assert (out.parent / "report-2024.csv").read_text(encoding="utf-8").startswith("section,key,name,metric")

    # with the hub's public URL, versions that are not written link to it
    result = runner.invoke(cli, ["report", "2024", "--lang", "en", "--out", str(out), "--hub-url",
                                 "https://hub.example.gov/"], env=environment)
    assert result.exit_code == 0, result.output
    en = out.read_text(encoding="utf-8")
    assert _links(en)[:3] == ["report-2024.zh.html", "report-2024.csv", "report-2024.json"]
    if len(versions) > 1:
        assert f'href="https://hub.example.gov/reports/2024?version={versions[0]["version"]}&amp;lang=en"' in en
    # on standard output: links only to the hub when its URL is known, else none
    result = runner.invoke(cli, ["report", "2024"], env=environment)
    assert result.exit_code == 0 and "<html" in result.stdout and _links(result.stdout) == []
    result = runner.invoke(cli, ["report", "2024"], env={**environment, "HUB_URL": "https://hub.example.gov"})
    assert _links(result.stdout)[:2] == ["https://hub.example.gov/reports/2024?lang=en&amp;version=%d" % latest,
                                         "https://hub.example.gov/reports/2024.csv?version=%d" % latest]
    # bad options: a clear error, nothing written
    for args, message in ((["--out", str(tmp_path / "r.csv")], "--out must name an .html file"),
                          (["--hub-url", "hub.example.gov"], "must be an http:// or https:// URL")):
        result = runner.invoke(cli, ["report", "2024", *args], env=environment)
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "r.csv").exists()



def test_the_plan_section_shows_every_target_with_its_progress_and_status(env) -> None:
    """Issue 16: a table and a bar chart of progress against target (the hand-made dataset's 2024: 3 key major groups
    of 35 by 2022, behind; the high-standard school, met; the certified enterprises without a number)."""
    settings, tokens, client = env
    document = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()
    plan = {i["indicator"]: i for i in document["figures"]["planIndicators"]}
    assert len(plan) == 8
    assert (plan["KEY_MAJOR_GROUPS"]["measuredValue"], plan["KEY_MAJOR_GROUPS"]["status"]) == (3.0, "BEHIND")
    assert plan["DUAL_QUALIFIED_SHARE"]["teachers"]["perturbed"] is True  # the public view
    page = client.get("/reports/2024", headers=auth(tokens, "labor")).text
    section = page[page.index('<section id="plan-section">'):page.index("</section>", page.index("plan-section"))]
    assert ('<tr><td class="t">骨干专业群</td><td class="">35 (2022年)</td><td class="">1 (2020)</td>'
            '<td class="">3</td><td class="">35</td><td class="">8.6%</td><td class="t"><span class="tag BEHIND">进度滞后'
            '</span></td><td class="t">2020: 1、2021: 2、2022: 2、2023: 3、2024: 3</td></tr>') in section
    assert '<span class="tag MET">已达标</span>' in section and "未定量" in section
    assert '<svg class="chart bar-chart" id="chart-plan-progress"' in section
    english = client.get("/reports/2024?lang=en", headers=auth(tokens, "labor")).text
    assert "10. The plan&#39;s targets" in english and "Key major groups" in english and "Behind" in english
    rows = list(csv.reader(io.StringIO(client.get("/reports/2024.csv", headers=auth(tokens, "labor")).text)))
    assert ["plan", "KEY_MAJOR_GROUPS", "骨干专业群", "status", "BEHIND", ""] in rows
    assert ["plan", "KEY_MAJOR_GROUPS", "骨干专业群", "measuredValue", "3.0", ""] in rows


def test_versions_frozen_before_the_plan_section_render_as_before(env) -> None:
    """Issue 16: a version whose frozen figures have no planIndicators renders without the section, and the rest of
    its page is the page of the same figures with the section (the section only adds)."""
    settings, tokens, client = env
    document = client.get("/reports/2024.json", headers=auth(tokens, "labor")).json()
    frozen = {**document, "status": "published", "version": 1, "publishedAt": "2025-01-02T03:04:05+00:00"}
    old = {**frozen, "figures": {k: v for k, v in document["figures"].items() if k != "planIndicators"}}
    for lang in ("zh", "en"):
        before, now = render(report_of(old), lang), render(report_of(frozen), lang)
        assert "plan-section" not in before and "chart-plan-progress" not in before
        start = now.index('<section id="plan-section">')
        end = now.index("</section>", start) + len("</section>")
        assert now[:start] + now[end:] == before


def test_the_definitions_follow_the_method_a_version_was_published_under(env) -> None:
    """The live figures are protected across releases and the page says so; a version published with the cell-key
    method before that (its thresholds' disclosure without acrossReleases) keeps the definition it was published
    under, and one from before the cell-key method the small-cell rule's."""
    settings, tokens, client = env
    document = client.get("/reports/2024.json?draft=1", headers=auth(tokens, "labor")).json()
    assert document["thresholds"]["disclosure"]["acrossReleases"] is True
    releases = "every refresh is checked together with the previous one"
    assert releases in client.get("/reports/2024?draft=1&lang=en", headers=auth(tokens, "labor")).text
    earlier = {**document, "thresholds": {**document["thresholds"],
                                          "disclosure": {"method": "cell-key", "maxNoise": 2, "smallestShown": 3}}}
    page = render(report_of(earlier), "en")
    assert "Privacy (cell-key perturbation)" in page and releases not in page
    oldest = {**document, "thresholds": {k: v for k, v in document["thresholds"].items() if k != "disclosure"}}
    assert "Small cells:" in render(report_of(oldest), "en")
