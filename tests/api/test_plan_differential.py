"""Differential test of the planner: random valid query documents over the whole schema (hypothesis-graphql),
each POSTed unregistered to an app that compiles every document on first sight and to one without the
compiled path, as every consumer class — owner, granted (labor holds a test grant on every CONDITIONAL
dataset) and not granted (commerce, education, science read each other's CONDITIONAL and NOT_SHARED data
without one) — must give the same status, headers and bytes, denials and masks included, and the same audit
entry (datasets read, grants used, rows, masked fields, denials, outcome).

Most documents are drawn from the root fields that have a batch spec (``hub.api.specs.ROOTS``: what a plan can
answer), three in five with their arguments "tamed" (``first`` small, codes and keys of real rows, free text
and dates dropped) so that they find data; the rest from the whole schema with the generated arguments as
they are (errors, limits, refused filters and documents the planner leaves to the general path). A plan answers
only successful results (an answer with errors always comes from the general path), so the planner must answer
nearly every request whose answer has no errors (``PLANNED_SHARE``), for every consumer class: the comparison is
not between two general paths, and a document the planner cannot answer is a gap the failure names.

Bounded for ``make test`` (``HUB_PLAN_FUZZ_EXAMPLES``, 60 documents; derandomized, so CI is stable; its share
of the suite is well under 2 minutes); ``make fuzz`` runs many more with random seeds
(``HUB_PLAN_FUZZ_EXAMPLES``, ``HUB_PLAN_FUZZ_RANDOM=1``).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import tracemalloc
from dataclasses import replace

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from starlette.testclient import TestClient

from hub.api import specs
from hub.api.plan_cache import PlanCache
from hub.api.schema import build_schema
from hub.api.trusted import document_hash
from hub.assembly import contributions
from hub.app import create_app
from hub.settings import Settings
from tests.fuzz.documents import known_values, tamed
from tests.fuzz.strategies import SCALARS
from tests.support.helpers import sql

EXAMPLES = int(os.environ.get("HUB_PLAN_FUZZ_EXAMPLES", "60"))
RANDOM = os.environ.get("HUB_PLAN_FUZZ_RANDOM") == "1"
WHO = ("labor", "commerce", "education", "science")  # granted + owner; owners without grants
PLANNED_SHARE = 0.9  # of the requests answered without errors, the share a plan must have answered
AUDITED = ("operation_name", "operation_type", "document_hash", "outcome", "consumer_id", "datasets", "grants",
           "rows", "masked_fields", "denied", "error_codes")


@pytest.fixture(scope="module")
def apps(settings, tokens):
    with TestClient(create_app(replace(settings, compiled_queries=True))) as planned, \
            TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        yield planned, general


@pytest.fixture(scope="module")
def known(settings) -> dict[str, str]:
    return known_values(settings.database_url)


def _without_trace(content: bytes) -> bytes:
    marker = b',"extensions":{"traceId":'
    return content.split(marker)[0] if marker in content else content


def _unordered(response) -> tuple:
    body = response.json()
    return body.get("data"), sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in body.get("errors", []))


def _last_audit_entries(url: str) -> list[dict]:
    rows = sql(url, f"select {', '.join(AUDITED)} from hub.audit_log order by id desc limit 2")
    return [dict(r) for r in reversed(rows)]


def test_planned_answers_are_byte_identical_to_the_general_path(apps, tokens, settings, known) -> None:
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    schema = planned.app.state.schema._schema
    contributions()
    plannable = sorted(name for name in specs.ROOTS if name in schema.query_type.fields)
    nodes = queries(schema, fields=plannable, custom_scalars=SCALARS, print_ast=lambda node: node)
    documents = st.one_of(nodes.map(tamed(known)), nodes.map(tamed(known)), nodes.map(tamed(known)),
                          queries(schema, fields=plannable, custom_scalars=SCALARS),
                          queries(schema, custom_scalars=SCALARS))
    seen = {"documents": 0, "answered": 0, "without_errors": 0, **{who: 0 for who in WHO}}
    left: dict[str, str] = {}  # error-free answers from the general path: document -> the planner's reason

    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=list(HealthCheck))
    @given(document=documents)
    def check(document: str) -> None:
        seen["documents"] += 1
        for who in WHO:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            before = compiled.answered
            a = planned.post("/graphql", json={"query": document}, headers=headers)
            answered = compiled.answered > before
            b = general.post("/graphql", json={"query": document}, headers=headers)
            assert (a.status_code, a.headers["content-type"]) == (b.status_code, b.headers["content-type"]), document
            if answered:
                assert _without_trace(a.content) == _without_trace(b.content), (who, document)
            else:  # both answered by the general path, whose errors of concurrent fields come in any order
                assert _unordered(a) == _unordered(b), (who, document)
            if "errors" not in a.json():
                seen["without_errors"] += 1
                if not answered:
                    planned_entry = compiled.planned(document_hash(document))
                    left[document] = getattr(planned_entry, "reason", None) or "fell back while running"
            if answered:
                seen["answered"] += 1
                seen[who] += 1
                entries = _last_audit_entries(settings.database_url)
                assert len(entries) == 2 and entries[0] == entries[1], (who, document, entries)
                assert "errors" not in a.json()

    check()
    # the planner answered nearly every error-free request, and some for every consumer class (not only the general
    # path compared with itself); a document reading a dataset its consumer may not read is answered by the general
    # path, with its error
    assert seen["answered"] >= PLANNED_SHARE * seen["without_errors"] and all(seen[who] for who in WHO), \
        (seen, list(left.items())[:5])


def test_get_and_persisted_requests_are_planned_on_first_sight(apps, tokens) -> None:
    """A new document is compiled the first time it is seen, POST or GET, and answered by its plan from the
    cache afterwards; a registered document's hash alone finds its plan; an unregistered hash does not."""
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    text = "query Fresh($n: Int) { occupations(first: $n) { nodes { code name postingCount } } }  # first sight"
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert compiled.planned(digest) is None
    params = {"query": text, "variables": json.dumps({"n": 3})}
    expected = _without_trace(general.get("/graphql", params=params, headers=headers).content)
    for request in (lambda: planned.get("/graphql", params=params, headers=headers),
                    lambda: planned.post("/graphql", json={"query": text, "variables": {"n": 3}}, headers=headers)):
        before, hits = compiled.answered, compiled.cache.stats.hits
        response = request()
        assert response.status_code == 200 and _without_trace(response.content) == expected
        assert compiled.answered == before + 1
    assert compiled.planned(digest).plans and compiled.cache.stats.hits == hits + 1
    unknown = planned.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
                           headers=headers)
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_the_cache_is_bounded_and_documents_it_cannot_plan_are_remembered(settings, tokens) -> None:
    with TestClient(create_app(replace(settings, compiled_queries=True, plan_cache_size=3))) as client:
        client.headers["Authorization"] = f"Bearer {tokens['labor']}"
        compiled = client.app.router.routes[0].endpoint.compiled
        assert len(compiled.cache.entries) == 3  # warmed with registered documents, never more than the size
        for n in range(5):
            r = client.post("/graphql", json={"query": f"{{ occupations(first: {n + 1}) {{ nodes {{ code }} }} }}"})
            assert r.status_code == 200 and "errors" not in r.json()
        assert len(compiled.cache.entries) == 3
        fallback = compiled.cache.stats.fallback
        for _ in range(2):  # a directive: the general path answers, the decision is cached
            directive = "{ occupations(first: 1) { nodes { code @include(if: true) } } }"
            r = client.post("/graphql", json={"query": directive})
            assert "errors" not in r.json()
        assert compiled.cache.stats.fallback == fallback + 1
        from hub.api.plan_cache import MAX_DOCUMENT_CHARS

        padded = "{ occupations(first: 1) { nodes { code } } }" + " " * MAX_DOCUMENT_CHARS  # kept out of the cache
        answered = compiled.answered
        r = client.post("/graphql", json={"query": padded})
        assert r.status_code == 200 and "errors" not in r.json() and compiled.answered == answered
        assert compiled.planned(hashlib.sha256(padded.encode()).hexdigest()) is None


