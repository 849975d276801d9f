"""The cost limit (hub.limits.DocumentAnalysis) on both paths, for page sizes sent as variables: what graphql-core
coerces to an Int is costed as that Int, and the compiled path's per-variables cost cache cannot be primed by them."""

from __future__ import annotations

from dataclasses import replace

from graphql import parse
from starlette.testclient import TestClient

from hub.app import create_app
from hub.api.document_limits import DocumentAnalysis
from hub.api.schema import build_schema
from hub.settings import Settings
from hub.api.trusted import TrustedDocuments

POSTINGS = next(d.text for d in TrustedDocuments.load() if d.path.endswith("bench/occupations_postings.graphql"))


def test_integral_float_page_sizes_cost_what_they_fetch() -> None:
    """graphql-core coerces the variable 20.0 to the Int 20 (the resolver fetches 20 rows), so the cost must count
    20, not the default page size: else any page size up to the cap runs at the cost of the default."""
    schema = build_schema()._schema
    document = parse(POSTINGS)
    as_int = DocumentAnalysis(document, schema, variables={"first": 20, "postings": 20}, default_page_size=2).cost()
    as_float = DocumentAnalysis(document, schema, variables={"first": 20.0, "postings": 20.0},
                                default_page_size=2).cost()
    assert as_float == as_int


def test_the_cost_limit_holds_for_float_variables_on_both_paths(settings: Settings, tokens) -> None:
    """A costly page sent as 20.0 was costed at the default page size and answered (both paths); and the compiled
    path's cost cache keys on the raw variables, where 20.0 == 20: after one float request, the same page sent as
    integers reused the low cost and was answered by the plan while the general path refuses it."""
    cheap = replace(settings, max_cost=200, default_page_size=2)
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    for compiled in (True, False):
        with TestClient(create_app(replace(cheap, compiled_queries=compiled))) as client:
            for variables in ({"first": 20.0, "postings": 20.0}, {"first": 20, "postings": 20}):
                answer = client.post("/graphql", json={"query": POSTINGS, "variables": variables}, headers=headers)
                errors = answer.json().get("errors") or [{}]
                assert errors[0].get("extensions", {}).get("code") == "LIMIT_EXCEEDED", (compiled, variables)


def test_a_variable_default_of_another_operation_does_not_lower_the_cost(settings: Settings, tokens) -> None:
    """Variable defaults were collected for the whole document, the first operation's winning: `query A($f: Int = 1)`
    placed before `query B($f: Int = 500)` made B cost as if its pages held 1 row (5 instead of 501001), on both
    paths. A variable's default is now the largest any operation gives it (fragments are costed once per document,
    so they cannot know which operation spreads them)."""
    costly = "query B($f: Int = 500) { occupations(first: $f) { nodes { postings(first: $f) { nodes { id } } } } }"
    text = "query A($f: Int = 1) { occupations(first: $f) { nodes { code } } }\n" + costly
    schema = build_schema()._schema
    assert DocumentAnalysis(parse(text), schema).cost("B") == DocumentAnalysis(parse(costly), schema).cost("B")
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    for compiled in (True, False):
        with TestClient(create_app(replace(settings, compiled_queries=compiled, max_cost=10_000))) as client:
            answer = client.post("/graphql", json={"query": text, "operationName": "B"}, headers=headers)
            errors = answer.json().get("errors") or [{}]
            assert errors[0].get("extensions", {}).get("code") == "LIMIT_EXCEEDED", (compiled, answer.text[:200])
