"""The GraphQL API on the small demo data: lookups, filters, pagination, joins and bad input."""

from __future__ import annotations

import pytest

from hub.settings import Settings
from tests.support.helpers import sql, sql_value


def test_lookup_by_natural_keys(gql, settings: Settings) -> None:
    e = sql(settings.database_url, "select uscc, name, industry_code from commerce.enterprises order by id limit 1")[0]
    o = sql(settings.database_url, "select code, name from labor.occupations order by id limit 1")[0]
    data = gql("""query($u: String!, $o: String!, $i: String!) {
        enterprise(uscc: $u) { uscc name industryCode industry { code } }
        occupation(code: $o) { code name }
        industry(code: $i) { code level }
    }""", {"u": e["uscc"], "o": o["code"], "i": e["industry_code"]})
    assert "errors" not in data
    assert data["data"]["enterprise"] == {"uscc": e["uscc"], "name": e["name"], "industryCode": e["industry_code"],
                                          "industry": {"code": e["industry_code"]}}
    assert data["data"]["occupation"] == {"code": o["code"], "name": o["name"]}
    assert data["data"]["industry"]["code"] == e["industry_code"]


def test_unknown_codes_are_null_without_error(gql) -> None:
    data = gql("""{ enterprise(uscc: "91350100M000100Y43") { name } occupation(code: "8-99-99-99") { name }
                    industry(code: "9999") { name } major(code: "999999") { name } school(code: "0000000000") { name } }""")
    assert data == {"data": {"enterprise": None, "occupation": None, "industry": None, "major": None, "school": None}}


