"""The audit outbox of ingest batches: a write is never left without its audit entry.

An ingest commits its rows in its department's database, and only then can its entry be appended to
``hub.audit_log`` (the hub's primary, possibly another database): an entry must not claim a write that did not
commit, and no answer leaves before its entry has committed. When that append failed (the audit log down, its
batch refused), the batch stayed applied with no entry unless its writer retried with the same Idempotency-Key.

So the entry goes with the batch (migration 0029): ``hub.sync.ingest.ingest`` stores the entry its request will
write (``pending_json``) in ``hub_sync.ingest_batches.audit_pending``, in the transaction that applies the batch.
After the entry is in the log, ``clear`` sets it to null (POST ``/ingest``: ``hub.sync.http``; the GraphQL
``ingest`` mutation: ``hub.api.audit.AuditExtension``, with the operation's own entry). An entry still pending
after ``grace`` seconds is appended by ``drain``, which every hub process runs every ``HUB_AUDIT_OUTBOX_SECONDS``
(``run``, started by the app's lifespan) and ``hub audit outbox --drain`` runs once:

- the batches are taken with ``FOR UPDATE SKIP LOCKED`` in their department's database, so two processes never
  drain the same batch, and cleared in that transaction after their entries committed (a crash in between leaves
  them pending: they are drained again);
- an entry whose request did write it (its outbox row could not be cleared: the department's database failed just
  then) is found in the log — the same trace id and the same values in every other column — and is not written
  twice. Without a trace id (tracing off) it cannot be found, and such an entry may then be in the log twice: never
  missing. Another entry that only shares its trace id (a client may choose it with ``traceparent``) does not
  stand in for it;
- the drained entry is the one the request would have written, with its trace id; its time is when it was drained.

The pending entry of the GraphQL mutation is the operation's entry as it stood when the batch committed (what the
operation had read and written by then, outcome OK); if the operation's own entry is written, that one stands and
the pending one is cleared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import orjson

from hub.governance.audit import AuditEntry, append

if TYPE_CHECKING:
    from hub.db.pools import Databases

log = logging.getLogger("hub.audit.outbox")

TAKE_QUERY = "sync/audit_outbox_take"
CLEAR_QUERY = "sync/audit_outbox_clear"
COUNT_QUERY = "sync/audit_outbox_count"
EXISTS_QUERY = "hub/audit_entry_exists"
GRACE_SECONDS = 60.0  # a request's own append and clearing happen well within this (the writer fails fast)
DRAIN_BATCH = 100  # batches taken per transaction
# How far before its batch committed an entry written by its own request may be stamped (clocks of two servers).
_CLOCK_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Pending:
    """An ingest batch whose audit entry is pending in the outbox of ``department``'s database."""

    department: str
    batch_id: int


@dataclass(frozen=True, slots=True)
class Drained:
    """What one drain did: entries appended, entries found already written (cleared only), entries that failed."""

    appended: int = 0
    found: int = 0
    failed: int = 0

    def __add__(self, other: "Drained") -> "Drained":
        return Drained(self.appended + other.appended, self.found + other.found, self.failed + other.failed)


def pending_json(entry: AuditEntry) -> str:
    """The outbox's JSON of ``entry`` (every field of ``AuditEntry``)."""
    return orjson.dumps(dataclasses.asdict(entry)).decode()


def entry_from_json(text: str | bytes) -> AuditEntry:
    """The ``AuditEntry`` of ``pending_json``'s text; unknown keys (a later version's) are ignored."""
    values = orjson.loads(text)
    known = {f.name for f in dataclasses.fields(AuditEntry)}
    return AuditEntry(**{k: v for k, v in values.items() if k in known})


