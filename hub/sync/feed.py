"""Reading a dataset's change feed and snapshot, through the owning department's pool; retention.

Feed rule (docs/design.md, "Sync contract"): a page holds the changes after the cursor's position, ordered by
``(txid, seq)``, of transactions older than the reading snapshot's xmin only. Every transaction with a
smaller id has then ended, so no change can later appear *behind* a position already handed out: nothing
is skipped, even when transactions commit out of id order.

Applying changes: the feed's order is transaction-id order, not commit order. Two transactions touching
the same row are serialised by its row lock, and ``seq`` (``version`` on the wire) is drawn while the lock
is held, so a client keeps, per row id, the change with the largest version (an insert or update is the
row, a delete a tombstone) and ignores any change whose version is below the last ``reset`` it applied.
``hub.sync.client.Replica`` does exactly that.

A snapshot is one REPEATABLE READ, read-only transaction streamed with a server-side cursor; its cursor
(``Cursor.at_snapshot``) starts the feed exactly after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

import asyncpg
import orjson

from hub.departments import DATA
from hub.errors import CursorExpired, raise_mapped
from hub.sync import csv_cells
from hub.sync.cursor import Cursor

if TYPE_CHECKING:
    from hub.db.pools import Databases, SqlRegistry

log = logging.getLogger("hub.sync")

OPS = {"I": "insert", "U": "update", "D": "delete", "R": "reset"}
Maskers = dict[str, Callable[[str], str]]


def table_of(dataset: str) -> str:
    """The quoted ``schema.table`` of a catalog dataset name (names are ``^[a-z]+\\.[a-z_]+$``)."""
    schema, table = dataset.split(".")
    return f'"{schema}"."{table}"'


def mask_row(row: dict[str, Any], maskers: Maskers) -> dict[str, Any]:
    for column, fn in maskers.items():
        value = row.get(column)
        if isinstance(value, str):
            row[column] = fn(value)
    return row


@dataclass(frozen=True)
class Change:
    """One captured change as the feed hands it out."""

    cursor: Cursor  # the position just after this change
    txid: int
    seq: int
    op: str  # insert | update | delete | reset
    row_id: int | None
    data: str | None  # jsonb text: the row (insert, update) or the key (delete)
    at: dt.datetime

    def as_dict(self, maskers: Maskers | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"cursor": self.cursor.encode(), "version": self.seq, "txid": str(self.txid),
                               "op": self.op, "at": self.at.isoformat()}
        if self.op in ("insert", "update"):
            out["id"] = self.row_id
            out["row"] = mask_row(orjson.loads(self.data), maskers) if maskers else orjson.loads(self.data)
        elif self.op == "delete":
            out["id"] = self.row_id
            # the natural key may be a masked column too (a job seeker's source_id): a tombstone is masked as a row is
            out["key"] = mask_row(orjson.loads(self.data), maskers) if maskers else orjson.loads(self.data)
        return out


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    next_cursor: Cursor  # continue from here (also when the page is empty)
    has_more: bool  # more changes can be read right now


async def read_changes(pool: asyncpg.Pool, sql: "SqlRegistry", cursor: Cursor, limit: int,
                       acquire_timeout: float | None = None) -> ChangePage:
    """The page of ``limit`` changes after ``cursor`` (CURSOR_EXPIRED when retention removed changes after it).
    ``acquire_timeout``: the longest wait for a pool connection (then SERVICE_UNAVAILABLE)."""
    try:
        async with pool.acquire(timeout=acquire_timeout) as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                state = await conn.fetchrow(sql["sync/feed_state"], cursor.dataset)
                if state["horizon_txid"] is not None and \
                        (state["horizon_txid"], state["horizon_seq"]) > cursor.position:
                    raise CursorExpired(
                        f"changes of {cursor.dataset} after this cursor were removed by retention; take a new "
                        "snapshot (GET /sync/{dataset}/snapshot) and follow the feed from its cursor",
                        dataset=cursor.dataset)
                rows = await conn.fetch(sql["sync/changes_page"], cursor.dataset, cursor.txid, cursor.seq,
                                        cursor.snapshot, limit + 1)
                xmin = state["xmin"]
    except CursorExpired:
        raise
    except Exception as exc:
        raise_mapped(exc)
    has_more = len(rows) > limit
    changes = []
    position = cursor
    for r in rows[:limit]:
        position = position.moved_to(r["txid"], r["seq"])
        changes.append(Change(position, r["txid"], r["seq"], OPS[r["op"]], r["row_id"], r["data"], r["at"]))
    if not has_more and (xmin, 0) > position.position:
        # Everything before the snapshot's xmin has been read: continue from there (keeps cursors of quiet
        # datasets fresh, and lets a snapshot cursor drop its snapshot once it is behind).
        position = position.moved_to(xmin, 0)
    return ChangePage(changes, position, has_more)


async def head(pool: asyncpg.Pool, sql: "SqlRegistry", dataset: str) -> tuple[Cursor | None, bool]:
    """The cursor just after the newest change the feed can hand out now (None: none), and whether newer
    changes are still held back by transactions that have not ended."""
    row = await pool.fetchrow(sql["sync/head"], dataset)
    cursor = Cursor(dataset, row["txid"], row["seq"]) if row["txid"] is not None else None
    return cursor, row["pending"]


# --- snapshots -------------------------------------------------------------------------------------

class Snapshot:
    """Every row of a dataset from one REPEATABLE READ snapshot, streamed in chunks (never all in memory).

    ``open()`` takes the snapshot and returns its cursor; ``chunks()`` yields encoded rows; ``close()``
    ends the transaction and returns the connection (always call it, e.g. in a ``finally``).
    """

    def __init__(self, pool: asyncpg.Pool, sql: "SqlRegistry", dataset: str, fmt: str, maskers: Maskers,
                 batch: int = 1000, acquire_timeout: float | None = None):
        self.pool, self.sql, self.dataset, self.fmt, self.maskers, self.batch = pool, sql, dataset, fmt, maskers, batch
        self.acquire_timeout = acquire_timeout  # the longest wait for a pool connection
        self.rows = 0
        self._conn: asyncpg.Connection | None = None
        self._tx: Any = None

    async def open(self) -> Cursor:
        try:
            self._conn = await self.pool.acquire(timeout=self.acquire_timeout)
            self._tx = self._conn.transaction(isolation="repeatable_read", readonly=True)
            await self._tx.start()
            snapshot = await self._conn.fetchval(self.sql["sync/snapshot_begin"])
        except Exception as exc:
            await self.close()
            raise_mapped(exc)
        return Cursor.at_snapshot(self.dataset, snapshot)

    async def chunks(self) -> AsyncIterator[bytes]:
        assert self._conn is not None, "open() first"
        if self.fmt == "csv":
            async for chunk in self._csv():
                yield chunk
            return
        query = f"select to_jsonb(t)::text from {table_of(self.dataset)} t order by t.id"
        lines: list[bytes] = []
        async for (text,) in self._conn.cursor(query, prefetch=self.batch):
            if self.maskers:
                lines.append(orjson.dumps(mask_row(orjson.loads(text), self.maskers)) + b"\n")
            else:
                lines.append(text.encode("utf-8") + b"\n")
            if len(lines) >= self.batch:
                self.rows += len(lines)
                yield b"".join(lines)
                lines = []
        self.rows += len(lines)
        if lines:
            yield b"".join(lines)

    async def _csv(self) -> AsyncIterator[bytes]:
        stmt = await self._conn.prepare(f"select * from {table_of(self.dataset)} t order by t.id")
        columns = [a.name for a in stmt.get_attributes()]
        masked = [(columns.index(c), fn) for c, fn in self.maskers.items() if c in columns]
        buffer = io.StringIO()
        writer = csv_cells.writer(buffer, lineterminator="\n")  # text cells safe to open in a spreadsheet
        writer.writerow(columns)
        pending = 0
        async for record in stmt.cursor(prefetch=self.batch):
            if masked:
                values = list(record)
                for i, fn in masked:
                    if values[i] is not None:
                        values[i] = fn(str(values[i]))
                writer.writerow(values)
            else:
                writer.writerow(record)
            pending += 1
            if pending >= self.batch:
                self.rows += pending
                pending = 0
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        self.rows += pending
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._tx is not None:
                await self._tx.rollback()  # read-only: nothing to keep
        except Exception:  # noqa: BLE001 - the connection may be broken; release it anyway
            pass
        finally:
            await self.pool.release(conn)


# --- retention -------------------------------------------------------------------------------------

async def prune(db: "Databases", retention: dt.timedelta) -> int:
    """Remove changes older than ``retention`` in every department database; returns how many."""
    removed = 0
    before = dt.datetime.now(dt.timezone.utc) - retention
    seen: set[str] = set()
    for dept in DATA:
        url = db.url_of(dept)
        if url in seen:
            continue
        seen.add(url)
        removed += await db.pools[dept].fetchval(db.registry["sync/prune"], before)
    return removed


async def retention_loop(db: "Databases", retention: dt.timedelta, interval: float) -> None:
    """Prune every ``interval`` seconds until cancelled (started and stopped by the app's lifespan)."""
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await prune(db, retention)
            if removed:
                log.info("sync retention: removed %d changes older than %s", removed, retention)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - retry at the next interval
            log.warning("sync retention failed; retrying in %.0f s", interval, exc_info=True)
