"""An attacker's review of the GraphQL surface (issue: redteam): a consumer of another department tries to learn data
it may not see, see it unmasked, or read it without a faithful audit entry. Each test is one probe; the ones that
found a hole are marked so in their docstrings, the others keep a rule in place.

Runs on the scratch database (``scratch``): grants written here are revoked when the test ends."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Iterator

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from starlette.testclient import TestClient

from hub.api.trusted import OPERATIONS_DIR, document_hash
from hub.app import create_app
from tests.fuzz.documents import known_values, tamed
from tests.fuzz.strategies import SCALARS
from tests.support.helpers import approved_grant, sql

LAST_ENTRY = ("select operation_type, datasets, grants, masked_fields, denied, outcome, error_codes "
              "from hub.audit_log order by id desc limit 1")


@pytest.fixture(scope="module")
def paths(scratch) -> Iterator[dict[str, TestClient]]:
    """The app on the scratch database with the compiled path and without it (the general path alone)."""
    settings, _ = scratch
    with TestClient(create_app(replace(settings, compiled_queries=True))) as planned, \
            TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        yield {"compiled": planned, "general": general}


def _post(client: TestClient, token: str, query: str, **kwargs: Any):
    return client.post("/graphql", json={"query": query, **kwargs}, headers={"Authorization": f"Bearer {token}"})


def _revoke(url: str, *grants: int) -> None:
    sql(url, "update hub.grants set revoked_at = now() where id = any($1)", list(grants))


@pytest.mark.parametrize("path", ["compiled", "general"])
def test_every_grant_a_read_relies_on_is_named_in_its_audit_entry(scratch, paths, path) -> None:
    """HOLE (audit under-report): a department holding two grants on one dataset reads under both — one lets it read
    the dataset, the other unmasks ``name`` — but the entry named only one of them (whichever the database listed
    first), so the log could not show which grant a clear name was read under."""
    settings, tokens = scratch
    url = settings.database_url
    plain = approved_grant(url, "commerce", "labor.job_seekers", [])
    names = approved_grant(url, "commerce", "labor.job_seekers", ["name"])
    try:
        compiled = paths["compiled"].app.router.routes[0].endpoint.compiled
        answered = compiled.answered
        body = _post(paths[path], tokens["commerce"], "{ jobSeekers(first: 2) { nodes { name phone } } }").json()
        entry = dict(sql(url, LAST_ENTRY)[0])
    finally:
        _revoke(url, plain, names)
    nodes = body["data"]["jobSeekers"]["nodes"]
    assert nodes and all("*" not in n["name"] and "*" in n["phone"] for n in nodes), body  # name in clear, phone not
    assert compiled.answered == answered + (path == "compiled")
    assert sorted(entry["grants"]) == sorted([plain, names]), entry
    assert list(entry["masked_fields"]) == ["labor.job_seekers.idNumber", "labor.job_seekers.phone",
                                            "labor.job_seekers.sourceId"]


SUBSCRIPTION = 'subscription Watch { datasetChanged(dataset: "labor.job_seekers") { dataset cursor } }'


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_subscription_over_http_is_refused_with_a_code_and_audited(scratch, paths, method, caplog) -> None:
    """HOLE (error handling): a subscription sent over HTTP (POST or GET) ran through the query executor and failed
    with INTERNAL_SERVER_ERROR, logged as an unexpected error with a traceback for every such request. It is refused
    as a mutation over GET is (OPERATION_NOT_ALLOWED: subscriptions run over the websocket), before anything
    resolves, and its audit entry says so."""
    settings, tokens = scratch
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    client = paths["compiled"]
    if method == "POST":
        response = client.post("/graphql", json={"query": SUBSCRIPTION}, headers=headers)
    else:
        response = client.get("/graphql", params={"query": SUBSCRIPTION}, headers=headers)
    entry = dict(sql(settings.database_url, LAST_ENTRY)[0])
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert "subscriptions" in error["message"] and "websocket" in error["message"], error
    assert (entry["operation_type"], entry["outcome"], list(entry["error_codes"])) == \
        ("subscription", "ERROR", ["OPERATION_NOT_ALLOWED"])
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_mutation_over_get_answers_the_code_its_audit_entry_records(scratch, paths) -> None:
    """The body of the refusal carries OPERATION_NOT_ALLOWED (docs/api.md), as the audit entry does; it said
    BAD_USER_INPUT."""
    settings, tokens = scratch
    response = paths["general"].get("/graphql", params={"query": "mutation { revokeGrant(id: 1) { id } }"},
                                    headers={"Authorization": f"Bearer {tokens['labor']}"})
    entry = dict(sql(settings.database_url, LAST_ENTRY)[0])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED" == entry["error_codes"][0]


# --- probes that found no hole, kept as regression tests ------------------------------------------------------------

EXAMPLES = int(os.environ.get("HUB_REDTEAM_FUZZ_EXAMPLES", "60"))  # more, with random seeds: make fuzz's variables
RANDOM = os.environ.get("HUB_PLAN_FUZZ_RANDOM") == "1"
AUDITED = ("select datasets, grants, rows, masked_fields, denied, outcome, error_codes "
           "from hub.audit_log order by id desc limit 1")
# The roots that read the personal datasets or lead to them by a join, and their neighbours.
PERSONAL_ROOTS = ["jobSeekers", "specialtyTeachers", "occupations", "occupation", "schools", "school", "majors",
                  "researchProjects", "techTransfers"]
PERSONAL_VALUES = ("select name from labor.job_seekers union select id_number from labor.job_seekers "
                   "union select phone from labor.job_seekers union select name from education.specialty_teachers")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _unordered(body: dict[str, Any]) -> tuple:
    return body.get("data"), sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in body.get("errors", []))


def test_a_granted_reader_who_sees_personal_fields_masked_never_gets_one_in_clear(scratch, paths) -> None:
    """No hole: random documents over the personal datasets, as a department granted them without any personal field
    (tests/api/test_plan_differential.py's granted reader sees every field in clear, so it never exercises masking
    together with the compiled path's fused and narrowed statements). Both paths answer alike with the same audit
    entry, and no answer holds a real name, ID number or phone (the strings of every value, not just its field)."""
    settings, tokens = scratch
    url = settings.database_url
    secrets = {r[0] for r in sql(url, PERSONAL_VALUES) if len(r[0]) > 1}
    known = known_values(url)
    grants = [approved_grant(url, "commerce", d) for d in
              ("labor.job_seekers", "education.specialty_teachers", "education.major_outcomes", "science.tech_transfers")]
    planned, general = paths["compiled"], paths["general"]
    compiled = planned.app.router.routes[0].endpoint.compiled
    schema = planned.app.state.schema._schema
    nodes = queries(schema, fields=PERSONAL_ROOTS, custom_scalars=SCALARS, print_ast=lambda node: node)
    documents = st.one_of(nodes.map(tamed(known)), nodes.map(tamed(known)),
                          queries(schema, fields=PERSONAL_ROOTS, custom_scalars=SCALARS))
    headers = {"Authorization": f"Bearer {tokens['commerce']}"}
    seen = {"answered": 0, "masked": 0}

    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
                         suppress_health_check=list(HealthCheck))
    @given(document=documents)
    def check(document: str) -> None:
        before = compiled.answered
        a = planned.post("/graphql", json={"query": document}, headers=headers)
        entry_a = dict(sql(url, AUDITED)[0])
        b = general.post("/graphql", json={"query": document}, headers=headers)
        entry_b = dict(sql(url, AUDITED)[0])
        seen["answered"] += compiled.answered > before
        seen["masked"] += bool(entry_b["masked_fields"])
        assert a.status_code == b.status_code and _unordered(a.json()) == _unordered(b.json()), document
        assert entry_a == entry_b, document
        leaked = [s for s in _strings(b.json().get("data")) if s in secrets]
        assert not leaked, (document, leaked[:3])

    try:
        check()
    finally:
        _revoke(url, *grants)
    assert seen["answered"] and seen["masked"], seen  # the compiled path answered some, and some read masked values


@pytest.fixture()
def industries_conditional(scratch) -> Iterator[str]:
    """commerce.industries made CONDITIONAL for the test (the catalog is data): science, without a grant, may read
    enterprises but not their industry — a same-department key join the compiled path would fuse."""
    url = scratch[0].database_url
    sql(url, "update hub.datasets set sharing_class = 'CONDITIONAL' where name = 'commerce.industries'")
    try:
        yield url
    finally:
        sql(url, "update hub.datasets set sharing_class = 'UNCONDITIONAL' where name = 'commerce.industries'")


JOIN_SHAPES = {
    "page": "{ enterprises(first: 3) { nodes { uscc industry { code name } } } }",
    "aliases and a fragment": "{ enterprises(first: 2) { nodes { ...E i2: industry { name } uscc } } } "
                              "fragment E on Enterprise { industry { code } }",
    "by key": 'query($u: String! = "USCC") { enterprise(uscc: $u) { name industry { name } } }',
    "nested by key": "{ jobPostings(first: 2) { nodes { id enterprise { uscc industry { __typename code } } } } }",
    "typename only": "{ enterprises(first: 2) { nodes { industry { __typename } } } }",
}


@pytest.mark.parametrize("shape", JOIN_SHAPES)
def test_a_join_the_reader_may_not_read_is_refused_whatever_the_shape(scratch, paths, industries_conditional,
                                                                      shape) -> None:
    """No hole: the fused statement reads enterprises with their industries in one statement, so ``Fused.allowed``
    must refuse it for a reader of enterprises who may not read industries (aliases, fragments, a variable's default,
    a nested lookup, ``__typename`` alone): no statement reads the industries, both paths answer the enterprises
    with every industry null and FORBIDDEN, and the entry records the denial."""
    settings, tokens = scratch
    url = industries_conditional
    uscc = sql(url, "select uscc from commerce.enterprises order by id limit 1")[0][0]
    document = JOIN_SHAPES[shape].replace("USCC", uscc)
    headers = {"Authorization": f"Bearer {tokens['science']}"}
    compiled = paths["compiled"].app.router.routes[0].endpoint.compiled
    answered = compiled.answered
    bodies = []
    for path in ("compiled", "general"):
        stats = paths[path].app.state.db.stats
        before = dict(stats.by_name)
        bodies.append(paths[path].post("/graphql", json={"query": document}, headers=headers).json())
        ran = [name for name, n in stats.by_name.items() if n != before.get(name, 0)]
        assert not [name for name in ran if "industries" in name], ran  # not even fused with the enterprises
        entry = dict(sql(url, AUDITED)[0])
        assert list(entry["denied"]) == ["commerce.industries"] and entry["outcome"] == "DENIED", entry
        assert "commerce.industries" not in entry["datasets"]
    assert compiled.answered == answered  # an answer with errors is the general path's
    assert _unordered(bodies[0]) == _unordered(bodies[1])
    data, errors = bodies[0]["data"], bodies[0]["errors"]
    industries = [v for k, v in _pairs(data) if k in ("industry", "i2")]
    assert industries and all(v is None for v in industries), data
    assert {(e["extensions"]["code"], e["extensions"]["dataset"]) for e in errors} == \
        {("FORBIDDEN", "commerce.industries")}


def _pairs(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _pairs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _pairs(item)


SEARCH_SHAPES = {
    "a variable's default": 'query($s: String = "NAME") { jobSeekers(first: 3, search: $s) { nodes { id } } }',
    "a fragment behind an alias": '{ ok: jobSeekers(first: 1) { nodes { id } } ...F } '
                                  'fragment F on Query { probe: jobSeekers(first: 3, search: "NAME") { nodes { id } } }',
    "an empty page": '{ jobSeekers(first: 0, search: "NAME") { pageInfo { hasNextPage } } }',
}


@pytest.mark.parametrize("shape", SEARCH_SHAPES)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_filter_on_a_masked_name_is_refused_whatever_the_shape(scratch, paths, shape, method) -> None:
    """No hole: a name search by a reader who sees names masked is refused before any SQL on both paths, however the
    value reaches the argument (a variable's default, a fragment under an alias, a page of 0 asking only
    ``hasNextPage``: an answer or a ``hasNextPage`` would confirm the name), over POST and GET."""
    settings, tokens = scratch
    url = settings.database_url
    name = sql(url, "select name from labor.job_seekers order by id limit 1")[0][0]
    document = SEARCH_SHAPES[shape].replace("NAME", name)
    grant = approved_grant(url, "commerce", "labor.job_seekers")
    headers = {"Authorization": f"Bearer {tokens['commerce']}"}
    try:
        for path in ("compiled", "general"):
            client = paths[path]
            response = client.post("/graphql", json={"query": document}, headers=headers) if method == "POST" \
                else client.get("/graphql", params={"query": document}, headers=headers)
            body = response.json()
            entry = dict(sql(url, AUDITED)[0])
            refused = [e for e in body["errors"] if e["extensions"].get("argument") == "search"]
            assert refused and all(e["extensions"]["code"] == "FORBIDDEN" for e in refused), body
            assert body["data"].get("jobSeekers", body["data"].get("probe")) is None, body
            assert entry["outcome"] == "DENIED" and list(entry["denied"]) == ["labor.job_seekers"], entry
    finally:
        _revoke(url, grant)


INGEST = ("mutation($rows: [JSON!]!) { ingest(dataset: \"labor.job_seekers\", rows: $rows) "
          "{ applied inserted updated unchanged rejected } }")


def test_an_ingest_report_does_not_confirm_personal_values_the_writer_sees_masked(scratch, paths) -> None:
    """HOLE (confirmation oracle): an admin may ingest into any dataset, but reads job seekers only masked (or not at
    all without a grant). Upserting a row by its natural key with guessed name, ID number and phone answered
    ``unchanged: 1`` exactly when every guess equalled the stored value — the confirmation a name search is refused
    for. Such a writer now sees ``applied`` only (test_rest_edges: nor ``inserted`` against ``updated``); the owner
    still sees ``unchanged``."""
    settings, tokens = scratch
    url = settings.database_url
    stored = dict(sql(url, "select name, id_number, phone, gender, birth_year, education, occupation_code, skill_level, "
                           "district_code, registered_on::text, left_on::text from labor.job_seekers "
                           "order by id limit 1")[0])
    row = {**stored, "source_id": "redteam-oracle-1"}
    client = paths["general"]
    try:
        first = _post(client, tokens["labor"], INGEST, variables={"rows": [row]}).json()["data"]["ingest"]
        assert first["inserted"] == 1, first
        counts = {who: _post(client, tokens[who], INGEST, variables={"rows": [row]}).json()["data"]["ingest"]
                  for who in ("labor", "admin")}
    finally:
        sql(url, "delete from labor.job_seekers where source_id = 'redteam-oracle-1'")
    assert counts["labor"] == {"applied": 1, "inserted": 0, "updated": 0, "unchanged": 1, "rejected": 0}
    assert counts["admin"] == {"applied": 1, "inserted": None, "updated": None, "unchanged": None, "rejected": 0}


def test_a_refused_review_or_revocation_does_not_tell_a_third_department_whose_it_is(scratch, paths) -> None:
    """HOLE (small): ``accessRequests`` and ``grants`` show each side its own, but reviewing or revoking another pair's
    request or grant by id answered FORBIDDEN naming its dataset and owner, so a third department enumerating ids
    learned which datasets were requested and granted. The sides (and admins, who list everything) are still told;
    what a third department is told is in test_rest_edges (the same answer as for an id that does not exist)."""
    settings, tokens = scratch
    url = settings.database_url
    grant = approved_grant(url, "commerce", "labor.job_seekers")
    request = sql(url, "select request_id from hub.grants where id = $1", grant)[0][0]
    review = f"mutation {{ reviewAccessRequest(id: {request}, decision: REFUSE, reason: \"probe\") {{ id }} }}"
    revoke = f"mutation {{ revokeGrant(id: {grant}) {{ id }} }}"
    try:
        answers = {(who, what): _post(paths["general"], tokens[who], document).json()["errors"][0]
                   for who in ("science", "commerce") for what, document in (("review", review), ("revoke", revoke))}
    finally:
        _revoke(url, grant)
    for (who, what), error in answers.items():
        assert error["extensions"]["code"] == ("FORBIDDEN" if who == "commerce" else "NOT_FOUND"), (who, what, error)
        told = "labor" in error["message"] or "dataset" in error["extensions"]
        assert told == (who == "commerce"), (who, what, error)  # the requester knows its own request and grant


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_registered_documents_name_search_is_refused_by_its_hash_alone(scratch, paths, method) -> None:
    """No hole: the registered ``SeekerSearch`` sent by its hash alone (a persisted query, which the compiled path
    answers from its warmed cache) with a name in its variables is refused to a reader who sees names masked, on
    both paths, as its text is."""
    settings, tokens = scratch
    url = settings.database_url
    text = (OPERATIONS_DIR / "examples" / "seeker_search.graphql").read_text(encoding="utf-8")
    name = sql(url, "select name from labor.job_seekers order by id limit 1")[0][0]
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(text)}}
    grant = approved_grant(url, "commerce", "labor.job_seekers")
    headers = {"Authorization": f"Bearer {tokens['commerce']}"}
    try:
        for path in ("compiled", "general"):
            client = paths[path]
            if method == "POST":
                response = client.post("/graphql", json={"extensions": persisted, "variables": {"search": name}},
                                       headers=headers)
            else:
                response = client.get("/graphql", params={"extensions": orjson.dumps(persisted).decode(),
                                                          "variables": orjson.dumps({"search": name}).decode()},
                                      headers=headers)
            body = response.json()
            entry = dict(sql(url, AUDITED)[0])
            assert body["data"]["jobSeekers"] is None, body
            assert [e["extensions"]["argument"] for e in body["errors"]] == ["search"], body
            assert entry["outcome"] == "DENIED" and list(entry["denied"]) == ["labor.job_seekers"], entry
    finally:
        _revoke(url, grant)
