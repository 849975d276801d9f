"""Clients of an app in the tests: ``GraphQLClient`` (GraphQL over a TestClient, as a consumer),
``client_with_token`` (a TestClient of a new app sending a bearer token) and ``empty_database_fixtures`` (a
module's own empty database and a client of it)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support.database import empty_database
from tests.support.helpers import body_of


class GraphQLClient:
    def __init__(self, client: TestClient, token: str | None = None):
        self.http = client
        self.token = token

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any):
        if self.token is not None:
            kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {self.token}"
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return body_of(response)  # checks, then drops, extensions.traceId

    @property
    def stats(self):
        return self.http.app.state.db.stats


def client_with_token(settings: Settings, token: str) -> TestClient:
    """A TestClient of a new app on ``settings`` sending ``token`` by default (use it as a context manager)."""
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def empty_database_fixtures(name: str) -> tuple[Any, Any]:
    """The module fixtures ``scratch`` (database ``name``: migrated, with the demo consumers and no data; its
    settings and their tokens) and ``http`` (a client of the app on it, as labor), for a test module that needs a
    database of its own: ``scratch, http = empty_database_fixtures("hub_test_x")``."""

    @pytest.fixture(scope="module", name="scratch")
    def scratch(server_url: str) -> tuple[Settings, dict[str, str]]:
        return empty_database(server_url, name)

    @pytest.fixture(scope="module", name="http")
    def http(scratch: tuple[Settings, dict[str, str]]) -> Iterator[TestClient]:
        settings, tokens = scratch
        with client_with_token(settings, tokens["labor"]) as client:
            yield client

    return scratch, http
