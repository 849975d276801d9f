"""Query limits: depth, aliases, tokens, cost, page size, rate limit, body size, statement timeout and
the production defaults. Every violation answers ``extensions.code`` LIMIT_EXCEEDED naming the limit.

Runs on a scratch database of its own (migrated, demo consumers, no demo data): the limits do not
depend on data. No timed assertions: a query that would take exponential time (fragment bombs) simply
would not finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import replace
from functools import partial
from typing import Any

import asyncpg
import pytest
import strawberry
from graphql import parse, validate
from starlette.testclient import TestClient

from hub.errors import LimitExceeded, from_db_error
from hub.api.document_limits import DocumentAnalysis
from hub.api.limit_rules import QueryCost, alias_rule, depth_rule
from hub.http.limits import BodySizeLimitMiddleware, RateLimitMiddleware, TokenBuckets
from hub.api.schema import build_schema
from hub.db.pools import Databases, Department, Stats
from hub.settings import Settings
from tests.support.clients import client_with_token, empty_database_fixtures
from tests.support.live import serve_in_thread

SCRATCH_DB = "hub_test_limits"
scratch, http = empty_database_fixtures(SCRATCH_DB)


def post(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def limit_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["extensions"] for e in body.get("errors", []) if e["extensions"]["code"] == "LIMIT_EXCEEDED"]


def nested(levels: int) -> str:
    """``industry`` and ``levels - 1`` nested ``parent`` fields: an operation ``levels`` deep."""
    return '{ industry(code: "C") { ' + "parent { " * (levels - 1) + "code" + " }" * levels + " }"


# -- depth -------------------------------------------------------------------------------------------


def test_depth_over_the_limit_is_refused(http: TestClient, scratch) -> None:
    settings, _ = scratch
    body = post(http, nested(settings.max_depth + 1))
    assert body["data"] is None
    assert limit_errors(body) == [{"code": "LIMIT_EXCEEDED", "limit": "maxDepth", "value": settings.max_depth,
                                   "depth": settings.max_depth + 1}]


def test_depth_at_the_limit_runs(http: TestClient, scratch) -> None:
    settings, _ = scratch
    body = post(http, nested(settings.max_depth))
    assert "errors" not in body, body
    assert body["data"] == {"industry": None}


def test_depth_limit_follows_settings(scratch) -> None:
    settings, tokens = scratch
    with client_with_token(replace(settings, max_depth=3), tokens["labor"]) as client:
        assert "errors" not in post(client, nested(3))
        assert limit_errors(post(client, nested(4)))[0]["value"] == 3


def test_depth_through_fragments_and_inline_fragments(http: TestClient, scratch) -> None:
    settings, _ = scratch
    # 3 levels per fragment, 5 fragments: 15 levels, over 12 although no selection is deeper than 3.
    fragments = "\n".join(f"fragment P{i} on Industry {{ parent {{ ... on Industry {{ parent {{ parent {{ ...P{i + 1} }} }} }} }} }}"
                          for i in range(5)) + "\nfragment P5 on Industry { code }"
    body = post(http, '{ industry(code: "C") { ...P0 } }\n' + fragments)
    assert limit_errors(body)[0]["limit"] == "maxDepth"
    assert limit_errors(body)[0]["depth"] == 16


def test_ten_thousand_deep_query_is_refused_with_a_code(http: TestClient, scratch) -> None:
    settings, _ = scratch
    body = post(http, nested(10_000))
    assert body["data"] is None
    assert limit_errors(body) == [{"code": "LIMIT_EXCEEDED", "limit": "maxDepth", "value": settings.max_depth}]
    deep_list = '{ industry(code: ' + "[" * 10_000 + "]" * 10_000 + ") { code } }"
    assert limit_errors(post(http, deep_list))[0]["limit"] == "maxDepth"


# -- aliases and tokens ------------------------------------------------------------------------------


def aliased(n: int) -> str:
    return "{ " + " ".join(f'a{i}: industry(code: "{10 + i}") {{ code }}' for i in range(n)) + " }"  # well-formed


def test_aliases_over_the_limit_are_refused(http: TestClient, scratch) -> None:
    settings, _ = scratch
    assert "errors" not in post(http, aliased(settings.max_aliases))
    body = post(http, aliased(settings.max_aliases + 1))
    assert body["data"] is None
    assert limit_errors(body) == [{"code": "LIMIT_EXCEEDED", "limit": "maxAliases", "value": settings.max_aliases,
                                   "aliases": settings.max_aliases + 1}]


def test_aliases_are_counted_through_fragments_without_blowing_up(http: TestClient) -> None:
    # Each fragment spreads the next one twice under two aliases: 2^41 aliased fields when expanded.
    # (strawberry's own MaxAliasesLimiter re-walks every spread: this would not finish.)
    k = 40
    fragments = "\n".join(f"fragment A{i} on Industry {{ x: parent {{ ...A{i + 1} }} y: parent {{ ...A{i + 1} }} }}"
                          for i in range(k)) + f"\nfragment A{k} on Industry {{ code }}"
    query = '{ industry(code: "C") { ...A0 } }\n' + fragments
    body = post(http, query)
    assert body["data"] is None
    assert [e["limit"] for e in limit_errors(body)] == ["maxCost"]  # costed first, before validation
    # The validation rules alone (as with a huge max_cost) count the same expansion in linear time.
    schema = build_schema(Settings())._schema
    errors = validate(schema, parse(query), [depth_rule(12), alias_rule(30)])
    assert [(e.extensions["limit"], e.extensions.get("depth"), e.extensions.get("aliases")) for e in errors] == [
        ("maxDepth", k + 1, None), ("maxAliases", None, 2 ** (k + 1) - 2)]


def test_too_many_tokens_are_refused(http: TestClient, scratch) -> None:
    settings, _ = scratch
    body = post(http, '{ industry(code: "C") { ' + "code " * settings.max_tokens + "} }")
    assert body["data"] is None
    assert limit_errors(body) == [{"code": "LIMIT_EXCEEDED", "limit": "maxTokens", "value": settings.max_tokens}]
    # Comments count too (they cost parsing time as well).
    body = post(http, '{ industry(code: "C") { code } }' + "\n#" * (settings.max_tokens + 1))
    assert limit_errors(body)[0]["limit"] == "maxTokens"


# -- cost --------------------------------------------------------------------------------------------


def cost_of(settings: Settings, query: str, variables: dict[str, Any] | None = None) -> int:
    schema = build_schema(settings)._schema
    analysis = DocumentAnalysis(parse(query), schema, variables=variables,
                                default_page_size=settings.default_page_size, max_page_size=settings.max_page_size)
    return analysis.cost()


def test_cost_is_the_sum_of_fields_times_enclosing_page_sizes(scratch) -> None:
    settings, _ = scratch
    # occupations: 1; nodes, code, postings: 10 each; postings' nodes and title: 10 * 5 each.
    q = "{ occupations(first: 10) { nodes { code postings(first: 5) { nodes { title } } } } }"
    assert cost_of(settings, q) == 1 + 10 * (1 + 1 + 1 + 5 * (1 + 1))
    # A variable, its default, and the default page size when `first` is absent.
    qv = "query($n: Int = 7) { occupations(first: $n) { nodes { code } } }"
    assert cost_of(settings, qv, {"n": 3}) == 1 + 3 * 2
    assert cost_of(settings, qv) == 1 + 7 * 2
    assert cost_of(settings, "{ occupations { nodes { code } } }") == 1 + settings.default_page_size * 2
    # Out-of-range pages are clamped (the resolver refuses them as BAD_USER_INPUT).
    assert cost_of(settings, "{ occupations(first: 100000) { nodes { code } } }") == 1 + settings.max_page_size * 2
    assert cost_of(settings, "{ occupations(first: -5) { nodes { code } } }") == 1
    # A list without `first` counts as a default page; edges/nodes of a connection do not multiply again.
    assert cost_of(settings, '{ industry(code: "C") { children { code } } }') == 1 + 1 + settings.default_page_size
    # Fragments and inline fragments count where they are spread, each time.
    qf = """{ occupations(first: 10) { nodes { ...O ... on Occupation { name } } }
              a: occupations(first: 2) { nodes { ...O } } }
            fragment O on Occupation { code postings(first: 4) { nodes { title } } }"""
    frag = 1 + 1 + 4 * 2
    assert cost_of(settings, qf) == (1 + 10 * (1 + frag + 1)) + (1 + 2 * (1 + frag))


def test_cost_over_the_limit_is_refused_before_execution(http: TestClient, scratch) -> None:
    settings, _ = scratch
    q = "query Big($n: Int) { occupations(first: $n) { nodes { code postings(first: $n) { nodes { title } } } } }"
    cost = cost_of(settings, q, {"n": 300})
    assert cost > settings.max_cost
    body = post(http, q, {"n": 300})
    assert body["data"] is None
    assert body["errors"] == [{"message": body["errors"][0]["message"], "extensions": {
        "code": "LIMIT_EXCEEDED", "limit": "maxCost", "value": settings.max_cost, "cost": cost}}]
    small = post(http, q, {"n": 10})
    assert "errors" not in small and small["data"] == {"occupations": {"nodes": []}}


def test_cost_limit_follows_settings(scratch) -> None:
    settings, tokens = scratch
    q = "{ occupations(first: 10) { nodes { code } } }"
    with client_with_token(replace(settings, max_cost=21), tokens["labor"]) as client:
        assert "errors" not in post(client, q)  # cost 1 + 10 * 2 = 21
        body = post(client, "{ occupations(first: 11) { nodes { code } } }")
        assert limit_errors(body) == [{"code": "LIMIT_EXCEEDED", "limit": "maxCost", "value": 21, "cost": 23}]


def test_fragment_bomb_is_refused_by_cost(http: TestClient, scratch) -> None:
    # Same-level spreads add no depth and no aliases: 2^60 fields once expanded.
    k = 60
    fragments = "\n".join(f"fragment F{i} on Industry {{ ...F{i + 1} ...F{i + 1} }}" for i in range(k)) + \
        f"\nfragment F{k} on Industry {{ code }}"
    body = post(http, '{ industry(code: "C") { ...F0 } }\n' + fragments)
    assert body["data"] is None
    assert [e["limit"] for e in limit_errors(body)] == ["maxCost"]


def test_fragment_cycles_do_not_loop(http: TestClient) -> None:
    body = post(http, """{ industry(code: "C") { ...A } }
        fragment A on Industry { parent { ...B } }
        fragment B on Industry { children { ...A } }""")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "within itself" in body["errors"][0]["message"]


def test_introspection_is_bounded_by_its_own_depth_rule(http: TestClient) -> None:
    body = post(http, "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }")
    assert body["data"] is None
    assert limit_errors(body) == [{"code": "LIMIT_EXCEEDED", "limit": "introspectionDepth", "value": 3}]


def test_cost_is_left_in_the_context() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def items(self, first: int | None = None) -> list[int]:
            return list(range(first or 0))

    class Ctx:
        cost = None

    schema = strawberry.Schema(query=Query, extensions=[partial(QueryCost, max_cost=100, default_page_size=20,
                                                                max_page_size=500)])
    ctx = Ctx()
    result = asyncio.run(schema.execute("{ items(first: 3) a: items }", context_value=ctx))
    assert result.errors is None and result.data == {"items": [0, 1, 2], "a": []}
    assert ctx.cost == 2
    refused = asyncio.run(schema.execute("{ " + " ".join(f"a{i}: items" for i in range(101)) + " }",
                                         context_value=ctx))
    assert refused.data is None and refused.errors[0].extensions["limit"] == "maxCost"
    assert ctx.cost == 101


# -- page size ----------------------------------------------------------------------------------------


def test_page_size_over_the_cap_stays_bad_user_input(http: TestClient, scratch) -> None:
    settings, _ = scratch
    body = post(http, f"{{ occupations(first: {settings.max_page_size + 1}) {{ nodes {{ code }} }} }}")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


# -- rate limit ----------------------------------------------------------------------------------------


def test_token_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # buckets are per key
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 100.0  # refills up to the burst, not beyond
    assert [buckets.take("a") for _ in range(4)][-1] > 0


def test_token_buckets_keep_memory_bounded() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=100)
    for key in range(1000):
        buckets.take(key)
    assert len(buckets) <= 100


def test_rate_limit_answers_429_with_retry_after(scratch) -> None:
    settings, tokens = scratch
    limited = replace(settings, rate_limit_per_second=0.01, rate_limit_burst=2)
    with client_with_token(limited, tokens["labor"]) as client:
        q = {"query": "{ occupations(first: 1) { nodes { code } } }"}
        assert [client.post("/graphql", json=q).status_code for _ in range(2)] == [200, 200]
        response = client.post("/graphql", json=q)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["content-type"] == "application/json"
        [error] = response.json()["errors"]
        assert error["message"].startswith("rate limit exceeded")
        assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "rateLimit", "value": 0.01}
        # Per consumer: another consumer still has its whole burst.
        other = client.post("/graphql", json=q, headers={"Authorization": f"Bearer {tokens['commerce']}"})
        assert other.status_code == 200
        # Unauthenticated requests are authentication's business (401), not the rate limiter's.
        assert client.post("/graphql", json=q, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/healthz").status_code == 200


def test_rate_limit_only_limits_authenticated_requests() -> None:
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    class Consumer:
        id = 7

    def with_consumer(inner):
        async def wrapper(scope, receive, send):
            if scope["path"].startswith("/sync"):
                scope["hub.consumer"] = Consumer()
            await inner(scope, receive, send)
        return wrapper

    client = TestClient(with_consumer(RateLimitMiddleware(app, rate=0.01, burst=1)))
    assert [client.get("/open").status_code for _ in range(3)] == [204, 204, 204]
    assert [client.get("/sync/changes").status_code for _ in range(2)] == [204, 429]


# -- body size ------------------------------------------------------------------------------------------


def test_body_over_the_limit_is_refused(scratch) -> None:
    settings, tokens = scratch
    with client_with_token(replace(settings, max_body_bytes=2048), tokens["labor"]) as client:
        padding = " " * 3000
        response = client.post("/graphql", content=f'{{"query": "{{ occupations {{ nodes {{ code }} }} }}{padding}"}}',
                               headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "maxBodyBytes",
                                                              "value": 2048}

        def chunks():  # no Content-Length: counted while streaming
            yield b'{"query": "{ occupations { nodes { code } } }'
            for _ in range(10):
                yield b" " * 500
            yield b'"}'

        response = client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["limit"] == "maxBodyBytes"
        small = client.post("/graphql", json={"query": "{ occupations(first: 1) { nodes { code } } }"})
        assert small.status_code == 200


def test_streamed_body_is_not_read_past_the_limit() -> None:
    assert _endless_body_refused([]) == (11, 413)  # no Content-Length: 11 reads of 1,000 bytes pass 10,000


def _endless_body_refused(headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """An app that reads every body message behind the limit of 10,000 bytes, given an endless body with
    ``headers``: how many messages it was given, and the status sent."""
    reads = 0

    async def receive():
        nonlocal reads
        reads += 1
        if reads > 100:  # not refused: an uncounted body goes on (the wait below ends the test)
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}
    with contextlib.suppress(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(BodySizeLimitMiddleware(app, max_bytes=10_000)(scope, receive, send), 1))
    return reads, sent[0]["status"] if sent else None


def test_a_content_length_is_trusted_only_when_it_alone_frames_the_body() -> None:
    """A body declared within the limit by one Content-Length is not counted (the server reads no more than that,
    next test); with a Transfer-Encoding too (which takes precedence), or two lengths, it is counted as a body
    without a length is."""
    assert _endless_body_refused([(b"content-length", b"10"), (b"transfer-encoding", b"chunked")]) == (11, 413)
    assert _endless_body_refused([(b"transfer-encoding", b"chunked"), (b"content-length", b"10")]) == (11, 413)
    assert _endless_body_refused([(b"content-length", b"10"), (b"content-length", b"10")]) == (11, 413)
    assert _endless_body_refused([(b"content-length", b"x")]) == (11, 413)


def test_the_server_delivers_no_more_body_than_the_content_length_declares() -> None:
    """What ``BodySizeLimitMiddleware`` relies on to skip counting a body declared within the limit: uvicorn frames
    a request body by its Content-Length, and the bytes after it are not given to the app as body (they are read
    as the next request). Fails if a server upgrade ever hands the app more."""
    seen: list[int] = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        size, more = 0, True
        while more:
            message = await receive()
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        seen.append(size)
        body = str(size).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    with serve_in_thread(BodySizeLimitMiddleware(app, max_bytes=100)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n" + b"y" * 5000)
            reply = b""
            with contextlib.suppress(socket.timeout):
                while chunk := sock.recv(65536):  # the rest is a malformed next request: 400, connection closed
                    reply += chunk
    assert seen == [10]
    assert b"HTTP/1.1 400" in reply


# -- statement timeout -------------------------------------------------------------------------------


def test_query_canceled_maps_to_statement_timeout() -> None:
    mapped = from_db_error(asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"))
    assert isinstance(mapped, LimitExceeded)
    assert mapped.code == "LIMIT_EXCEEDED" and mapped.extensions["limit"] == "statementTimeout"


def test_statement_timeout_of_the_pools_yields_limit_exceeded(scratch) -> None:
    settings, _ = scratch
    timed = replace(settings, statement_timeout_ms=100, pool_min_size=1, pool_max_size=1)

    async def go() -> LimitExceeded:
        db = await Databases(timed, timed.database_url).open()
        try:
            dept = Department("labor", db.pools["labor"], {"test/sleep": "select pg_sleep(1)"}, Stats())
            with pytest.raises(LimitExceeded) as caught:
                await dept.fetch("test/sleep")
            assert await dept.pool.fetchval("select 1") == 1  # the connection is still usable
            return caught.value
        finally:
            await db.close()

    error = asyncio.run(go())
    assert error.code == "LIMIT_EXCEEDED" and error.extensions == {"limit": "statementTimeout"}


# -- production -----------------------------------------------------------------------------------------


def test_production_turns_off_introspection_and_graphiql(scratch) -> None:
    settings, tokens = scratch
    production = replace(Settings.from_env({"HUB_ENV": "production"}), database_url=settings.database_url)
    assert not production.introspection and not production.graphiql
    with client_with_token(production, tokens["labor"]) as client:
        body = post(client, "{ __schema { types { name } } }")
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection" in body["errors"][0]["message"]
        assert "errors" not in post(client, "{ __typename }")
        page = client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404 and "<html" not in page.text.lower()


def test_production_can_enable_them_explicitly(scratch) -> None:
    settings, tokens = scratch
    env = {"HUB_ENV": "production", "HUB_INTROSPECTION": "true", "HUB_GRAPHIQL": "true"}
    enabled = replace(Settings.from_env(env), database_url=settings.database_url)
    with client_with_token(enabled, tokens["labor"]) as client:
        assert "errors" not in post(client, "{ __schema { queryType { name } } }")
        page = client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_development_serves_graphiql_and_introspection(http: TestClient) -> None:
    assert post(http, "{ __schema { queryType { name } } }")["data"]["__schema"]["queryType"]["name"] == "Query"
    page = http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
