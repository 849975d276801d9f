"""What one consumer may hold open on websockets (hub.api.ws_limits): at most CAP authenticated sockets per worker,
the (CAP+1)-th refused at connection_init with 4429, a slot freed however its socket ends; a socket that sends no
connection_init is closed after HUB_WS_INIT_TIMEOUT_SECONDS (4408).

A live hub (uvicorn in a thread) on a scratch database; revocations are made in the database, as by another
process, and seen through the policy-cache window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import replace
from typing import Any, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub.api.ws_limits import MAX_OPERATIONS_PER_SOCKET, SocketSlots, TooManySockets
from hub.app import create_app
from hub.settings import Settings, SettingsError
from tests.support.helpers import sql
from tests.support.live import serve_in_thread, serve_workers, stop_served
from tests.support.sync import scratch
from tests.support.websockets import data, new_consumer, open_socket, revoke_with_cli

CAP = 3  # HUB_WS_MAX_SOCKETS_PER_CONSUMER of the hub under test
INIT_TIMEOUT = 1.0  # HUB_WS_INIT_TIMEOUT_SECONDS of the hub under test
WINDOW = 1.0  # HUB_POLICY_CACHE_SECONDS
SETTLE = WINDOW * 1.25 + 1.5  # as in test_websockets: the window, the idle re-check, slack for a loaded machine


class Live:
    def __init__(self, settings: Settings, tokens: dict[str, str], app: Any, base: str):
        self.settings, self.tokens, self.app, self.base = settings, tokens, app, base
        self.url = base.replace("http://", "ws://") + "/graphql"

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(self.base + "/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return 0.0


@pytest.fixture(scope="module")
def scratch_db(server_url, settings) -> tuple[Settings, dict[str, str]]:
    return scratch(server_url, settings, "hub_test_websocket_limits", policy_cache_seconds=WINDOW,
                   ws_max_sockets_per_consumer=CAP, ws_init_timeout_seconds=INIT_TIMEOUT)


@pytest.fixture(scope="module")
def live(scratch_db) -> Iterator[Live]:
    s, tokens = scratch_db
    app = create_app(s)
    with serve_in_thread(app) as base:
        yield Live(s, tokens, app, base)


async def refusal(url: str, token: str, in_header: bool = False) -> tuple[int, str]:
    """Open a socket and send connection_init: the close code and reason it is refused with (0 when acknowledged)."""
    headers = {"Authorization": f"Bearer {token}"} if in_header else None
    async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10, additional_headers=headers) as ws:
        payload = {} if in_header else {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except ConnectionClosed as exc:
            return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (-1, "")
        assert message["type"] == "connection_ack", message
        return 0, ""


async def until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# --- the cap ---------------------------------------------------------------------------------------

def test_the_sockets_over_a_consumers_cap_are_refused_while_another_consumer_connects(live, caplog) -> None:
    consumer_id, token = new_consumer(live.settings.database_url, "labor", "ws cap")
    refused_before = live.metric("hub_websockets_refused_total", reason="too_many_sockets")

    async def session() -> dict[str, Any]:
        async with contextlib.AsyncExitStack() as stack:
            # header- and payload-authenticated sockets count alike
            held = [await stack.enter_async_context(open_socket(live.url, token, in_header=i % 2 == 1))
                    for i in range(CAP)]
            over = [await refusal(live.url, token), await refusal(live.url, token, in_header=True)]
            other = await refusal(live.url, live.tokens["education"])  # another consumer is not concerned
            answers = [data(await sock.op("{ __typename }")) for sock in held]  # the held sockets work on
            await held[0].ws.close()
            await until(lambda: live.app.state.sockets.held(consumer_id) < CAP)
            after_close = await refusal(live.url, token)  # a slot is free again
            # the refused sockets never held a slot; the one just acknowledged (then closed) gave its own back
            settled = await until(lambda: live.app.state.sockets.held(consumer_id) == CAP - 1)
            return {"over": over, "other": other, "answers": answers, "after_close": after_close, "settled": settled}

    with caplog.at_level(logging.WARNING, logger="hub.auth"):
        got = asyncio.run(session())
    assert got["over"] == [(4429, f"Too many connections: at most {CAP} open sockets per consumer")] * 2
    assert got["other"] == (0, "")
    assert got["answers"] == [{"__typename": "Query"}] * CAP
    assert got["after_close"] == (0, "")
    assert got["settled"]
    assert live.metric("hub_websockets_refused_total", reason="too_many_sockets") == refused_before + 2
    assert [r for r in caplog.records if "websocket refused" in r.getMessage()
            and f"consumer {consumer_id} " in r.getMessage()], caplog.text


def test_a_revoked_consumers_sockets_closed_by_the_hub_free_their_slots(live) -> None:
    """The hub closes the sockets of a revoked token (4403, hub.api.ws_handler): their slots are given back; the
    consumer, its token valid again, opens CAP sockets anew."""
    url = live.settings.database_url
    consumer_id, token = new_consumer(url, "labor", "ws cap revoked")

    async def session() -> tuple[list[int], int, list[tuple[int, str]]]:
        async with contextlib.AsyncExitStack() as stack:
            held = [await stack.enter_async_context(open_socket(live.url, token)) for _ in range(CAP)]
            await asyncio.to_thread(revoke_with_cli, url, consumer_id)
            codes = [await sock.closed(SETTLE + 5) for sock in held]
        await until(lambda: live.app.state.sockets.held(consumer_id) == 0)
        left = live.app.state.sockets.held(consumer_id)
        # the token restored (as if never revoked), and the cache window passed: every slot is there again
        await asyncio.to_thread(_unrevoke, url, consumer_id)
        await asyncio.sleep(WINDOW + 0.5)
        async with contextlib.AsyncExitStack() as stack:
            again = [await refusal(live.url, token) for _ in range(CAP)]
            for _ in range(CAP):
                await stack.enter_async_context(open_socket(live.url, token))
        return codes, left, again

    codes, left, again = asyncio.run(session())
    assert codes == [4403] * CAP
    assert left == 0
    assert again == [(0, "")] * CAP


def _unrevoke(url: str, consumer_id: int) -> None:
    sql(url, "update hub.consumers set revoked_at = null where id = $1", consumer_id)


def test_a_client_that_vanishes_frees_its_slot(live) -> None:
    consumer_id, token = new_consumer(live.settings.database_url, "science", "ws cap vanished")

    async def session() -> tuple[tuple[int, str], bool, tuple[int, str]]:
        async with contextlib.AsyncExitStack() as stack:
            held = [await stack.enter_async_context(open_socket(live.url, token)) for _ in range(CAP)]
            full = await refusal(live.url, token)
            held[0].ws.transport.abort()  # no close frame: the TCP connection is just gone
            freed = await until(lambda: live.app.state.sockets.held(consumer_id) < CAP)
            return full, freed, await refusal(live.url, token)

    full, freed, after = asyncio.run(session())
    assert full[0] == 4429
    assert freed
    assert after == (0, "")


_ENDINGS = {
    # however the hub or strawberry closes an acknowledged socket, its slot is given back once
    "invalid-json": ("not json", 4400),
    "binary-message": (b"\x00", 4400),
    "unknown-type": (json.dumps({"type": "hello"}), 4400),
    "second-connection-init": (json.dumps({"type": "connection_init", "payload": {}}), 4429),
    "bad-init-payload": (json.dumps({"type": "connection_init", "payload": []}), 4400),
    "duplicate-id": (json.dumps({"id": "9", "type": "subscribe", "payload": {
        "query": 'subscription { datasetChanged(dataset: "labor.job_postings") { cursor } }'}}), 4409),
    "message-over-the-body-limit": (json.dumps({"type": "ping", "payload": {"x": "y" * 1_000_001}}), 1009),
}


@pytest.mark.parametrize("ending", list(_ENDINGS))
def test_a_socket_closed_by_the_hub_for_a_protocol_fault_gives_its_slot_back_once(live, ending: str) -> None:
    consumer_id, token = new_consumer(live.settings.database_url, "commerce", f"ws cap {ending}")
    message, expected = _ENDINGS[ending]

    async def session() -> tuple[list[int], int, list[tuple[int, str]]]:
        codes = []
        for _ in range(CAP + 1):  # once more than the cap: a slot kept would refuse the last one
            async with open_socket(live.url, token) as sock:
                if ending == "duplicate-id":
                    await sock.ws.send(message)
                await sock.ws.send(message)
                codes.append(await sock.closed(10))
            await until(lambda: live.app.state.sockets.held(consumer_id) == 0)
        left = live.app.state.sockets.held(consumer_id)
        async with contextlib.AsyncExitStack() as stack:  # every slot is there: the cap, not one more
            for _ in range(CAP):
                await stack.enter_async_context(open_socket(live.url, token))
            return codes, left, [await refusal(live.url, token)]

    codes, left, over = asyncio.run(session())
    assert codes == [expected] * (CAP + 1)
    assert left == 0  # not below zero either: a slot given back twice would let one more in
    assert over[0][0] == 4429


def test_stopping_the_server_frees_every_slot(scratch_db) -> None:
    s, tokens = scratch_db
    app = create_app(s)
    server = contextlib.ExitStack()
    url = server.enter_context(serve_in_thread(app)).replace("http://", "ws://") + "/graphql"

    async def session() -> tuple[int, list[int]]:
        async with contextlib.AsyncExitStack() as stack:
            held = [await stack.enter_async_context(open_socket(url, tokens[name]))
                    for name in ("labor", "labor", "commerce")]
            before = len(app.state.sockets)
            await asyncio.to_thread(server.close)  # uvicorn's shutdown closes the open sockets (1012)
            return before, [await sock.closed(10) for sock in held]

    try:
        before, codes = asyncio.run(session())
    finally:
        server.close()
    assert before == 3
    assert codes == [1012] * 3
    assert len(app.state.sockets) == 0


def test_the_cap_counts_per_consumer_and_zero_means_none() -> None:
    slots = SocketSlots(2)
    a = [slots.take("a"), slots.take("a")]
    with pytest.raises(TooManySockets):
        slots.take("a")
    slots.take("b")
    a[0].release()
    a[0].release()  # idempotent: a socket gives back its own slot once
    assert slots.held("a") == 1
    slots.take("a")
    with pytest.raises(TooManySockets):
        slots.take("a")
    unlimited = SocketSlots(0)
    assert len([unlimited.take("a") for _ in range(1000)]) == unlimited.held("a") == 1000


def test_a_socket_runs_at_most_100_operations_at_once(live) -> None:
    """The other factor of what a consumer holds: MAX_OPERATIONS_PER_SOCKET subscriptions per socket, the next
    one refused with an error message while the socket stays open."""
    query = 'subscription { datasetChanged(dataset: "labor.job_postings") { cursor } }'

    async def session() -> tuple[dict, list]:
        async with open_socket(live.url, live.tokens["labor"]) as sock:
            for _ in range(MAX_OPERATIONS_PER_SOCKET):
                await sock.send(query)
            over = await sock.send(query)
            message = await sock.recv()
            while message.get("id") != over:
                message = await sock.recv()
            await sock.ws.send(json.dumps({"id": "1", "type": "complete"}))  # one subscription ends: room for one
            return message, await sock.op("{ __typename }")

    message, after = asyncio.run(session())
    assert message["type"] == "error" and message["payload"][0]["message"] == "Subscription limit reached", message
    assert data(after) == {"__typename": "Query"}


# --- sockets that never authenticate -------------------------------------------------------------

@pytest.mark.parametrize("in_header", [False, True], ids=["no-token", "token-in-header"])
def test_a_socket_that_sends_no_connection_init_is_closed_after_the_timeout(live, in_header: bool) -> None:
    """Anonymous or not, a socket that never sends connection_init is closed (4408) after HUB_WS_INIT_TIMEOUT_SECONDS,
    and it never holds a slot."""
    headers = {"Authorization": f"Bearer {live.tokens['labor']}"} if in_header else None
    timed_out_before = live.metric("hub_websockets_refused_total", reason="init_timeout")

    async def session() -> tuple[int, str, float]:
        async with connect(live.url, subprotocols=["graphql-transport-ws"], open_timeout=10,
                           additional_headers=headers) as ws:
            started = time.monotonic()
            await ws.send(json.dumps({"type": "ping"}))  # messages other than connection_init do not count
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), INIT_TIMEOUT + 5)
            except ConnectionClosed as exc:
                assert exc.rcvd is not None
                return exc.rcvd.code, exc.rcvd.reason, time.monotonic() - started
            except asyncio.TimeoutError:
                return 0, "still open", time.monotonic() - started

    code, reason, took = asyncio.run(session())
    assert (code, reason) == (4408, "Connection initialisation timeout")
    assert INIT_TIMEOUT * 0.9 <= took <= INIT_TIMEOUT + 3, took
    assert live.metric("hub_websockets_refused_total", reason="init_timeout") == timed_out_before + 1


@pytest.mark.parametrize("workers", [1, 2])
def test_hub_serve_refuses_a_frame_over_the_body_limit_from_its_header(scratch_db, tmp_path, workers: int) -> None:
    """Anyone may open sockets (no token needed before connection_init): a frame declaring more than
    HUB_MAX_BODY_BYTES is refused by the server from its header (1009), not buffered up to uvicorn's default
    16 MiB per socket before the hub's own check sees the whole message."""
    s, _tokens = scratch_db
    proc, base = serve_workers(s.database_url, tmp_path / "data", tmp_path / "hub.log", workers,
                               HUB_MAX_BODY_BYTES="100000", HUB_WS_INIT_TIMEOUT_SECONDS="3")
    url = base.replace("http://", "ws://") + "/graphql"

    async def session() -> tuple[int, str]:
        async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30) as ws:
            # a masked text frame declaring 2 MB, of which only the first kilobyte is sent
            header = bytes([0x81, 0x80 | 127]) + (2_000_000).to_bytes(8, "big") + b"\0\0\0\0"
            ws.transport.write(header + b"x" * 1024)
            try:
                await asyncio.wait_for(ws.recv(), 30)
            except ConnectionClosed as exc:
                return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (-1, "")
            return 0, "still open"

    try:
        code, _reason = asyncio.run(session())
    finally:
        stop_served(proc)
    assert code == 1009, (code, _reason)  # not 4408: the server did not wait for the 2 MB to arrive


