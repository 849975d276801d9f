"""GraphQL over websockets (graphql-transport-ws): every operation on a socket is authorised like an HTTP request.

A live hub (uvicorn in a thread) on a scratch database with a policy-cache window of WINDOW seconds; changes are
made directly in the database (as another process would: `hub consumer revoke`, a grant revoked or expiring),
so the hub sees them only through its caches, within the window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from typing import Any, Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub.app import create_app
from tests.support.helpers import approved_grant, sql, sql_value
from tests.support.live import serve_in_thread
from tests.support.sync import scratch
from tests.support.websockets import codes, data, new_consumer, open_socket, revoke_with_cli

WINDOW = 1.0  # HUB_POLICY_CACHE_SECONDS of the hub under test
SETTLE = WINDOW * 1.25 + 1.5  # the window, the idle re-check (a quarter window) and slack for a loaded machine
RATE, BURST = 1.0, 20
SEEKERS = "{ jobSeekers(first: 2) { nodes { name idNumber phone } } }"


@pytest.fixture(scope="module")
def live(server_url, settings) -> Iterator[tuple[Any, dict[str, str], str]]:
    s, tokens = scratch(server_url, settings, "hub_test_websockets", policy_cache_seconds=WINDOW,
                        rate_limit_per_second=RATE, rate_limit_burst=BURST)
    with serve_in_thread(create_app(s)) as url:
        yield s, tokens, url.replace("http://", "ws://") + "/graphql"


@pytest.fixture(scope="module")
def long_window(live) -> Iterator[tuple[Any, str]]:
    """A second hub on the same database whose caches keep entries for 60 s (an idle socket is re-checked every
    15 s): a test clears its consumer cache to see a revocation at once, as when the window has passed, and
    its next operation meets the revocation before the idle re-check does."""
    s = replace(live[0], policy_cache_seconds=60.0)
    app = create_app(s)
    with serve_in_thread(app) as url:
        yield app, url.replace("http://", "ws://") + "/graphql"


# --- a revoked token -----------------------------------------------------------------------------

@pytest.mark.parametrize("in_header", [False, True], ids=["connection_init", "header"])
def test_the_next_operation_of_a_revoked_consumer_is_refused_and_the_socket_closed(live, long_window,
                                                                                  in_header: bool) -> None:
    s = live[0]
    app, url = long_window
    consumer_id, token = new_consumer(s.database_url, "labor", f"ws revoked ({'header' if in_header else 'init'})")

    async def session() -> tuple[list, list, int]:
        async with open_socket(url, token, in_header) as sock:
            before = await sock.op(SEEKERS)
            await asyncio.to_thread(revoke_with_cli, s.database_url, consumer_id)
            app.state.consumers.clear()  # the window has passed: HTTP says 401 now
            after = await sock.op(SEEKERS)
            return before, after, await sock.closed(5)

    before, after, close_code = asyncio.run(session())
    seekers = data(before)["jobSeekers"]["nodes"]
    assert seekers and "*" not in seekers[0]["idNumber"]  # the owner reads them unmasked
    assert [m["type"] for m in after] == ["error"] and codes(after) == ["UNAUTHENTICATED"]
    assert close_code == 4403


def test_request_access_after_revocation_is_refused_and_files_nothing(live, long_window) -> None:
    s = live[0]
    app, url = long_window
    consumer_id, token = new_consumer(s.database_url, "science", "ws revoked requester")
    mutation = ('mutation { requestAccess(dataset: "labor.job_seekers", purpose: "websocket revocation test", '
                'until: "2030-01-01") { id status } }')

    async def session() -> list:
        async with open_socket(url, token) as sock:
            data(await sock.op("{ __typename }"))
            await asyncio.to_thread(revoke_with_cli, s.database_url, consumer_id)
            app.state.consumers.clear()
            return await sock.op(mutation)

    after = asyncio.run(session())
    assert codes(after) == ["UNAUTHENTICATED"]
    assert sql_value(s.database_url, "select count(*) from hub.access_requests where consumer_id = $1",
                     consumer_id) == 0


def test_a_socket_of_a_revoked_consumer_is_closed_within_the_window(live) -> None:
    """Without clearing any cache: the revocation is seen through the policy-cache window, and the socket is
    closed (4403) even though it sends nothing; nothing is read on it after the revocation."""
    s, _tokens, url = live
    consumer_id, token = new_consumer(s.database_url, "labor", "ws revoked idle")

    async def session() -> tuple[int, float, list]:
        async with open_socket(url, token) as sock:
            data(await sock.op(SEEKERS))
            await asyncio.to_thread(revoke_with_cli, s.database_url, consumer_id)
            started = time.monotonic()
            close_code = await sock.closed(SETTLE + 5)
            took = time.monotonic() - started
            try:
                late = await sock.op(SEEKERS)
            except ConnectionClosed:
                late = []
            return close_code, took, late

    close_code, took, late = asyncio.run(session())
    assert close_code == 4403
    assert took <= SETTLE, took
    assert late == []


# --- grants that end -----------------------------------------------------------------------------

def test_a_revoked_grant_and_an_expired_grant_stop_reads_on_an_open_socket(live) -> None:
    s, scratch_tokens, url = live
    revoked = approved_grant(s.database_url, "commerce", "labor.job_seekers", ["name", "idNumber", "phone"], 3600)
    approved_grant(s.database_url, "commerce", "science.tech_transfers", [], 2.0)
    transfers = "{ techTransfers(first: 2) { nodes { code } } }"

    async def session() -> dict[str, list]:
        seen = {}
        async with open_socket(url, scratch_tokens["commerce"]) as sock:
            seen["seekers before"] = await sock.op(SEEKERS)
            seen["transfers before"] = await sock.op(transfers)
            await asyncio.to_thread(sql, s.database_url, "update hub.grants set revoked_at = now() where id = $1",
                                    revoked)
            await asyncio.sleep(max(WINDOW, 2.0) + 1.3)  # the transfers grant has expired too, 1.3 s ago or more
            seen["seekers after"] = await sock.op(SEEKERS)
            seen["transfers after"] = await sock.op(transfers)
            seen["still open"] = await sock.op("{ __typename }")
        return seen

    seen = asyncio.run(session())
    assert data(seen["seekers before"])["jobSeekers"]["nodes"][0]["idNumber"]
    assert data(seen["transfers before"])["techTransfers"]["nodes"]
    for key, path in (("seekers after", "jobSeekers"), ("transfers after", "techTransfers")):
        payload = seen[key][0]["payload"]
        assert payload["data"] == {path: None}, seen[key]
        assert codes(seen[key]) == ["FORBIDDEN"]
    assert data(seen["still open"]) == {"__typename": "Query"}


def test_a_running_subscription_stops_with_forbidden_when_its_grant_ends(live) -> None:
    s, scratch_tokens, url = live
    grant = approved_grant(s.database_url, "science", "labor.job_seekers", [], 3600)
    subscription = 'subscription { datasetChanged(dataset: "labor.job_seekers") { cursor } }'

    async def session() -> tuple[list, float]:
        async with open_socket(url, scratch_tokens["science"]) as sock:
            op_id = await sock.send(subscription)
            await asyncio.sleep(0.5)  # subscribed; no event (nothing written)
            await asyncio.to_thread(sql, s.database_url, "update hub.grants set revoked_at = now() where id = $1",
                                    grant)
            started = time.monotonic()
            messages = []
            while not messages or messages[-1]["type"] not in ("complete", "error"):
                message = await sock.recv(SETTLE + 5)
                assert message["id"] == op_id
                messages.append(message)
            took = time.monotonic() - started
            assert data(await sock.op("{ __typename }")) == {"__typename": "Query"}  # the socket stays open
            return messages, took

    messages, took = asyncio.run(session())
    assert [m["type"] for m in messages] == ["next", "complete"], messages
    assert messages[0]["payload"]["data"] is None and codes(messages) == ["FORBIDDEN"]
    assert took <= SETTLE, took
    entries = sql(s.database_url, "select outcome, error_codes, denied from hub.audit_log where department = "
                                  "'science' and operation_type = 'subscription' order by id")
    assert [(e["outcome"], e["error_codes"], e["denied"]) for e in entries][-2:] == [
        ("OK", [], []), ("DENIED", ["FORBIDDEN"], ["labor.job_seekers"])]


def test_a_subscription_delivers_no_event_after_its_grant_ended(live, long_window) -> None:
    """The check before each event (the idle re-check of this hub comes only every 15 s)."""
    s = live[0]
    app, url = long_window
    grant = approved_grant(s.database_url, "science", "labor.job_seekers", [], 3600)
    subscription = 'subscription { datasetChanged(dataset: "labor.job_seekers") { cursor } }'

    async def session() -> tuple[list, float]:
        async with open_socket(url, live[1]["science"]) as sock:
            op_id = await sock.send(subscription)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(sql, s.database_url, "update hub.grants set revoked_at = now() where id = $1",
                                    grant)
            app.state.policy.invalidate()  # the window has passed
            started = time.monotonic()
            messages: list = []
            for _ in range(10):  # a change of the dataset: an event to deliver (or not)
                await asyncio.to_thread(sql, s.database_url, "update labor.job_seekers set birth_year = birth_year "
                                                             "where id = (select min(id) from labor.job_seekers)")
                try:
                    messages.append(await sock.recv(1.0))
                    break
                except asyncio.TimeoutError:
                    continue
            while messages and messages[-1]["type"] not in ("complete", "error"):
                messages.append(await sock.recv(5))
            assert all(m["id"] == op_id for m in messages)
            return messages, time.monotonic() - started

    messages, took = asyncio.run(session())
    assert [m["type"] for m in messages] == ["next", "complete"], messages
    assert messages[0]["payload"]["data"] is None and codes(messages) == ["FORBIDDEN"]
    assert took < 12, took  # before the idle re-check


# --- rate limit --------------------------------------------------------------------------------------

def test_the_rate_limit_applies_to_socket_operations(live) -> None:
    s, scratch_tokens, url = live
    count = BURST + 40

    async def session() -> tuple[dict[str, dict], list]:
        async with open_socket(url, scratch_tokens["education"]) as sock:
            ids = [await sock.send("{ __typename }") for _ in range(count)]
            ends: dict[str, dict] = {}  # id -> its result (next) or refusal (error)
            finished: set[str] = set()
            while len(finished) < count:
                message = await sock.recv()
                if message["type"] in ("error", "next"):
                    ends[message["id"]] = message
                if message["type"] in ("error", "complete"):
                    finished.add(message["id"])
            assert set(ends) == set(ids)
            await asyncio.sleep(1.0 / RATE + 0.2)  # a token again
            return ends, await sock.op("{ __typename }")

    ends, later = asyncio.run(session())
    refused = [m for m in ends.values() if m["type"] == "error"]
    answered = [m for m in ends.values() if m["type"] == "next"]
    assert BURST <= len(answered) <= BURST + 10, len(answered)  # the burst, plus what refilled meanwhile
    assert len(refused) == count - len(answered)
    extensions = refused[0]["payload"][0]["extensions"]
    assert extensions["code"] == "LIMIT_EXCEEDED" and extensions["limit"] == "rateLimit" and extensions["value"] == RATE
    assert data(later) == {"__typename": "Query"}  # refused operations do not close the socket


@pytest.mark.parametrize(("query", "code"), [("subscription {", "GRAPHQL_PARSE_FAILED"),
                                           ("{ " + "__typename " * 6000 + "}", "LIMIT_EXCEEDED")],
                         ids=["syntax-error", "over-max-tokens"])
def test_a_document_refused_while_parsing_gets_an_error_message_and_the_socket_stays_open(
        live, caplog, query: str, code: str) -> None:
    """As on HTTP (400 with the code): the client is told why, and the hub logs no error or traceback for it
    (they were an ERROR with a traceback per message, and the client got a bare ``complete``)."""
    s, _tokens, url = live
    _consumer_id, token = new_consumer(s.database_url, "labor", f"ws parse {code}")

    async def session() -> tuple[list, list]:
        async with open_socket(url, token) as sock:
            return await sock.op(query), await sock.op("{ __typename }")

    with caplog.at_level(logging.ERROR):
        refused, after = asyncio.run(session())
    assert [m["type"] for m in refused] == ["error"], refused
    assert codes(refused) == [code], refused
    assert data(after) == {"__typename": "Query"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# --- audit ----------------------------------------------------------------------------------------

def test_each_socket_operation_is_audited_with_only_what_it_read(live) -> None:
    s, scratch_tokens, url = live

    async def session() -> None:
        async with open_socket(url, scratch_tokens["labor"]) as sock:
            data(await sock.op("query WsPostings { jobPostings(first: 3) { nodes { id } } }"))
            data(await sock.op("query WsNothing { __typename }"))
            data(await sock.op("query WsSeekers { jobSeekers(first: 2) { nodes { id } } }"))

    asyncio.run(session())
    rows = sql(s.database_url, "select operation_name, datasets, rows from hub.audit_log where operation_name like "
                               "'Ws%' order by id")
    assert [(r["operation_name"], r["datasets"], json.loads(r["rows"])) for r in rows] == [
        ("WsPostings", ["labor.job_postings"], {"labor.job_postings": 3}),
        ("WsNothing", [], {}),
        ("WsSeekers", ["labor.job_seekers"], {"labor.job_seekers": 2}),
    ]


def test_a_subscription_is_audited_when_it_starts_and_when_it_ends(live) -> None:
    s, scratch_tokens, url = live
    query = 'subscription WsWatch { datasetChanged(dataset: "labor.job_postings") { cursor } }'

    def entries() -> list[tuple]:
        return [(r["outcome"], r["error_codes"], r["datasets"]) for r in sql(
            s.database_url, "select outcome, error_codes, datasets from hub.audit_log where operation_name = "
                            "'WsWatch' order by id")]

    async def session() -> tuple[list, list]:
        async with open_socket(url, scratch_tokens["labor"]) as sock:
            op_id = await sock.send(query, name="WsWatch")
            deadline = time.monotonic() + 10
            while not await asyncio.to_thread(entries) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            started = await asyncio.to_thread(entries)
            await sock.ws.send(json.dumps({"id": op_id, "type": "complete"}))
            while len(await asyncio.to_thread(entries)) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return started, await asyncio.to_thread(entries)

    started, ended = asyncio.run(session())
    assert started == [("OK", [], ["labor.job_postings"])]
    assert ended == [("OK", [], ["labor.job_postings"]), ("ERROR", ["CANCELLED"], ["labor.job_postings"])]


def test_a_subscription_refused_at_its_start_is_audited_once_as_denied(live) -> None:
    s, scratch_tokens, url = live
    query = 'subscription WsRefused { datasetChanged(dataset: "commerce.parks") { cursor } }'  # no grant

    async def session() -> list:
        async with open_socket(url, scratch_tokens["science"]) as sock:
            return await sock.op(query, name="WsRefused")

    messages = asyncio.run(session())
    assert [m["type"] for m in messages] == ["next", "complete"] and codes(messages) == ["FORBIDDEN"]
    entries = sql(s.database_url, "select outcome, error_codes, denied from hub.audit_log where operation_name = "
                                  "'WsRefused'")
    assert [(e["outcome"], e["error_codes"], e["denied"]) for e in entries] == [
        ("DENIED", ["FORBIDDEN"], ["commerce.parks"])]


def test_the_legacy_graphql_ws_protocol_is_refused(live) -> None:
    _s, scratch_tokens, url = live

    async def session() -> int:
        async with connect(url, subprotocols=["graphql-ws"], open_timeout=10,
                           additional_headers={"Authorization": f"Bearer {scratch_tokens['labor']}"}) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else -1
            return 0

    assert asyncio.run(session()) == 4406