def test_trusted_documents_only_still_refuses_unregistered_documents(settings, tokens) -> None:
    with TestClient(create_app(replace(settings, compiled_queries=True, trusted_documents_only=True))) as client:
        compiled = client.app.router.routes[0].endpoint.compiled
        before = compiled.answered
        r = client.post("/graphql", json={"query": "{ occupations(first: 1) { nodes { code } } }"},
                        headers={"Authorization": f"Bearer {tokens['labor']}"})
        assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        assert compiled.answered == before


@pytest.mark.parametrize("method, request_kwargs", [
    ("POST", {"json": {"query": "{ occupations(first: 1) { nodes { code } } }", "extensions": "x"}}),
    ("POST", {"json": {"query": "{ occupations(first: 1) { nodes { code } } }", "extensions": []}}),
    ("POST", {"json": {"query": "{ occupations(first: 1) { nodes { code } } }", "variables": []}}),
    ("POST", {"json": {"query": "{ occupations(first: 1) { nodes { code } } }", "operationName": 3}}),
    ("POST", {"json": {"query": "{ occupations(first: 1) { nodes { code } } }",
                       "extensions": {"persistedQuery": {"version": 2, "sha256Hash": "00"}}}}),
    ("GET", {"params": {"query": "{ occupations(first: 1) { nodes { code } } }", "extensions": "x"}}),
    ("GET", {"params": {"query": "{ occupations(first: 1) { nodes { code } } }", "variables": ""}}),
    ("GET", {"params": {"query": "{ occupations(first: 1) { nodes { code } } }", "variables": "{"}}),
    ("GET", {"params": {"query": "mutation { revokeGrant(id: 1) { id } }"}}),
], ids=["extensions-string", "extensions-list", "variables-list", "operationName-int", "persisted-version-2",
        "get-extensions-string", "get-variables-empty", "get-variables-bad-json", "get-mutation"])
def test_malformed_requests_get_the_general_paths_answer(apps, tokens, method, request_kwargs) -> None:
    """A request the general path refuses is never answered by a plan (same status and bytes)."""
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    before = compiled.answered
    a = planned.request(method, "/graphql", headers=headers, **request_kwargs)
    b = general.request(method, "/graphql", headers=headers, **request_kwargs)
    assert compiled.answered == before
    assert a.status_code == b.status_code and a.status_code != 200 or "errors" in b.json()
    assert _without_trace(a.content) == _without_trace(b.content)


def test_an_entry_keeps_one_operation_of_a_document_of_many() -> None:
    """Each request names one operation: the cache keeps that operation's plan (and the fragments it spreads),
    not every operation of the document, whatever operation an attacker's many-operation document selects."""
    text = "fragment F on Occupation { code name } " + "".join(
        f"query Q{k} {{ occupations {{ nodes {{ ...F }} }} }} " for k in range(300))
    digest = hashlib.sha256(text.encode()).hexdigest()
    cache = PlanCache(build_schema(), Settings(), 10)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(5):
            planned = cache.get(digest, text, f"Q{k}")
            assert set(planned.plans) == {f"Q{k}", None} and planned.plans[f"Q{k}"].document.definitions[1:] != ()
        gc.collect()
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / 5
    finally:
        tracemalloc.stop()
    assert per_entry < 100_000, per_entry
    assert cache.get(digest, text).reason is not None  # several operations, none named: the general path
