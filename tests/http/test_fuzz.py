"""Fuzzing with hypothesis-graphql: valid queries and mutations generated from the schema, sent with demo
tokens to the app on the scratch database (mutations write there). Every answer: no 5xx, no null in a
non-null field, every error with a known ``extensions.code`` (and none unexpected).

The trusted documents are fuzzed too, through their variables: the compiled path (hub.api.fastpath, hand
written) must answer exactly like the general path (graphql-core) for any input.

Bounded for the suite (``HUB_FUZZ_EXAMPLES``: by default 60 queries, 40 mutations, 10 variable sets per
document; derandomized, so CI is stable); ``make fuzz`` runs schemathesis against a live hub for longer,
with random seeds.
"""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    OperationDefinitionNode,
    parse,
    type_from_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from starlette.testclient import TestClient

from hub.app import create_app
from hub.api.pagination import encode_cursor
from hub.api.schema import build_schema
from hub.api.trusted import TrustedDocuments
from tests.fuzz.strategies import DATES, DATETIMES, SCALARS
from tests.support.graphql_checks import error_problems, null_problems
from tests.support.helpers import sql

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
WHO = ("labor", "commerce", "education", "admin")


@functools.lru_cache(maxsize=1)
def _schema() -> Any:
    """The hub's GraphQL schema (the same types as every app's; built once, lazily)."""
    return build_schema()._schema


QUERIES = st.deferred(lambda: queries(_schema(), custom_scalars=SCALARS))
MUTATIONS = st.deferred(lambda: mutations(_schema(), custom_scalars=SCALARS))


def _auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _check(schema: Any, response: Any, document: str, operation_name: str | None = None) -> dict:
    assert response.status_code < 500, response.text
    body = response.json()
    problems = error_problems(body) + null_problems(schema, parse(document), body.get("data"), operation_name)
    assert not problems, (problems, document)
    return body


@FUZZ
@given(query=QUERIES, who=st.sampled_from(WHO))
def test_fuzzed_queries(scratch_client, scratch, query: str, who: str) -> None:
    response = scratch_client.post("/graphql", json={"query": query}, headers=_auth(scratch[1], who))
    _check(scratch_client.app.state.schema._schema, response, query)


@settings(FUZZ, max_examples=max(10, EXAMPLES * 2 // 3))
@given(mutation=MUTATIONS, who=st.sampled_from(WHO))
def test_fuzzed_mutations(scratch_client, scratch, mutation: str, who: str) -> None:
    response = scratch_client.post("/graphql", json={"query": mutation}, headers=_auth(scratch[1], who))
    _check(scratch_client.app.state.schema._schema, response, mutation)


# --- trusted documents: fuzzed variables, compiled path == general path ------------------------------------

QUERY_DOCUMENTS = [d for d in TrustedDocuments.load() if "mutation" not in d.text and "subscription" not in d.text]


@pytest.fixture(scope="module")
def general_client(scratch):
    """The scratch app without the compiled path (graphql-core answers every request)."""
    with TestClient(create_app(replace(scratch[0], compiled_queries=False))) as c:
        yield c


@pytest.fixture(scope="module")
def known_values(scratch) -> list[str]:
    """Real codes and cursors of the scratch data, so that fuzzed variables also hit existing rows."""
    url = scratch[0].database_url
    rows = sql(url, "(select code from commerce.industries order by id limit 8) union all "
                    "(select uscc from commerce.enterprises order by id limit 8) union all "
                    "(select code from labor.occupations order by id limit 8) union all "
                    "(select code from education.schools order by id limit 4) union all "
                    "(select code from education.majors order by id limit 4) union all "
                    "(select code from science.research_projects order by id limit 4) union all "
                    "(select code from hub.districts order by code limit 4)")
    return [r[0] for r in rows] + [encode_cursor(i) for i in (1, 5, 50)] + ["6-", "39", "C", "4401", ""]


def _value(schema: Any, type_: Any, known: list[str], nullable: bool = True) -> st.SearchStrategy:
    if isinstance(type_, GraphQLNonNull):
        return _value(schema, type_.of_type, known, nullable=False)
    if isinstance(type_, GraphQLList):
        base: st.SearchStrategy = st.lists(_value(schema, type_.of_type, known), max_size=3)
    elif isinstance(type_, GraphQLEnumType):
        base = st.sampled_from(sorted(type_.values))
    elif isinstance(type_, GraphQLInputObjectType):
        base = st.fixed_dictionaries({}, optional={name: _value(schema, f.type, known)
                                                   for name, f in type_.fields.items()})
    else:
        assert isinstance(type_, GraphQLScalarType)
        base = {
            "Int": st.integers(-3, 600) | st.sampled_from([0, 1, 20, 500, 501, -1, 2**31 - 1, -(2**31)]),
            "Float": st.floats(allow_nan=False, allow_infinity=False),
            "Boolean": st.booleans(),
            "Date": DATES | st.text(max_size=10),
            "DateTime": DATETIMES | st.text(max_size=10),
        }.get(type_.name, st.sampled_from(known) | st.text(max_size=12))
    return base | st.none() if nullable else base


@pytest.mark.parametrize("doc", QUERY_DOCUMENTS, ids=[d.path for d in QUERY_DOCUMENTS])
def test_compiled_path_matches_general_path_for_fuzzed_variables(scratch_client, general_client, scratch,
                                                                  known_values, doc) -> None:
    schema = scratch_client.app.state.schema._schema
    operation = next(d for d in parse(doc.text).definitions if isinstance(d, OperationDefinitionNode))
    variables = st.fixed_dictionaries({}, optional={
        v.variable.name.value: _value(schema, type_from_ast(schema, v.type), known_values)
        for v in operation.variable_definitions or ()})
    name = operation.name.value if operation.name else None

    @settings(FUZZ, max_examples=max(8, EXAMPLES // 6))
    @given(variables=variables, who=st.sampled_from(WHO))
    def check(variables: dict, who: str) -> None:
        body = {"query": doc.text, "variables": variables, "operationName": name}
        fast = scratch_client.post("/graphql", json=body, headers=_auth(scratch[1], who))
        general = general_client.post("/graphql", json=body, headers=_auth(scratch[1], who))
        _check(schema, fast, doc.text, name)
        assert (fast.status_code, fast.headers["content-type"]) == (general.status_code,
                                                                    general.headers["content-type"])
        assert _without_trace(fast.content) == _without_trace(general.content), variables

    check()


def _without_trace(content: bytes) -> bytes:
    marker = b',"extensions":{"traceId":'
    return content.split(marker)[0] if marker in content else content
