"""Malformed national codes in filter arguments are BAD_USER_INPUT naming the format (hub.api.codes), on the
general path and the compiled path alike; well-formed codes filter as before."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from graphql import get_named_type
from starlette.testclient import TestClient

from hub.api import codes
from hub.app import create_app
from hub.api.schema import build_schema
from hub.settings import Settings
from hub.api.trusted import TrustedDocuments
from tests.support.helpers import sql_value

# An argument whose name says it carries a code (or a district, USCC or section): it must be in the table.
CODE_NAME = re.compile(r"district$|code$|codeprefix$|uscc$|section$", re.IGNORECASE)


def _arguments(schema) -> dict[tuple[str, str, str], str]:
    found = {}
    for tname, gtype in schema.type_map.items():
        if tname.startswith("__") or not hasattr(gtype, "fields"):
            continue
        for fname, fdef in gtype.fields.items():
            for aname, arg in getattr(fdef, "args", {}).items():
                found[(tname, fname, aname)] = get_named_type(arg.type).name
    return found


def test_every_argument_carrying_a_code_is_checked() -> None:
    arguments = _arguments(build_schema()._schema)
    carrying = {k for k, type_name in arguments.items() if type_name == "String" and CODE_NAME.search(k[2])}
    table = {(t, f, a) for (t, f), formats in codes.ARGUMENTS.items() for a in formats}
    assert carrying - table == set(), "arguments carrying a code without a format in hub.api.codes.ARGUMENTS"
    assert table - set(arguments) == set(), "hub.codes.ARGUMENTS names arguments the schema does not have"
    assert len(carrying) >= 30


@pytest.mark.parametrize(("fmt", "good", "bad"), [
    (codes.DISTRICT, ["440106", "110105"], ["abc", "44010", "4401060", "040106", " 440106", "44O106"]),
    (codes.OCCUPATION, ["2-02-07-01", "6-18-01-01"], ["2-02-07", "20207 01", "9-01-01-01", "2-2-7-1"]),
    (codes.OCCUPATION_PREFIX, ["6", "6-", "6-18", "6-1", "6-18-01-01"], ["%", "6-18-01-011", "-18", "6--", "a"]),
    (codes.USCC, ["91110000600037341L", "91350100M000100Y43"],
     ["91110000600037341M", "91110000600037341", "9111000060003734IL", "abc"]),
    (codes.SCHOOL, ["4144010001"], ["414401000", "41440100011", "41440I0001"]),
    (codes.MAJOR, ["460103"], ["46010", "4601031", "abcdef"]),
    (codes.MAJOR_PREFIX, ["4", "4601", "460103"], ["", "4601034", "%"]),
    (codes.INDUSTRY, ["C", "39", "391", "3914"], ["U", "c", "3", "39141", "_"]),
    (codes.INDUSTRY_PREFIX, ["C", "3", "3914"], ["_", "39141", "CC"]),
    (codes.INDUSTRY_SECTION, ["A", "T"], ["U", "AB", "1"]),
    (codes.PARK, ["P0001"], ["P001", "p0001", "P00001"]),
    (codes.RESEARCH_PROJECT, ["RP000001"], ["RP00001", "rp000001", "TT000001"]),
])
def test_formats(fmt, good, bad) -> None:
    assert [v for v in good if not fmt.valid(v)] == []
    assert [v for v in bad if fmt.valid(v)] == []


def _query_for(parent: str, field: str, argument: str, value: str) -> str:
    # Required arguments besides the one tested.
    others = {"major": ', code: "460103"' if argument != "code" else "", "supplyDemand": ", year: 2024",
              "majorIndustryMatch": ", year: 2024", "enrollmentGuidance": ", year: 2024"}.get(field, "")
    call = f'{field}({argument}: "{value}"{others}) {{ __typename }}'
    if parent == "Query":
        return "{ " + call + " }"
    root = {"Industry": "industries", "Occupation": "occupations"}[parent]
    return "{ %s(first: 1) { nodes { %s } } }" % (root, call)


CASES = sorted((t, f, a) for (t, f), formats in codes.ARGUMENTS.items() for a in formats)


@pytest.mark.parametrize(("parent", "field", "argument"), CASES, ids=[".".join(c) for c in CASES])
def test_a_malformed_code_is_bad_user_input_naming_the_format(gql_as, parent, field, argument) -> None:
    fmt = codes.ARGUMENTS[(parent, field)][argument]
    body = gql_as("admin")(_query_for(parent, field, argument, "abc"))
    assert body["errors"], body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["argument"] == argument
    assert error["message"] == f"argument {argument} of {parent}.{field} must be {fmt.describe}; got 'abc'"


def test_postings_with_a_malformed_district_are_an_error_not_an_empty_list(gql) -> None:
    body = gql('{ occupations(first: 2) { nodes { code postings(district: "abc") { nodes { id } } } } }')
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    assert "6-digit district code (GB/T 2260)" in body["errors"][0]["message"]
    # Through a variable too, and at the root.
    body = gql('query($d: String) { jobPostings(district: $d) { nodes { id } } }', {"d": "44-01"})
    assert body["data"] == {"jobPostings": None}
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "district",
                                               "expected": "district"}


def test_well_formed_codes_still_filter(gql, settings: Settings) -> None:
    url = settings.database_url
    district = sql_value(url, "select district_code from labor.job_postings group by 1 order by count(*) desc limit 1")
    n = sql_value(url, "select count(*) from labor.job_postings where district_code = $1 and occupation_code like '6-%'",
                  district)
    body = gql('query($d: String) { jobPostings(first: 500, district: $d, occupationCodePrefix: "6-") '
               '{ nodes { districtCode occupationCode } } }', {"d": district})
    assert "errors" not in body
    nodes = body["data"]["jobPostings"]["nodes"]
    assert len(nodes) == min(n, 500) and n > 0
    # A well-formed code that names nothing is still an empty answer, not an error.
    body = gql('{ jobPostings(district: "999999") { nodes { id } } }')
    assert body == {"data": {"jobPostings": {"nodes": []}}}


def test_the_compiled_path_gives_the_same_error(settings: Settings, tokens) -> None:
    doc = next(d for d in TrustedDocuments.load() if d.path.endswith("enterprise_profile.graphql"))
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    with TestClient(create_app(replace(settings, compiled_queries=True))) as fast, \
            TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        compiled = fast.app.router.routes[0].endpoint.compiled
        assert compiled.planned(doc.hash).plans
        for uscc in ("abc", "91110000600037341M"):  # malformed; a wrong check character
            before = compiled.answered
            body = {"query": doc.text, "variables": {"uscc": uscc}}
            a = fast.post("/graphql", json=body, headers=headers).json()
            b = general.post("/graphql", json=body, headers=headers).json()
            a.pop("extensions", None), b.pop("extensions", None)
            assert a == b
            assert a["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            assert "unified social credit code (GB 32100)" in a["errors"][0]["message"]
            assert compiled.answered == before
        good = sql_value(settings.database_url, "select uscc from commerce.enterprises order by id limit 1")
        before = compiled.answered
        ok = fast.post("/graphql", json={"query": doc.text, "variables": {"uscc": good}}, headers=headers).json()
        assert "errors" not in ok and compiled.answered == before + 1



FORMATS = [v for v in vars(codes).values() if isinstance(v, codes.CodeFormat)]


@given(st.sampled_from(FORMATS), st.one_of(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXYP-", max_size=40),
                                           st.text(max_size=40)))
@hypothesis_settings(max_examples=400, deadline=None)
def test_the_remembered_check_answers_as_the_format_says(fmt: codes.CodeFormat, value: str) -> None:
    """``CodeFormat.valid`` remembers its answers (a bounded cache): asked twice, it answers as the pattern and the
    check character say, also for values longer than any code (never cached)."""
    expected = re.fullmatch(fmt.pattern, value) is not None and (fmt.extra is None or fmt.extra(value))
    assert fmt.valid(value) is expected and fmt.valid(value) is expected


def test_a_valid_uscc_is_checked_once() -> None:
    codes._valid.cache_clear()
    for _ in range(3):
        assert codes.USCC.valid("91110000600037341L") and not codes.USCC.valid("91110000600037341X")
    info = codes._valid.cache_info()
    assert (info.misses, info.hits) == (2, 4) and info.maxsize == 8192
