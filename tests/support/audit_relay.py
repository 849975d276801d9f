"""Shared by the audit relay's tests (tests/governance/test_audit_relay*.py): a relay in the test's event loop, its
workers' clients and entries."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

from hub.db.pools import Databases
from hub.governance.audit import AuditEntry
from hub.governance.audit_relay import RelayServer
from hub.governance.audit_writer import AuditWriter
from hub.governance.relay_client import RelayClient
from hub.settings import Settings

RELAY_DB = "hub_test_audit_relay"
SECRET = "s3cret-of-this-run"


def relay_entry(worker: int, i: int) -> AuditEntry:
    return AuditEntry(operation_type="query", operation_name=f"W{worker}Op{i}", consumer_id=worker,
                      department="labor", consumer_name=f"worker {worker} 系统", datasets=["labor.job_postings"],
                      rows={"labor.job_postings": i}, document_hash=f"{i:064x}", trace_id=f"{worker:032x}")


async def with_relay(settings: Settings, tmp: Path,
                     body: Callable[[RelayServer, str, Databases], Awaitable[Any]]) -> Any:
    """A relay on ``tmp/relay.sock`` writing through its own pools, and a second ``Databases`` for the workers'
    fallback writers."""
    relay_db = await Databases(settings, settings.database_url).open()
    worker_db = await Databases(settings, settings.database_url).open()
    writer = AuditWriter(relay_db.hub)
    relay = RelayServer(writer, SECRET)
    path = str(tmp / "relay.sock")
    server = await asyncio.start_unix_server(relay.handle, path=path)
    try:
        return await body(relay, path, worker_db)
    finally:
        server.close()
        await relay.drain()
        await writer.close()
        await relay_db.close()
        await worker_db.close()


def relay_worker(path: str, db: Databases, secret: str = SECRET) -> RelayClient:
    return RelayClient(path, secret, AuditWriter(db.hub))
