"""The compiled path answers trusted queries byte for byte like the general path, rules included."""

from __future__ import annotations

from dataclasses import replace

import pytest
from graphql import OperationType, parse
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from hub.api.trusted import TrustedDocuments
from tests.support.helpers import sql, sql_value

# Documents served over HTTP (a subscription runs over a websocket only: hub.api.ws_handler).
DOCUMENTS = sorted((d for d in TrustedDocuments.load()
                    if all(op.operation != OperationType.SUBSCRIPTION for op in parse(d.text).definitions)),
                   key=lambda d: d.path)
WHO = ("labor", "commerce", "education", "admin")


@pytest.fixture(scope="module")
def apps(settings: Settings, tokens):
    with TestClient(create_app(replace(settings, compiled_queries=True))) as fast, \
            TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        yield fast, general


def variables_for(path: str, settings: Settings) -> dict:
    url = settings.database_url
    if "enterprise" in path:
        return {"uscc": sql_value(url, "select enterprise_uscc from labor.job_postings group by 1 "
                                       "order by count(*) desc, 1 limit 1")}
    if "industry_majors" in path:
        return {"code": "39"}
    return {}


def test_every_query_document_compiles(apps) -> None:
    fast, _ = apps
    compiled = fast.app.router.routes[0].endpoint.compiled
    paths = {d.path for d in DOCUMENTS if "query" in d.text and "mutation" not in d.text}
    planned = {d.path for d in DOCUMENTS if d.path not in compiled.skipped
               and all(compiled.planned(d.hash, op.name.value) for op in parse(d.text).definitions
                       if getattr(op, "operation", None) == OperationType.QUERY)}
    assert planned == paths, compiled.skipped


@pytest.mark.parametrize("accept", [None, "application/graphql-response+json"], ids=["json", "graphql-response"])
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.path for d in DOCUMENTS])
def test_byte_identical_to_the_general_path(apps, tokens, settings: Settings, doc, who: str, accept) -> None:
    fast, general = apps
    compiled = fast.app.router.routes[0].endpoint.compiled
    headers = {"Authorization": f"Bearer {tokens[who]}", **({"accept": accept} if accept else {})}
    body = {"query": doc.text, "variables": variables_for(doc.path, settings)}
    before = compiled.answered
    a = fast.post("/graphql", json=body, headers=headers)
    b = general.post("/graphql", json=body, headers=headers)
    assert a.status_code == b.status_code == 200
    assert a.headers["content-type"] == b.headers["content-type"]
    assert a.headers["content-type"].startswith(accept or "application/json")
    # the same headers in the same order (the trace's differs: another request)
    assert [h for h in a.headers.multi_items() if h[0] != "traceresponse"] == \
        [h for h in b.headers.multi_items() if h[0] != "traceresponse"]
    strip = lambda r: {k: v for k, v in r.json().items() if k != "extensions"}  # noqa: E731 - trace ids differ
    assert strip(a) == strip(b)
    assert _without_trace(a.content) == _without_trace(b.content)
    if "errors" not in b.json():
        assert compiled.answered == before + 1, "the compiled plan should have answered"
    persisted = fast.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": doc.hash}},
                                            "variables": body["variables"]}, headers=headers)
    assert _without_trace(persisted.content) == _without_trace(b.content)


def _without_trace(content: bytes) -> bytes:
    marker = b',"extensions":{"traceId":'
    return content.split(marker)[0] if marker in content else content


def test_masking_and_denial_match(apps, tokens) -> None:
    fast, _ = apps
    doc = next(d for d in DOCUMENTS if d.path.endswith("occupation_seekers.graphql"))
    owner = fast.post("/graphql", json={"query": doc.text}, headers={"Authorization": f"Bearer {tokens['labor']}"})
    people = [e["node"] for o in owner.json()["data"]["occupations"]["nodes"] for e in o["seekers"]["edges"]]
    assert people and not any("*" in p["phone"] for p in people)
    denied = fast.post("/graphql", json={"query": doc.text}, headers={"Authorization": f"Bearer {tokens['science']}"})
    assert {e["extensions"]["code"] for e in denied.json()["errors"]} == {"FORBIDDEN"}