@pytest.mark.parametrize(("name", "value"), [("HUB_WS_MAX_SOCKETS_PER_CONSUMER", "-1"),
                                             ("HUB_WS_MAX_SOCKETS_PER_CONSUMER", "many"),
                                             ("HUB_WS_INIT_TIMEOUT_SECONDS", "0"),
                                             ("HUB_WS_INIT_TIMEOUT_SECONDS", "-2"),
                                             # no timedelta holds them (an OverflowError at start-up), and an
                                             # anonymous socket would be held open for ever
                                             ("HUB_WS_INIT_TIMEOUT_SECONDS", "inf"),
                                             ("HUB_WS_INIT_TIMEOUT_SECONDS", "1e20"),
                                             ("HUB_WS_INIT_TIMEOUT_SECONDS", "301")])
def test_bad_websocket_limits_are_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_longest_init_timeout_is_accepted_and_builds_an_app(scratch_db) -> None:
    s, _tokens = scratch_db
    longest = Settings.from_env({"HUB_WS_INIT_TIMEOUT_SECONDS": "300"}).ws_init_timeout_seconds
    app = create_app(replace(s, ws_init_timeout_seconds=longest))  # no OverflowError building the view
    assert longest == 300 and app.state.sockets.cap == CAP


def test_the_websocket_limits_default_to_32_sockets_and_10_seconds() -> None:
    s = Settings.from_env({})
    assert (s.ws_max_sockets_per_consumer, s.ws_init_timeout_seconds) == (32, 10.0)
    assert Settings.from_env({"HUB_WS_MAX_SOCKETS_PER_CONSUMER": "0"}).ws_max_sockets_per_consumer == 0