def test_keyset_pagination_walks_every_row_once(gql, settings: Settings) -> None:
    district = sql_value(settings.database_url,
                         "select district_code from labor.job_postings group by 1 order by count(*) limit 1")
    expected = [r["id"] for r in sql(settings.database_url,
                                     "select id from labor.job_postings where district_code = $1 order by id", district)]
    seen, after, pages = [], None, 0
    while True:
        data = gql("""query($d: String, $a: String) { jobPostings(first: 7, after: $a, district: $d) {
                        edges { cursor node { id districtCode } } pageInfo { hasNextPage endCursor } } }""",
                   {"d": district, "a": after})
        conn = data["data"]["jobPostings"]
        assert all(e["node"]["districtCode"] == district for e in conn["edges"])
        seen += [e["node"]["id"] for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        after = conn["pageInfo"]["endCursor"]
    assert seen == expected
    assert pages == max(1, -(-len(expected) // 7))


def test_filters_match_sql(gql, settings: Settings) -> None:
    url = settings.database_url
    prefix = sql_value(url, "select left(occupation_code, 4) from labor.job_postings group by 1 order by count(*) desc limit 1")
    n = sql_value(url, "select count(*) from labor.job_postings where occupation_code like $1 || '%' and skill_level = 3 "
                       "and posted_on between '2024-01-01' and '2024-12-31'", prefix)
    data = gql("""query($p: String) { jobPostings(first: 500, occupationCodePrefix: $p, skillLevel: 3,
                  postedFrom: "2024-01-01", postedTo: "2024-12-31") { nodes { occupationCode skillLevel postedOn } } }""",
               {"p": prefix})
    nodes = data["data"]["jobPostings"]["nodes"]
    assert len(nodes) == min(n, 500)
    assert all(x["occupationCode"].startswith(prefix) and x["skillLevel"] == 3 and x["postedOn"].startswith("2024")
               for x in nodes)


def test_name_search_uses_trigram_index_semantics(gql, settings: Settings) -> None:
    name = sql_value(settings.database_url, "select name from commerce.enterprises order by id limit 1")
    fragment = name[3:7]
    data = gql("query($q: String) { enterprises(first: 500, search: $q) { nodes { name } } }", {"q": fragment})
    names = [n["name"] for n in data["data"]["enterprises"]["nodes"]]
    assert name in names and all(fragment in n for n in names)


def test_like_wildcards_in_prefix_are_refused(gql) -> None:
    data = gql('{ occupations(codePrefix: "%") { nodes { code } } industries(codePrefix: "_") { nodes { code } } }')
    assert data["data"] == {"occupations": None, "industries": None}
    assert [e["extensions"]["code"] for e in data["errors"]] == ["BAD_USER_INPUT"] * 2


def test_cross_department_joins_both_ways(gql, settings: Settings) -> None:
    url = settings.database_url
    uscc = sql_value(url, "select enterprise_uscc from labor.job_postings group by 1 order by count(*) desc limit 1")
    n_postings = sql_value(url, "select count(*) from labor.job_postings where enterprise_uscc = $1", uscc)
    data = gql("""query($u: String!) { enterprise(uscc: $u) {
                    postings(first: 500) { nodes { enterpriseUscc enterprise { uscc } occupation { code } } }
                    industry { code majors { code school { code } } } } }""", {"u": uscc})
    assert "errors" not in data
    postings = data["data"]["enterprise"]["postings"]["nodes"]
    assert len(postings) == min(n_postings, 500)
    assert all(p["enterprise"]["uscc"] == uscc and p["occupation"]["code"] for p in postings)


def test_occupation_joins(gql, settings: Settings) -> None:
    url = settings.database_url
    code = sql_value(url, "select occupation_code from labor.training_programs group by 1 order by count(*) desc limit 1")
    counts = sql(url, """select (select count(*) from labor.job_postings where occupation_code = $1) p,
                                (select count(*) from labor.job_seekers where occupation_code = $1) s,
                                (select count(*) from labor.training_programs where occupation_code = $1) t""", code)[0]
    data = gql("""query($c: String!) { occupation(code: $c) { postingCount
        postings(first: 500) { nodes { occupationCode } } seekers(first: 500) { nodes { occupationCode } }
        trainingPrograms(first: 500) { nodes { occupationCode } } } }""", {"c": code})
    occ = data["data"]["occupation"]
    assert occ["postingCount"] == counts["p"]
    assert len(occ["postings"]["nodes"]) == min(counts["p"], 500)
    assert len(occ["seekers"]["nodes"]) == min(counts["s"], 500)
    assert len(occ["trainingPrograms"]["nodes"]) == counts["t"] > 0


def test_education_and_science_joins(gql, settings: Settings) -> None:
    url = settings.database_url
    school = sql_value(url, "select partner_school_code from science.research_projects where partner_school_code is not null "
                            "group by 1 order by count(*) desc limit 1")
    data = gql("""query($s: String!) { school(code: $s) { code majors { code school { code } industries { code }
                    occupations { code } outcomes { year graduates employed employmentRate } }
                    researchProjects(first: 50) { nodes { partnerSchoolCode partnerSchool { code }
                    leadEnterprise { uscc } } } } }""", {"s": school})
    assert "errors" not in data, data
    s = data["data"]["school"]
    assert s["majors"] and all(m["school"]["code"] == school for m in s["majors"])
    assert any(m["industries"] for m in s["majors"]) and any(m["occupations"] for m in s["majors"])
    assert s["researchProjects"]["nodes"]
    assert all(p["partnerSchool"]["code"] == school for p in s["researchProjects"]["nodes"])


@pytest.mark.parametrize("args,fragment", [
    ("first: 501", "first must be between 0 and 500"),
    ("first: -1", "first must be between 0 and 500"),
    ('after: "not-a-cursor"', "malformed cursor"),
    ('after: "azE6"', "malformed cursor"),
    ('after: "' + "A" * 200 + '"', "malformed cursor"),
])
def test_bad_page_arguments(gql, args: str, fragment: str) -> None:
    data = gql("{ enterprises(%s) { nodes { uscc } } }" % args)
    assert data["data"] == {"enterprises": None}
    [error] = data["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in error["message"]
    assert error["path"] == ["enterprises"]


def test_nested_bad_cursor_keeps_the_rest(gql) -> None:
    data = gql('{ occupations(first: 2) { nodes { code postings(after: "@@") { nodes { id } } } } }')
    assert data["errors"] and all(e["extensions"]["code"] == "BAD_USER_INPUT" for e in data["errors"])


def test_first_zero_returns_empty_page(gql) -> None:
    data = gql("{ enterprises(first: 0) { nodes { uscc } pageInfo { hasNextPage } } }")
    assert data["data"]["enterprises"] == {"nodes": [], "pageInfo": {"hasNextPage": True}}


def test_graphql_errors_have_codes(gql) -> None:
    cases = {
        "{ enterprises { nodes { nope } } }": "GRAPHQL_VALIDATION_FAILED",
        "{ enterprises { ": "GRAPHQL_PARSE_FAILED",
        '{ industries(level: 70000) { nodes { code } } }': "BAD_USER_INPUT",
    }
    for query, code in cases.items():
        data = gql.post(query).json()
        assert [e["extensions"]["code"] for e in data["errors"]] == [code], query


def test_variables_of_wrong_type_are_bad_input(gql) -> None:
    response = gql.post("query($n: Int) { enterprises(first: $n) { nodes { uscc } } }", {"n": "lots"})
    assert response.status_code < 500
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_get_queries_and_graphiql(client) -> None:
    r = client.get("/graphql", params={"query": "{ industries(first: 1) { nodes { code } } }"})
    assert r.status_code == 200 and r.json()["data"]["industries"]["nodes"]
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "https://" not in page.text and "http://" not in page.text
    r = client.get("/graphql", params={"query": "mutation { x }"})
    assert r.status_code in (400, 405)


def test_health_endpoints(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_industry_majors_follow_the_hierarchy(gql, settings: Settings) -> None:
    url = settings.database_url
    row = sql(url, "select mi.major_code, mi.industry_code from education.major_industries mi "
                   "where length(mi.industry_code) = 4 order by 1, 2 limit 1")[0]
    code4 = row["industry_code"]
    section = sql_value(url, "select parent_code from commerce.industries where code = $1", code4[:2])
    data = gql("""query($a: String!, $b: String!, $s: String!) {
        cls: industry(code: $a) { majors { code } } div: industry(code: $b) { majors { code } }
        sec: industry(code: $s) { majors { code } } }""", {"a": code4, "b": code4[:2], "s": section})
    assert "errors" not in data, data
    for key in ("cls", "div", "sec"):
        assert row["major_code"] in {m["code"] for m in data["data"][key]["majors"]}, key
