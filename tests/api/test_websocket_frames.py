"""attack4: more graphql-transport-ws frames a client may send (``hub.api.ws_messages``, ``hub.api.ws_handler``).

Each case: sent after ``connection_ack``, the answer is a close with a protocol code (or a plain reply), never an
error logged as unexpected (a traceback) and never an operation left running."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api.test_websocket_attack import live  # noqa: F401 - the module's hub under test

SLOW = {"query": 'subscription { datasetChanged(dataset: "labor.job_postings") { op } }'}


async def _session(url: str, frames: list[Any], token: str) -> tuple[list[dict], tuple[int, str] | None]:
    received: list[dict] = []
    async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        for frame in frames:
            await ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))
        try:
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 3)))
        except ConnectionClosed as closed:
            return received, (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd is not None else (-1, "")
        except asyncio.TimeoutError:
            return received, None


# case: (frames, the close code expected; None: the socket stays open, with these message types received)
FRAMES: dict[str, tuple[list[Any], int | None, list[str]]] = {
    "text that is not JSON": (["{"], 4400, []),
    "a binary frame": ([b'{"type": "ping"}'], 4400, []),
    "an unknown type": ([{"type": "start", "id": "1", "payload": {"query": "{ __typename }"}}], 4400, []),
    "a subscribe id already running": ([{"type": "subscribe", "id": "s", "payload": SLOW},
                                        {"type": "subscribe", "id": "s", "payload": SLOW}], 4409, []),
    "a second connection_init": ([{"type": "connection_init"}], 4429, []),
    "a ping with a list payload": ([{"type": "ping", "payload": [1]}], None, ["pong"]),
    "a complete of an unknown id": ([{"type": "complete", "id": "nothing"}], None, []),
    "a pong with a string payload": ([{"type": "pong", "payload": "x"}], None, []),
}


@pytest.mark.parametrize("case", sorted(FRAMES))
def test_a_frame_is_answered_by_the_protocol_without_a_traceback(live, caplog, case: str) -> None:  # noqa: F811
    frames, code, types = FRAMES[case]
    with caplog.at_level(logging.WARNING):
        received, closed = asyncio.run(_session(live.ws, frames, live.tokens["labor"]))
    assert [m["type"] for m in received] == types, received
    assert (closed[0] if closed else None) == code, closed
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