def test_bad_arguments_fall_back_to_coded_errors(apps, tokens) -> None:
    fast, general = apps
    doc = next(d for d in DOCUMENTS if d.path.endswith("postings_flat.graphql"))
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    for variables in ({"first": 501}, {"first": "x"}, {"first": -1}):
        a = fast.post("/graphql", json={"query": doc.text, "variables": variables}, headers=headers).json()
        b = general.post("/graphql", json={"query": doc.text, "variables": variables}, headers=headers).json()
        a.pop("extensions", None), b.pop("extensions", None)
        assert a == b and a["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_audit_entries_match(apps, tokens, settings: Settings) -> None:
    fast, general = apps
    doc = next(d for d in DOCUMENTS if d.path.endswith("occupation_seekers.graphql"))
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    entries = []
    for client in (fast, general):
        before = sql_value(settings.database_url, "select coalesce(max(id), 0) from hub.audit_log")
        assert client.post("/graphql", json={"query": doc.text}, headers=headers).status_code == 200
        rows = sql(settings.database_url, "select operation_name, operation_type, document_hash, datasets, rows, "
                                          "masked_fields, outcome, error_codes from hub.audit_log where id > $1",
                   before)
        assert len(rows) == 1
        entries.append(dict(rows[0]))
    assert entries[0] == entries[1]
    assert entries[0]["operation_name"] == "OccupationSeekers" and entries[0]["outcome"] == "OK"
    assert set(entries[0]["datasets"]) == {"labor.occupations", "labor.job_seekers", "labor.training_programs"}


def test_the_cost_limit_holds_for_each_variables_on_the_compiled_path(settings: Settings, tokens) -> None:
    """The cost of a compiled operation depends on its variables (cached per variables): a page that
    costs too much is refused with LIMIT_EXCEEDED every time, a cheap one is answered by the plan."""
    text = next(d.text for d in DOCUMENTS if d.path.endswith("bench/occupations_postings.graphql"))
    with TestClient(create_app(replace(settings, compiled_queries=True, max_cost=200))) as client:
        client.headers["Authorization"] = f"Bearer {tokens['labor']}"
        compiled = client.app.router.routes[0].endpoint.compiled
        for _ in range(2):
            cheap = client.post("/graphql", json={"query": text, "variables": {"first": 2, "postings": 2}})
            assert cheap.status_code == 200 and "errors" not in cheap.json(), cheap.text
            answered = compiled.answered
            costly = client.post("/graphql", json={"query": text, "variables": {"first": 20, "postings": 20}})
            assert costly.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED", costly.text
            assert compiled.answered == answered  # the plan did not answer it


def test_a_plan_s_default_variables_do_not_mix_with_sent_ones(settings: Settings, tokens) -> None:
    """A request without variables uses the plan's defaults, coerced once per plan (hub.api.fastpath
    coerce_variables): sent variables answer with their own values, and later requests without variables get the
    defaults again; a required variable without a default is reported by the general path every time."""
    text = next(d.text for d in DOCUMENTS if d.path.endswith("bench/occupations_postings.graphql"))
    required = "query Required($code: String!) { occupation(code: $code) { code } }"
    with TestClient(create_app(replace(settings, compiled_queries=True))) as client:
        client.headers["Authorization"] = f"Bearer {tokens['labor']}"
        compiled = client.app.router.routes[0].endpoint.compiled
        sizes = []
        for variables in (None, {"first": 2, "postings": 3}, None, {"first": 1}):
            before = compiled.answered
            body = {"query": text, **({"variables": variables} if variables else {})}
            data = client.post("/graphql", json=body).json()["data"]["occupations"]["nodes"]
            assert compiled.answered == before + 1
            sizes.append((len(data), max(len(o["postings"]["nodes"]) for o in data)))
        assert sizes == [(20, 20), (2, 3), (20, 20), (1, 20)], sizes
        for _ in range(2):
            answer = client.post("/graphql", json={"query": required}).json()
            assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
        # the code formats of the arguments are checked once per plan for its defaults (hub.api.codes): a malformed
        # default is refused every time, a well-formed default does not let a malformed sent code through
        codes = "query Codes($d: String = %s) { jobPostings(first: 1, district: $d) { nodes { id } } }"
        for default, sent, code in (('"44010X"', None, "BAD_USER_INPUT"), ('"44010X"', None, "BAD_USER_INPUT"),
                                    ('"440106"', None, None), ('"440106"', "9", "BAD_USER_INPUT"),
                                    ('"440106"', None, None)):
            body = {"query": codes % default, **({"variables": {"d": sent}} if sent else {})}
            answer = client.post("/graphql", json=body).json()
            assert (answer["errors"][0]["extensions"]["code"] if "errors" in answer else None) == code, answer
