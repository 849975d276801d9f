"""A withdrawn report version: its figures are gone for the public, in every format and on every path (HTTP 410 with
the withdrawal notice), admins still read them with a token and every such read is audited (fail-closed); the
versions list and GraphQL keep the withdrawal; the command line writes it for the operator (audited, with a
warning). The hand-made dataset (tests/support/stats_dataset.py); rule: resolvers.analytics.report.withdrawn."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from html import escape
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from hub.app import create_app
from hub.cli.main import app as cli
from hub.governance.consumers import hash_token
from tests.support.helpers import audit_refused, sql, sql_value
from tests.support.stats_api import Api
from tests.support.stats_dataset import OCC

PUBLISH = "mutation($y: Int!) { publishReport(year: $y) { version } }"
WITHDRAW = "mutation($y: Int!, $v: Int!, $r: String!) { withdrawReport(year: $y, version: $v, reason: $r) { version } }"
REASON = "published before the cell-key disclosure control <b>(issue 13)</b>"
SUFFIX = {"html": "", "csv": ".csv", "json": ".json"}
# A name from the figures of 2023 (occupation A's): it is on the published page, never on the notice.
FIGURE_NAME = "计算机整机装配调试员"


def _auth(api: Api, who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[who]}"} if who else {}


def _last_audit_id(url: str) -> int:
    return sql_value(url, "select coalesce(max(id), 0) from hub.audit_log")


def _audit_after(url: str, after: int) -> list[Any]:
    return sql(url, "select * from hub.audit_log where id > $1 order by id", after)


@pytest.fixture(scope="module")
def versions(api: Api) -> Iterator[dict[str, Any]]:
    """2023 published twice, version 1 then withdrawn (version 2 replaces it); version 1's public answers just before
    the withdrawal are kept."""
    v1 = api("admin", PUBLISH, {"y": 2023})["publishReport"]["version"]
    v2 = api("admin", PUBLISH, {"y": 2023})["publishReport"]["version"]
    before = {fmt: api.client.get(f"/reports/2023{suffix}?version={v1}") for fmt, suffix in SUFFIX.items()}
    api("admin", WITHDRAW, {"y": 2023, "v": v1, "r": REASON})
    yield {"v1": v1, "v2": v2, "before": before}


@pytest.mark.parametrize("who", [None, "labor", "commerce", "education"])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_csv_and_json_of_a_withdrawn_version_are_gone_for_everyone_but_admins(api, versions, fmt, who) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    response = api.client.get(f"/reports/2023{SUFFIX[fmt]}?version={v1}", headers=_auth(api, who))
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == "application/json"
    assert (response.headers["cache-control"], response.headers["vary"]) == ("public, no-cache", "Authorization")
    [error] = response.json()["errors"]
    extensions = error["extensions"]
    published, withdrawn = (dt.datetime.fromisoformat(extensions.pop(k)) for k in ("publishedAt", "withdrawnAt"))
    assert published <= withdrawn <= dt.datetime.now(dt.timezone.utc)
    assert extensions == {"code": "WITHDRAWN", "year": 2023, "version": v1, "reason": REASON, "replacedBy": v2,
                          "replacementUrl": f"/reports/2023{SUFFIX[fmt]}?version={v2}"}
    assert f"version {v1} of 2023's report was withdrawn on {withdrawn:%Y-%m-%d}: {REASON}" in error["message"]
    assert api.client.get(extensions["replacementUrl"]).status_code == 200  # the replacement is public


@pytest.mark.parametrize("who", [None, "labor"])
def test_the_page_of_a_withdrawn_version_is_a_notice_for_everyone_but_admins(api, versions, who) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    response = api.client.get(f"/reports/2023?version={v1}", headers=_auth(api, who))
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("text/html")
    assert (response.headers["cache-control"], response.headers["vary"]) == ("public, no-cache", "Authorization")
    page = response.text
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "default-src 'none'" in page
    assert "2023年度技能人才供求信息报告" in page and f"第{v1}版（发布于" in page and "已撤回" in page
    assert escape(REASON) in page and REASON not in page  # the reason is text, escaped
    assert re.search(rf'<div class="banner draft" id="withdrawn">第{v1}版（发布于 [\d :-]+ UTC）已于 [\d :-]+ UTC '
                     rf'撤回：{re.escape(escape(REASON))}。 <a href="/reports/2023\?version={v2}">请以第{v2}版为准</a>'
                     rf'</div>', page), page
    assert f'<p id="withdrawn-figures">已撤回版本的数字不再公布。</p>' in page
    # the year's versions stay listed, the withdrawn one marked
    assert re.search(rf'第{v1}版</a> \(\d{{4}}-\d\d-\d\d, 已撤回\)', page)
    assert re.search(rf'第{v2}版</a> \(\d{{4}}-\d\d-\d\d\)', page)
    # never a figure: no table, no chart, no name from the data
    assert "<table" not in page and "<svg" not in page and "<section" not in page and FIGURE_NAME not in page
    english = api.client.get(f"/reports/2023?version={v1}&lang=en", headers=_auth(api, who))
    assert english.status_code == 410 and english.headers["content-language"] == "en"
    assert "Skilled-talent supply and demand report 2023, version 1 (withdrawn)" in english.text
    assert f'<a href="/reports/2023?version={v2}&amp;lang=en">See version {v2}</a>' in english.text
    assert f'<a href="/reports/2023?version={v1}">中文</a>' in english.text


def test_no_other_path_serves_a_withdrawn_versions_figures_to_the_public(api, versions) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    url = api.client.app.state.settings.database_url
    before = _last_audit_id(url)
    for suffix in SUFFIX.values():
        path = f"/reports/2023{suffix}?version={v1}"
        # conditional requests: no validator is ever sent, so there is nothing to answer 304 to
        for conditional in ({"If-None-Match": "*"}, {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}):
            assert api.client.get(path, headers=conditional).status_code == 410
        assert api.client.head(path).status_code == 410
        # a version and the draft at once: refused before anything is read
        both = api.client.get(f"{path}&draft=1", headers=_auth(api, "labor"))
        assert both.status_code == 400 and both.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # the year's report as it stands: the replacement
        latest = api.client.get(f"/reports/2023{suffix}")
        assert latest.status_code == 200 and latest.headers["cache-control"] == "public, no-cache"
    assert api.client.get("/reports/2023.json").json()["version"] == v2
    assert _audit_after(url, before) == []  # public answers leave no audit entry


def test_a_cached_answer_of_a_version_withdrawn_since_is_not_reused(api, versions) -> None:
    """Before the withdrawal version 1 was public: its answers told caches to ask again before every reuse and
    carried no validator, so once withdrawn a cache gets the 410 (not a 304 confirming the figures)."""
    v1 = versions["v1"]
    for fmt, response in versions["before"].items():
        assert response.status_code == 200, fmt
        assert response.headers["cache-control"] == "public, no-cache"
        assert "etag" not in response.headers and "last-modified" not in response.headers
        assert api.client.get(f"/reports/2023{SUFFIX[fmt]}?version={v1}").status_code == 410


@pytest.mark.parametrize("fmt", ["html", "csv", "json"])
def test_an_admin_reads_a_withdrawn_versions_figures_and_each_read_is_audited(api, versions, fmt) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    url = api.client.app.state.settings.database_url
    before = _last_audit_id(url)
    response = api.client.get(f"/reports/2023{SUFFIX[fmt]}?version={v1}", headers=_auth(api, "admin"))
    assert response.status_code == 200, response.text
    assert (response.headers["cache-control"], response.headers["vary"]) == ("private, no-store", "Authorization")
    [entry] = _audit_after(url, before)  # written before the answer left
    admin_id = sql_value(url, "select id from hub.consumers where role = 'admin' order by id limit 1")
    assert (entry["operation_name"], entry["department"], entry["consumer_id"], entry["outcome"]) == (
        f"report.withdrawn 2023 v{v1} ({fmt})", "bigdata", admin_id, "OK")
    if fmt == "json":
        document = response.json()
        assert (document["version"], document["withdrawal"]["replacedBy"]) == (v1, v2)
        assert document["figures"] == versions["before"]["json"].json()["figures"]
    elif fmt == "csv":  # the version's CSV as it was, plus rows saying it was withdrawn (a file travels alone)
        rows = list(csv.reader(io.StringIO(response.text)))
        said = {r[3]: r[4] for r in rows if r[0] == "report"}
        assert (said["withdrawal_reason"], said["replaced_by"]) == (REASON, str(v2))
        assert dt.datetime.fromisoformat(said["withdrawn_at"]) <= dt.datetime.now(dt.timezone.utc)
        kept = [r for r in rows if r[3] not in ("withdrawn_at", "withdrawal_reason", "replaced_by")]
        assert kept == list(csv.reader(io.StringIO(versions["before"]["csv"].text)))
    else:
        assert 'id="withdrawn"' in response.text and '<table id="totals">' in response.text
        assert FIGURE_NAME in response.text


def test_an_admin_read_whose_audit_entry_cannot_be_written_is_not_answered(api, versions) -> None:
    v1 = versions["v1"]
    url = api.client.app.state.settings.database_url
    with audit_refused(url, "report.withdrawn%"):
        before = _last_audit_id(url)
        for suffix in SUFFIX.values():
            response = api.client.get(f"/reports/2023{suffix}?version={v1}", headers=_auth(api, "admin"))
            assert response.status_code == 503 and response.headers["retry-after"] == "1"
            assert response.json() == {"errors": [{"message": "audit log unavailable",
                                                   "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
            assert api.client.get(f"/reports/2023{suffix}?version={v1}").status_code == 410  # no audit needed
        assert _audit_after(url, before) == []


def test_a_revoked_admin_token_reads_no_withdrawn_figures_while_its_lookup_is_cached(api, versions) -> None:
    """HUB_POLICY_CACHE_SECONDS lets a revoked token through for that long elsewhere; a withdrawn version's figures
    are looked up with the token as it stands."""
    v1 = versions["v1"]
    settings = api.client.app.state.settings
    token = "tdh_withdrawn_reader_admin"
    consumer_id = sql_value(settings.database_url, "insert into hub.consumers (department, name, role, token_hash) "
                            "values ('bigdata', 'admin to revoke', 'admin', $1) returning id", hash_token(token))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(dataclasses.replace(settings, policy_cache_seconds=600))) as client:
        assert client.get(f"/reports/2023.json?version={v1}", headers=headers).status_code == 200  # cached now
        sql(settings.database_url, "update hub.consumers set revoked_at = now() where id = $1", consumer_id)
        before = _last_audit_id(settings.database_url)
        for suffix in SUFFIX.values():
            response = client.get(f"/reports/2023{suffix}?version={v1}", headers=headers)
            assert response.status_code == 401, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert FIGURE_NAME not in response.text
        assert _audit_after(settings.database_url, before) == []


@pytest.mark.parametrize("query", ["version=1&version=2", "version=2&version=1", "version=2&lang=en&lang=zh",
                                   "draft=1&draft=0", "version=\u0661", "version=\uff11"])
def test_an_ambiguous_version_is_refused(api, versions, query) -> None:
    """A parameter given twice (a proxy may read the first, the hub the last) or a version in other digits than
    ASCII is bad input, whichever version it could name."""
    for suffix in SUFFIX.values():
        response = api.client.get(f"/reports/2023{suffix}?{query}", headers=_auth(api, "admin"))
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


REPORTS = """query($y: Int) { publishedReports(year: $y) { year version url
  withdrawal { reason withdrawnBy replacedBy replacementUrl } } }"""


def test_the_versions_list_keeps_the_withdrawal_without_the_figures(api, versions) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    listed = api("commerce", REPORTS, {"y": 2023})["publishedReports"]
    assert listed == [
        {"year": 2023, "version": v1, "url": f"/reports/2023?version={v1}",
         "withdrawal": {"reason": REASON, "withdrawnBy": "bigdata: big-data bureau (admin)", "replacedBy": v2,
                        "replacementUrl": f"/reports/2023?version={v2}"}},
        {"year": 2023, "version": v2, "url": f"/reports/2023?version={v2}", "withdrawal": None}]
    # a published version over GraphQL is its record, never its figures
    fields = api("commerce", '{ __type(name: "PublishedReport") { fields { name } } }')["__type"]["fields"]
    assert {f["name"] for f in fields} == {"year", "version", "publishedAt", "publishedBy", "refreshId", "watermark",
                                           "url", "withdrawal"}
    document = api.client.get("/reports/2023.json").json()
    assert [(v["version"], v["withdrawn"]) for v in document["versions"]] == [(v1, True), (v2, False)]
    page = api.client.get("/reports/2023?lang=en").text
    assert re.search(rf'<a href="/reports/2023\?version={v1}&amp;lang=en">Version {v1}</a> \([\d-]+, withdrawn\)',
                     page)


def test_with_no_version_left_the_notice_points_at_the_years_report(api, versions) -> None:
    v = api("admin", PUBLISH, {"y": 2024})["publishReport"]["version"]
    api("admin", WITHDRAW, {"y": 2024, "v": v, "r": "wrong refresh"})
    for fmt, suffix in SUFFIX.items():
        response = api.client.get(f"/reports/2024{suffix}?version={v}")
        assert response.status_code == 410
        if fmt == "html":
            assert '<a href="/reports/2024">请以本年度报告为准</a>' in response.text
        else:
            extensions = response.json()["errors"][0]["extensions"]
            assert (extensions["replacedBy"], extensions["replacementUrl"]) == (None, f"/reports/2024{suffix}")
            assert "no published version is left" in response.json()["errors"][0]["message"]
    assert api.client.get("/reports/2024.json").status_code == 401  # the year's report is its draft again
    [listed] = api("labor", REPORTS, {"y": 2024})["publishedReports"]
    assert listed["withdrawal"]["replacedBy"] is None and listed["withdrawal"]["replacementUrl"] == "/reports/2024"
    # the landing page links the latest report that is published and not withdrawn: 2023's version 2
    landing = api.client.get("/", headers={"accept": "text/html"}).text
    assert '<a href="/reports/2023" id="link-report">The 2023 annual report</a>' in landing
    assert f"v{versions['v2']};" in landing and "/reports/2024" not in landing
    # and a browser without a token is pointed at the published years whose report is public, not back at 2024
    page = api.client.get("/reports/2024", headers={"accept": "text/html"})
    assert page.status_code == 401 and '<a href="/reports/2023">2023</a>' in page.text
    assert '<a href="/reports/2024">' not in page.text
    # ... and told that 2024 was published and withdrawn, with a link to the withdrawal
    text = " ".join(page.text.split())
    assert f"Version {v} of the 2024 report was published and withdrawn: its figures are no longer public" in text
    assert f'<a href="/reports/2024?version={v}">the withdrawal</a>' in text


def test_the_command_line_writes_a_withdrawn_version_for_the_operator_audited(api, versions, tmp_path: Path) -> None:
    """``hub report`` has database access (the operator): it still writes a withdrawn version, with an audit entry
    and a warning; without the entry it writes nothing."""
    v1 = versions["v1"]
    url = api.client.app.state.settings.database_url
    out = tmp_path / "v1.html"
    before = _last_audit_id(url)
    result = CliRunner().invoke(cli, ["report", "2023", "--version", str(v1), "--out", str(out)],
                                env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert f"2023 version {v1} was withdrawn" in result.output and "do not publish these files" in result.output
    assert FIGURE_NAME in out.read_text(encoding="utf-8")
    [entry] = _audit_after(url, before)
    assert entry["operation_name"] == f"report.withdrawn 2023 v{v1} (html, csv, json)"
    assert entry["consumer_name"].startswith("cli: ") and entry["consumer_id"] is None
    both = CliRunner().invoke(cli, ["report", "2023", "--version", str(v1), "--draft"], env={"DATABASE_URL": url})
    assert both.exit_code == 2 and "--version or for --draft, not both" in both.output
    for args in (["report", "2023", "--version", "0"], ["report", "2023", "--version", "99999999999"],
                 ["report", "withdraw", "2023", "99999999999", "--reason", "r"]):  # not a database error: a usage one
        result = CliRunner().invoke(cli, args, env={"DATABASE_URL": url})
        assert result.exit_code == 2 and "Invalid value" in result.output and "int32" not in result.output, args
    refused = tmp_path / "refused.html"
    with audit_refused(url, "report.withdrawn%"):
        result = CliRunner().invoke(cli, ["report", "2023", "--version", str(v1), "--out", str(refused)],
                                    env={"DATABASE_URL": url})
    assert result.exit_code == 1 and "audit log unavailable" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1.csv", "v1.en.html", "v1.html", "v1.json"]
    # the latest version (not withdrawn) is public: written without an entry or a warning
    before = _last_audit_id(url)
    result = CliRunner().invoke(cli, ["report", "2023"], env={"DATABASE_URL": url})
    assert result.exit_code == 0 and "warning" not in result.stderr and _audit_after(url, before) == []
