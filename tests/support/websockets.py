"""Shared by tests: moved from api/test_websockets.py."""

from __future__ import annotations
import asyncio
import json
from typing import Any
from typer.testing import CliRunner
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub.cli.main import app as cli_app
from hub.governance.consumers import hash_token, new_token
from tests.support.helpers import sql_value


class open_socket:
    def __init__(self, url: str, token: str, in_header: bool = False):
        self.url, self.token, self.in_header = url, token, in_header

    async def __aenter__(self) -> Socket:
        headers = {"Authorization": f"Bearer {self.token}"} if self.in_header else None
        self.cm = connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=10, additional_headers=headers)
        ws = await self.cm.__aenter__()
        payload = {} if self.in_header else {"Authorization": f"Bearer {self.token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return Socket(ws)

    async def __aexit__(self, *exc: Any) -> None:
        await self.cm.__aexit__(*exc)


def codes(messages: list[dict[str, Any]]) -> list[str]:
    found = []
    for m in messages:
        errors = m["payload"] if m["type"] == "error" else (m.get("payload") or {}).get("errors") or []
        found += [e["extensions"]["code"] for e in errors]
    return found


class Socket:
    """One graphql-transport-ws connection; ``op`` runs an operation and returns its messages."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.next_id = 0

    async def send(self, query: str, variables: dict[str, Any] | None = None, name: str | None = None) -> str:
        self.next_id += 1
        op_id = str(self.next_id)
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if name is not None:
            payload["operationName"] = name
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
        return op_id

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] != "ping":
                return message
            await self.ws.send(json.dumps({"type": "pong"}))

    async def op(self, query: str, variables: dict[str, Any] | None = None, name: str | None = None
                 ) -> list[dict[str, Any]]:
        """Messages of one operation up to its ``complete`` or ``error`` (operations run one at a time)."""
        op_id = await self.send(query, variables, name)
        messages = []
        while True:
            message = await self.recv()
            assert message.get("id") == op_id, message
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages

    async def closed(self, timeout: float) -> int:
        """Wait for the server to close the socket; its close code."""
        try:
            while True:
                await self.recv(timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else -1


def data(messages: list[dict[str, Any]]) -> Any:
    assert messages[0]["type"] == "next" and not messages[0]["payload"].get("errors"), messages
    return messages[0]["payload"]["data"]


def new_consumer(url: str, department: str, name: str) -> tuple[int, str]:
    token = new_token()
    consumer_id = sql_value(url, "insert into hub.consumers (department, name, role, token_hash) "
                                 "values ($1, $2, 'consumer', $3) returning id", department, name, hash_token(token))
    return consumer_id, token


def revoke_with_cli(database_url: str, consumer_id: int) -> None:
    result = CliRunner().invoke(cli_app, ["consumer", "revoke", str(consumer_id)], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
