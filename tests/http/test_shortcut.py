"""hub.http.shortcut: GET and POST of exactly /graphql reach the GraphQL view without starlette's router; every other
request takes the router as before, and an unexpected error in the view is still the coded 500."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.app import create_app
from hub.api.view import HubGraphQL
from hub.http.errors import exception_handlers
from hub.http.shortcut import GRAPHQL_PATH, ShortcutMiddleware
from hub.settings import Settings


class Endpoint:
    """An ASGI endpoint recording whether the router handed it the request (the router sets ``scope["route"]``)."""

    def __init__(self) -> None:
        self.routed: list[bool] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.routed.append("route" in scope)
        body = b"HEAD" if scope["method"] == "HEAD" else b"ok"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture()
def recorded() -> tuple[TestClient, Endpoint]:
    endpoint = Endpoint()
    app = Starlette(routes=[Route(GRAPHQL_PATH, endpoint, methods=["GET", "POST"])],
                    middleware=[Middleware(ShortcutMiddleware, endpoint=endpoint)],
                    exception_handlers=exception_handlers())
    with TestClient(app) as client:
        yield client, endpoint


def test_get_and_post_of_the_endpoint_skip_the_router(recorded) -> None:
    client, endpoint = recorded
    assert client.post(GRAPHQL_PATH, content=b"{}").text == "ok"
    assert client.get(GRAPHQL_PATH, params={"query": "{ a }"}).text == "ok"
    assert endpoint.routed == [False, False]


def test_every_other_request_takes_the_router(recorded) -> None:
    client, endpoint = recorded
    assert client.head(GRAPHQL_PATH).status_code == 200  # starlette adds HEAD to a GET route
    assert endpoint.routed == [True]
    wrong = client.put(GRAPHQL_PATH, content=b"{}")  # the router's 405, coded (hub.http.errors)
    assert wrong.status_code == 405 and wrong.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    slash = client.post(GRAPHQL_PATH + "/", content=b"{}", follow_redirects=False)
    assert slash.status_code in (307, 404)  # the router's answer for another path, never the endpoint's
    assert endpoint.routed == [True]


def test_a_root_path_takes_the_router() -> None:
    """With a ``root_path`` the router matches the path without it: ``/graphql`` under the root path ``/graphql`` is
    not the endpoint (404), so the shortcut must not take it either."""
    endpoint = Endpoint()
    app = Starlette(routes=[Route(GRAPHQL_PATH, endpoint, methods=["GET", "POST"])],
                    middleware=[Middleware(ShortcutMiddleware, endpoint=endpoint)])
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": GRAPHQL_PATH, "raw_path": GRAPHQL_PATH.encode(), "root_path": GRAPHQL_PATH, "query_string": b"",
             "headers": [], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "app": app}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 404 and endpoint.routed == []


def test_an_unexpected_error_in_the_view_is_still_the_coded_500(settings: Settings, tokens: dict[str, str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: Any, scope: Any, payload: Any) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(HubGraphQL, "_compiled_answer", broken)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post(GRAPHQL_PATH, json={"query": "{ __typename }"},
                               headers={"Authorization": f"Bearer {next(iter(tokens.values()))}"})
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and len(error["extensions"]["reference"]) == 12
    assert "secret" not in response.text


# Odd requests of exactly GET or POST /graphql (and one that the server decodes to it), as another department's client
# might send them: the shortcut must answer each as the router does.
_ODD_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", GRAPHQL_PATH, {"json": {"query": "{ occupations(first: 2) { nodes { code name postingCount } } }"}}),
    ("GET", GRAPHQL_PATH, {"params": {"query": "{ occupations(first: 1) { nodes { code } } }"}}),
    ("POST", GRAPHQL_PATH, {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}),
    ("POST", GRAPHQL_PATH, {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data; boundary=x"}}),
    ("POST", GRAPHQL_PATH, {"content": b"a=b", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    ("POST", GRAPHQL_PATH, {"content": b"x" * 1_000_001, "headers": {"content-type": "application/json"}}),
    ("POST", GRAPHQL_PATH, {"json": [{"query": "{ __typename }"}]}),
    ("POST", GRAPHQL_PATH, {"json": {"query": "subscription { datasetChanged(dataset: \"x\") { dataset } }"},
                            "headers": {"accept": "multipart/mixed;subscriptionSpec=1.0, application/json"}}),
    ("GET", GRAPHQL_PATH, {"headers": {"accept": "text/html"}}),
    ("GET", GRAPHQL_PATH, {"params": {"query": "mutation { __typename }"}}),
    ("GET", GRAPHQL_PATH, {"params": {"query": "{", "variables": "[1"}}),
    ("POST", "/%67raphql", {"json": {"query": "{ __typename }", "operationName": "a\u0000b"}}),
]


def _answers(settings: Settings, token: str) -> list[tuple[Any, ...]]:
    """Each odd request's status, headers, body (trace ids blanked) and server span (name and route)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    answers = []
    with TestClient(create_app(settings, tracer_provider=provider), raise_server_exceptions=False) as client:
        for method, path, options in _ODD_REQUESTS:
            exported.clear()
            response = client.request(method, path, headers={"Authorization": f"Bearer {token}",
                                                             **options.get("headers", {})},
                                      **{k: v for k, v in options.items() if k != "headers"})
            server = [s for s in exported.get_finished_spans() if s.kind.name == "SERVER"]
            headers = {k: v for k, v in response.headers.items() if k not in ("traceresponse", "date")}
            answers.append((method, path, response.status_code, headers,
                            re.sub(r"[0-9a-f]{32}", "<trace>", response.text),
                            [(s.name, s.attributes.get("http.route")) for s in server]))
    return answers


def test_odd_requests_get_the_routers_answers_and_spans(settings: Settings, tokens: dict[str, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokens["labor"]
    shortcut = _answers(settings, token)
    monkeypatch.setattr(ShortcutMiddleware, "__call__", lambda self, scope, receive, send: self.app(scope, receive,
                                                                                                      send))
    routed = _answers(settings, token)
    assert shortcut == routed
    assert {a[2] for a in shortcut} >= {200, 400, 413, 415}  # the requests reached the view and the limits
