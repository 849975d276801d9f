"""An attacker's review of the published report's URLs (issue: restedge): can a caller without a token reach a
withdrawn version's or a draft's figures through a variant of the URL — a trailing slash or newline, percent-encoding,
another case, a doubled slash, a suffix, a HEAD, a query string spelled otherwise — or a cache header? No hole in the
reports: every variant is answered as the canonical URL is (the same public bytes, or the 401/404/410 the canonical
URL gets) or not found, and HEAD as GET without the body. (A trailing newline, ``/reports/2023%0A``, reached the
report's route — starlette's ``$`` — which was harmless here but let ``/metrics%0A`` past the deploy's proxy: such
paths are now 404, tests/telemetry/test_metrics_access.py.) The hand-made dataset (tests/support/stats_dataset.py)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.support.helpers import sql_value
from tests.support.stats_api import Api

PUBLISH = "mutation($y: Int!) { publishReport(year: $y) { version } }"
WITHDRAW = "mutation($y: Int!, $v: Int!, $r: String!) { withdrawReport(year: $y, version: $v, reason: $r) { version } }"
SUFFIXES = ("", ".csv", ".json")
PUBLISHED, DRAFT = 2023, 2024  # 2023: version 1 withdrawn, version 2 public; 2024: never published (a draft only)


@pytest.fixture(scope="module")
def published(api: Api) -> Iterator[dict[str, Any]]:
    v1 = api("admin", PUBLISH, {"y": PUBLISHED})["publishReport"]["version"]
    v2 = api("admin", PUBLISH, {"y": PUBLISHED})["publishReport"]["version"]
    api("admin", WITHDRAW, {"y": PUBLISHED, "v": v1, "r": "withdrawn by the path probes"})
    canonical = {suffix: api.client.get(f"/reports/{PUBLISHED}{suffix}") for suffix in SUFFIXES}
    assert all(r.status_code == 200 for r in canonical.values())
    assert api.client.get(f"/reports/{DRAFT}").status_code == 401  # the probes below rely on 2024 being a draft
    yield {"v1": v1, "v2": v2, "canonical": {s: r.content for s, r in canonical.items()}}


def _variants(year: int, suffix: str) -> list[str]:
    """Spellings of ``/reports/{year}{suffix}`` a router, a proxy or a cache might treat as that URL, or not."""
    path = f"/reports/{year}{suffix}"
    encoded_year = "".join(f"%{ord(c):02X}" for c in str(year))
    encoded_suffix = suffix.replace(".", "%2E")
    return [path, path + "/", path + "%0A", path + "%0D%0A", path + "%00", path + "%20", path + ";x", path + "/.",
            path + "/..", f"/reports/{encoded_year}{suffix}", f"/reports/{year}{encoded_suffix}",
            f"/reports/0{year}{suffix}",
            f"/reports//{year}{suffix}", f"//reports/{year}{suffix}", f"/Reports/{year}{suffix}",
            f"/reports/{year}{suffix.upper()}", f"/reports/{year}{suffix}.json", f"/reports/{year}{suffix}.csv",
            f"/reports/{year}.html", f"/reports/./{year}{suffix}", f"/reports/x/../{year}{suffix}",
            f"/reports%2F{year}{suffix}", f"/reports/{year}%2F{suffix}"]


def _queries(v1: int) -> list[str]:
    return ["", f"?version={v1}", f"?version=0{v1}", f"?version=%3{v1}", f"?version=+{v1}", f"?version={v1}%20",
            f"?version={v1}%00", f"?version={v1}&version={v1}", f"?Version={v1}", f"?version[]={v1}", "?draft=1",
            "?draft=true", "?draft=%31", "?draft=TRUE", "?draft=1&draft=1", "?draft", f"?draft=0&version={v1}",
            f"?lang=en&version={v1}", f"?version={v1}#x", f"?%76ersion={v1}", f"?version={v1};draft=1"]


def _anonymous(api: Api, method: str, url: str):
    return api.client.request(method, url, follow_redirects=True)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_no_spelling_of_a_published_years_url_serves_anything_but_its_public_version(api, published, suffix) -> None:
    """GET and HEAD of every URL variant times every query variant, without a token: a 200 (also after a redirect)
    carries exactly the bytes of one of the year's canonical public answers (version 2) with its caching header;
    anything else is a refusal (400, 401, 404, 405, 410) with no figures of version 1 or of the draft."""
    canonical = set(published["canonical"].values())
    seen: dict[int, int] = {}
    for url in _variants(PUBLISHED, suffix):
        for query in _queries(published["v1"]):
            for method in ("GET", "HEAD"):
                answer = _anonymous(api, method, url + query)
                seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
                where = (method, url + query, answer.status_code)
                assert answer.status_code < 500, where
                if answer.status_code == 200:
                    assert method == "HEAD" or answer.content in canonical, where
                    assert answer.headers["cache-control"] == "public, no-cache", where
                    assert "etag" not in answer.headers and "last-modified" not in answer.headers, where
                else:
                    assert answer.status_code in (400, 401, 404, 405, 410), where
                    assert answer.headers.get("cache-control") != "public, max-age", where
                    assert b'"figures"' not in answer.content and b"occupationCode" not in answer.content, where
    assert seen.get(200) and seen.get(410) and seen.get(401), seen  # the probes did reach each kind of answer


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_no_spelling_of_a_drafts_url_serves_it_without_a_token(api, published, suffix) -> None:
    """A year with only a draft: no URL variant, query or method answers 200 without a token."""
    for url in _variants(DRAFT, suffix):
        for query in _queries(published["v1"]):
            for method in ("GET", "HEAD"):
                answer = _anonymous(api, method, url + query)
                assert answer.status_code in (400, 401, 404, 405), (method, url + query, answer.status_code)


def test_a_head_with_a_token_of_a_draft_is_audited_like_a_get(api, published) -> None:
    """HEAD reads the draft (its headers tell it exists, its length the size of the figures): it is audited as a GET
    is, and answered with no body."""
    url = api.client.app.state.settings.database_url
    before = sql_value(url, "select count(*) from hub.audit_log where operation_name like 'report.draft%'")
    head = api.client.head(f"/reports/{DRAFT}.json", headers={"Authorization": f"Bearer {api.tokens['labor']}"})
    after = sql_value(url, "select count(*) from hub.audit_log where operation_name like 'report.draft%'")
    assert head.status_code == 200 and head.content == b"" and head.headers["cache-control"] == "private, no-store"
    assert after == before + 1

