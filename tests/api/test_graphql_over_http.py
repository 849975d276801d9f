"""GraphQL over HTTP: media type negotiation, status codes and coded 4xx answers (hub.api.over_http)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.api.over_http import GRAPHQL_RESPONSE_JSON, JSON, response_media_type, shape_response
from hub.http.errors import exception_handlers

GRJ = "application/graphql-response+json"
OK_QUERY = {"query": "{ industries(first: 1) { nodes { code } } }"}
PARSE_ERROR = {"query": "{"}
VALIDATION_ERROR = {"query": "{ noSuchField }"}
COERCION_ERROR = {"query": "query Q($code: String!) { industry(code: $code) { name } }", "variables": {"code": None}}


@pytest.mark.parametrize(("accept", "expected"), [
    (None, JSON), ("", JSON), ("*/*", JSON), ("application/*", JSON), ("text/html", JSON),
    ("application/json", JSON), (GRJ, GRAPHQL_RESPONSE_JSON), (f"{GRJ}, application/json", GRAPHQL_RESPONSE_JSON),
    (f"application/json, {GRJ}", GRAPHQL_RESPONSE_JSON), (f"{GRJ};q=0.5, application/json", JSON),
    (f"{GRJ}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON), (f"*/*, {GRJ};q=0.2", JSON),
    (f"{GRJ};q=0", JSON), (f"{GRJ};charset=utf-8", GRAPHQL_RESPONSE_JSON), (f"{GRJ};q=abc, */*;q=0.1", JSON),
    ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE_JSON),
])
def test_negotiation(accept, expected) -> None:
    assert response_media_type(accept) == expected


def test_status_rules() -> None:
    request_error = {"data": None, "errors": [{"message": "x", "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}]}
    assert shape_response(JSON, request_error) == (request_error, 200)
    assert shape_response(GRAPHQL_RESPONSE_JSON, request_error) == ({"errors": request_error["errors"]}, 400)
    bubbled = {"data": None, "errors": [{"message": "x", "path": ["a"], "extensions": {"code": "BAD_USER_INPUT"}}]}
    assert shape_response(GRAPHQL_RESPONSE_JSON, bubbled) == (bubbled, 200)
    down = {"data": None, "errors": [{"message": "x", "path": ["a"], "extensions": {"code": "SERVICE_UNAVAILABLE"}},
                                     {"message": "audit", "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
    assert shape_response(JSON, down) == (down, 503)
    assert shape_response(GRAPHQL_RESPONSE_JSON, down) == ({"errors": down["errors"]}, 503)
    partial = {"data": {"a": None}, "errors": down["errors"][:1]}
    assert shape_response(GRAPHQL_RESPONSE_JSON, partial) == (partial, 200)
    unauthenticated = {"data": None, "errors": [{"message": "x", "extensions": {"code": "UNAUTHENTICATED"}}]}
    assert shape_response(GRAPHQL_RESPONSE_JSON, unauthenticated)[1] == 401


def _post(client, body, accept=None, **kwargs):
    headers = {"accept": accept} if accept is not None else {}
    return client.post("/graphql", json=body, headers=headers, **kwargs)


@pytest.mark.parametrize("accept", [GRJ, "application/json", "*/*"])
def test_success_in_both_media_types(client, accept) -> None:
    response = _post(client, OK_QUERY, accept)
    assert response.status_code == 200
    expected = GRJ if accept == GRJ else "application/json"
    assert response.headers["content-type"].split(";")[0] == expected
    assert response.json()["data"]["industries"]["nodes"]


@pytest.mark.parametrize("body", [PARSE_ERROR, VALIDATION_ERROR, COERCION_ERROR], ids=["parse", "validate", "coerce"])
def test_request_errors(client, body) -> None:
    legacy = _post(client, body, "application/json")
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"
    assert legacy.json()["data"] is None and legacy.json()["errors"]
    modern = _post(client, body, GRJ)
    assert modern.status_code == 400 and modern.headers["content-type"].startswith(GRJ)
    assert "data" not in modern.json()
    codes = {e["extensions"]["code"] for e in modern.json()["errors"]}
    assert codes <= {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"} and codes


def test_limit_errors_are_request_errors(client) -> None:
    aliases = {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"}
    response = _post(client, aliases, GRJ)
    assert response.status_code == 400 and "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_field_errors_keep_200(client) -> None:
    response = _post(client, {"query": "{ industries(first: 100000) { nodes { code } } }"}, GRJ)
    assert response.status_code == 200 and "data" in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("accept", [GRJ, "application/json"])
@pytest.mark.parametrize(("kwargs", "status"), [
    ({"content": b'{"query": "{ __typename }"', "headers": {"content-type": "application/json"}}, 400),
    ({"content": b"", "headers": {"content-type": "application/json"}}, 400),
    ({"content": b"{ __typename }", "headers": {"content-type": "application/graphql"}}, 415),
    ({"content": b'{"query": "{ __typename }"}', "headers": {"content-type": "text/plain"}}, 415),
    ({"json": {"query": ["{ __typename }"]}}, 400),
    ({"json": {"query": "{ __typename }", "operationName": {"obj": 1}}}, 400),
    ({"json": {"query": "{ __typename }", "variables": "x"}}, 400),
    ({"json": {"notquery": "{ __typename }"}}, 400),
], ids=["bad-json", "empty", "graphql-ct", "text-ct", "query-list", "opname-object", "variables-string", "no-query"])
def test_malformed_requests_are_coded_4xx(client, accept, kwargs, status) -> None:
    kwargs = dict(kwargs)
    headers = {"accept": accept, **kwargs.pop("headers", {})}
    response = client.post("/graphql", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(accept)
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_mutation_over_get_is_refused(client) -> None:
    response = client.get("/graphql", params={"query": "mutation { __typename }"}, headers={"accept": GRJ})
    assert response.status_code in (400, 405) and response.json()["errors"][0]["extensions"]["code"]


def test_get_query_negotiates_too(client) -> None:
    response = client.get("/graphql", params={"query": "{ __typename }"}, headers={"accept": GRJ})
    assert response.status_code == 200 and response.headers["content-type"].startswith(GRJ)
    assert response.json()["data"] == {"__typename": "Query"}


def test_unknown_paths_and_methods_are_coded(client) -> None:
    missing = client.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    wrong = client.put("/graphql", json=OK_QUERY)
    assert wrong.status_code == 405 and wrong.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_unexpected_exceptions_are_masked_with_a_reference() -> None:
    async def broken(request):
        raise RuntimeError("secret detail")

    app = Starlette(routes=[Route("/broken", broken)], exception_handlers=exception_handlers())
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/broken", headers={"accept": GRJ})
    assert response.status_code == 500 and response.headers["content-type"].startswith(GRJ)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and len(error["extensions"]["reference"]) == 12
    assert "secret" not in response.text and error["extensions"]["reference"] in error["message"]
