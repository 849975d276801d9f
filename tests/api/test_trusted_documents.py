"""Trusted documents: ``graphql/operations/**/*.graphql`` registered by SHA-256, sent as
``extensions.persistedQuery`` (POST or GET), and ``trusted_documents_only`` refusing everything else.

Runs on a scratch database of its own (migrated, demo consumers, no demo data): what matters is which
document runs, not what it returns.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest
from graphql import OperationDefinitionNode, parse, validate
from starlette.testclient import TestClient

from hub import GRAPHQL_DIR
from hub.api.document_limits import DocumentAnalysis
from hub.api.limit_rules import alias_rule, depth_rule
from hub.api.schema import build_schema
from hub.settings import Settings
from hub.api.trusted import OPERATIONS_DIR, TrustedDocuments, document_hash
from tests.support.clients import client_with_token, empty_database_fixtures
from tests.support.helpers import body_of

SCRATCH_DB = "hub_test_trusted"
ADHOC = "{ occupations(first: 1) { nodes { code } } }"
scratch, http = empty_database_fixtures(SCRATCH_DB)


@pytest.fixture(scope="module")
def strict(scratch) -> Iterator[TestClient]:
    """The app with HUB_TRUSTED_DOCUMENTS_ONLY=true."""
    settings, tokens = scratch
    with client_with_token(replace(settings, trusted_documents_only=True), tokens["labor"]) as client:
        yield client


def example(name: str) -> tuple[str, str]:
    text = (OPERATIONS_DIR / "examples" / f"{name}.graphql").read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def persisted(digest: str, **extra: Any) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}, **extra}


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


# -- the registered documents ----------------------------------------------------------------------------


def test_operations_are_found_from_the_package_not_the_working_directory(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        docs = TrustedDocuments.load()
    finally:
        os.chdir(cwd)
    assert OPERATIONS_DIR == GRAPHQL_DIR / "operations"
    files = sorted(OPERATIONS_DIR.rglob("*.graphql"))
    assert len(files) >= 3 and len(docs) == len(files)
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert docs.get(digest).text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(OPERATIONS_DIR.rglob("*.graphql")), ids=lambda p: p.stem)
def test_every_operation_is_valid_named_and_within_the_limits(path: Path) -> None:
    settings = Settings()
    schema = build_schema(settings)._schema
    document = parse(path.read_text(encoding="utf-8"))
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert operations and all(op.name is not None for op in operations), "operations must be named"
    assert validate(schema, document, [depth_rule(settings.max_depth), alias_rule(settings.max_aliases)]) == []
    assert validate(schema, document) == []
    analysis = DocumentAnalysis(document, schema, default_page_size=settings.default_page_size,
                                max_page_size=settings.max_page_size)
    assert 0 < analysis.cost() <= settings.max_cost


# -- persisted queries --------------------------------------------------------------------------------


def test_a_registered_hash_runs_its_document(http: TestClient) -> None:
    _, digest = example("occupation_postings")
    response = http.post("/graphql", json=persisted(digest, variables={"first": 2}))
    assert response.status_code == 200
    assert body_of(response) == {"data": {"occupations": {"nodes": [], "pageInfo": {"hasNextPage": False,
                                                                                  "endCursor": None}}}}


def test_a_registered_hash_runs_over_get(http: TestClient) -> None:
    _, digest = example("industry_majors")
    params = {"extensions": json.dumps(persisted(digest)["extensions"]), "variables": json.dumps({"code": "C"}),
              "operationName": "IndustryMajors"}
    response = http.get("/graphql", params=params, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert body_of(response) == {"data": {"industry": None}}
    # A browser-like Accept does not turn a persisted query into the GraphiQL page.
    page = http.get("/graphql", params=params, headers={"accept": "text/html,*/*"})
    assert page.status_code == 200 and body_of(page) == {"data": {"industry": None}}


def test_an_unknown_hash_is_not_found(http: TestClient) -> None:
    response = http.post("/graphql", json=persisted("0" * 64))
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_a_hash_with_a_different_query_text_is_bad_input(http: TestClient) -> None:
    _, digest = example("school_research")
    response = http.post("/graphql", json=persisted(digest, query=ADHOC))
    assert response.status_code == 200
    assert codes(response.json()) == ["BAD_USER_INPUT"]


def test_a_hash_with_its_own_query_text_runs(http: TestClient) -> None:
    text, digest = example("school_research")
    body = body_of(http.post("/graphql", json=persisted(digest, query=text)))
    assert body == {"data": {"schools": {"nodes": []}}}
    # Not registered, but the text matches its hash: outside trusted-only mode it runs.
    body = body_of(http.post("/graphql", json=persisted(document_hash(ADHOC), query=ADHOC)))
    assert body == {"data": {"occupations": {"nodes": []}}}


@pytest.mark.parametrize("extension", [
    "not an object",
    {"version": 2, "sha256Hash": "0" * 64},
    {"version": 1},
    {"version": 1, "sha256Hash": "xyz"},
])
def test_a_malformed_persisted_query_is_bad_input(http: TestClient, extension: Any) -> None:
    response = http.post("/graphql", json={"extensions": {"persistedQuery": extension}})
    assert response.status_code == 200
    assert codes(response.json()) == ["BAD_USER_INPUT"]


def test_ad_hoc_documents_run_when_not_trusted_only(http: TestClient) -> None:
    assert body_of(http.post("/graphql", json={"query": ADHOC})) == {"data": {"occupations": {"nodes": []}}}


# -- trusted documents only --------------------------------------------------------------------------


def test_trusted_only_refuses_unregistered_text(strict: TestClient) -> None:
    response = strict.post("/graphql", json={"query": ADHOC})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None and codes(body) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    # Also with its own (correct, but unregistered) hash, and over GET.
    assert codes(strict.post("/graphql", json=persisted(document_hash(ADHOC), query=ADHOC)).json()) == [
        "PERSISTED_QUERY_NOT_ALLOWED"]
    assert codes(strict.get("/graphql", params={"query": ADHOC}).json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]


def test_trusted_only_runs_registered_documents(strict: TestClient) -> None:
    text, digest = example("occupation_postings")
    expected = {"data": {"occupations": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
    assert body_of(strict.post("/graphql", json=persisted(digest))) == expected
    # The registered text itself is accepted too (its hash is registered).
    assert body_of(strict.post("/graphql", json={"query": text})) == expected
    assert codes(strict.post("/graphql", json=persisted("f" * 64)).json()) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_trusted_only_is_read_from_the_environment() -> None:
    assert Settings.from_env({"HUB_TRUSTED_DOCUMENTS_ONLY": "true"}).trusted_documents_only is True
    assert Settings.from_env({}).trusted_documents_only is False