async def clear(db: "Databases", pending: Iterable[Pending]) -> bool:
    """The entries of ``pending`` are in the log: clear them from their outboxes. False (logged) when a database
    could not be reached: the drain then finds each entry in the log (with a trace id) instead of writing it again."""
    by_department: dict[str, list[int]] = {}
    for each in pending:
        by_department.setdefault(each.department, []).append(each.batch_id)
    primary = getattr(db, "primary", db)
    ok = True
    for department, ids in by_department.items():
        try:
            await primary.departments[department].execute(CLEAR_QUERY, ids, counted=False)
        except Exception:  # noqa: BLE001 - the entry is written; the drain will find it
            log.warning("the audit outbox of %s could not be cleared for batch(es) %s; the drain will find their "
                        "entries in the log", department, ids, exc_info=True)
            ok = False
    return ok


async def drain(db: "Databases", grace: float = GRACE_SECONDS, limit: int = DRAIN_BATCH) -> Drained:
    """Append the entries pending longer than ``grace`` seconds in the outbox of every database (see the module
    docstring). Raises nothing: a database or an entry that fails is logged and counted, and tried again next
    time."""
    total = Drained()
    for url in db.distinct_urls():
        department = next(d for d in db.departments if db.url_of(d) == url)
        try:
            while True:
                done, taken = await _drain_some(db, department, grace, limit)
                total += done
                if taken < limit or done.failed:
                    break
        except Exception:  # noqa: BLE001 - the next drain tries again
            log.warning("the audit outbox of the database of %s could not be drained", department, exc_info=True)
            total += Drained(failed=1)
    return total


async def _drain_some(db: "Databases", department: str, grace: float, limit: int) -> tuple[Drained, int]:
    dept = db.departments[department]
    appended = found = failed = 0
    async with dept.pool.acquire(timeout=dept.acquire_timeout) as conn:
        async with conn.transaction():
            rows = await conn.fetch(db.registry[TAKE_QUERY], float(grace), limit)
            cleared: list[int] = []
            for row in rows:
                try:
                    entry = entry_from_json(row["entry"])
                    if await _written(db, entry, row["pending_at"]):
                        found += 1
                    else:
                        await append(db, entry)
                        appended += 1
                        log.warning("AUDIT OUTBOX: wrote the pending entry of ingest batch %s (%s, consumer %s, "
                                    "trace %s)", row["id"], entry.operation_name, entry.consumer_id, entry.trace_id)
                    cleared.append(row["id"])
                except Exception:  # noqa: BLE001 - stays pending; tried again by the next drain
                    failed += 1
                    log.error("AUDIT OUTBOX: the pending entry of ingest batch %s could not be written", row["id"],
                              exc_info=True)
                    break  # the log is likely down: keep the order, stop here
            if cleared:
                await conn.execute(db.registry[CLEAR_QUERY], cleared)
    return Drained(appended, found, failed), len(rows)


async def _written(db: "Databases", entry: AuditEntry, pending_at: dt.datetime) -> bool:
    """The entry is in the log already (its request wrote it; only its outbox row was left): an entry with the same
    trace id and the same values in every other column, written since shortly before its batch committed. Without a
    trace id nothing identifies it: False."""
    if entry.trace_id is None:
        return False
    primary = getattr(db, "primary", db)
    return bool(await primary.hub.fetchval(EXISTS_QUERY, *entry.args(), pending_at - _CLOCK_SLACK))


async def counts(db: "Databases") -> list[tuple[str, int, dt.datetime | None]]:
    """Per database (named as its pool is: ``primary``, or the departments sharing it): the ingest batches whose
    entry is pending in the outbox, and since when the oldest one is."""
    out = []
    for url in db.distinct_urls():
        department = next(d for d in db.departments if db.url_of(d) == url)
        row = await db.departments[department].fetchrow(COUNT_QUERY)
        out.append((db.pool_name(department), int(row["pending"]), row["oldest"]))
    return out


async def run(db: "Databases", every: float, grace: float = GRACE_SECONDS) -> None:
    """The process's drain: once at start, then every ``every`` seconds, until cancelled (the app's lifespan)."""
    while True:
        done = await drain(db, grace)
        if done.appended or done.failed:
            log.warning("audit outbox: %d pending entr%s written, %d failed", done.appended,
                        "y" if done.appended == 1 else "ies", done.failed)
        await asyncio.sleep(every)
