"""The audit outbox: a write is never left without its audit entry.

A write commits in its department's database — an ingest batch (POST ``/ingest``, the ``ingest`` mutation), an access
request, review or revocation, a report's publication or withdrawal, a plan target — and only then can its entry be
appended to ``hub.audit_log`` (the hub's primary, possibly another database): an entry must not claim a write that did
not commit, and no answer leaves before its entry has committed. When that append failed (the audit log down, its
batch refused), the write stayed with no entry (an ingest's unless its writer retried with the same Idempotency-Key).

So the entry goes with the write (migration 0029, ``hub.audit_outbox`` in every database): inside the write's
transaction, ``keep`` (an ingest: ``hub.sync.ingest.ingest``) or ``stage`` (a GraphQL mutation) inserts the entry its
operation will write. After that entry is in the log, ``clear`` deletes it (POST ``/ingest``: ``hub.sync.http``;
GraphQL: ``hub.api.audit.AuditExtension``, with the operation's own entry). An entry still in the outbox after
``grace`` seconds is appended by ``drain``, which every hub process runs every ``HUB_AUDIT_OUTBOX_SECONDS`` (``run``,
started by the app's lifespan) and ``hub audit outbox --drain`` runs once:

- the entries are taken with ``FOR UPDATE SKIP LOCKED`` in their database, so two processes never drain the same
  one, and deleted in that transaction after they committed in the log (a crash in between leaves them: they are
  drained again);
- an entry whose operation did write it but could not delete it (its database failed just then) is not written
  twice: ``clear`` then marks it written in the hub's database (``hub.audit_outbox_written``, migration 0029), and
  the drain deletes a marked entry without writing it; a drain marks the entries it wrote too, until it has deleted
  them. The log itself cannot tell whose an entry is: a look-up by trace id (and the other values) took another
  operation's entry for the kept one, since a trace id is not an operation's own (a caller's ``traceparent``
  continues its trace, which it may share with its other requests; a trace the hub began is told to the caller in
  its answer, and a replay of an ingest batch in that trace has the very values of its entry), and the writes of one
  GraphQL operation share its trace. When the marker cannot be written either (or the process stops between the
  entry and its deletion), the entry may be in the log twice: never missing;
- the drained entry is the one its operation would have written, with its trace id; its time is when it was drained;
- only the hub's own entries are drained: each is kept with an HMAC-SHA256 of its text under the hub's secret
  (``hub.audit_outbox_key``, in the hub's database; ``outbox_key``, ``mac_of``). A department's database may be run
  apart from the hub's, by others: an entry made up or altered there is left in the outbox, counted ``forged`` and
  logged, never appended; the drain goes on past it (page after page, ``TAKE_QUERY``). (A copy of a kept row would be
  appended as a second copy of a true entry.)

The entry kept by a GraphQL mutation is the operation's entry as it stood when the write committed (what the
operation had read and written by then, outcome OK); if the operation's own entry is written, that one stands and the
kept one is deleted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Mapping

import orjson

from hub.governance.audit import AuditEntry, append

if TYPE_CHECKING:
    import asyncpg

    from hub.db.pools import Databases, Department

log = logging.getLogger("hub.audit.outbox")

# What a write's function runs inside its transaction for the audit outbox (``stage`` bound to a GraphQL context).
Staged = Callable[["Department"], Awaitable[None]]

INSERT_QUERY = "hub/audit_outbox_insert"
TAKE_QUERY = "hub/audit_outbox_take"
CLEAR_QUERY = "hub/audit_outbox_clear"
COUNT_QUERY = "hub/audit_outbox_count"
MARK_QUERY = "hub/audit_outbox_mark"
MARKED_QUERY = "hub/audit_outbox_marked"
UNMARK_QUERY = "hub/audit_outbox_unmark"
KEY_QUERY = "hub/audit_outbox_key"
GRACE_SECONDS = 60.0  # an operation's own append and clearing happen well within this (the writer fails fast)
DRAIN_BATCH = 100  # entries taken per transaction


@dataclass(frozen=True, slots=True)
class Pending:
    """An audit entry kept in the outbox of ``department``'s database (its row ``outbox_id``), and its trace id."""

    department: str
    outbox_id: int
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class Drained:
    """What one drain did: entries appended, entries found already written (cleared only), entries that failed, and
    entries not the hub's (their MAC does not hold: left in the outbox, never appended)."""

    appended: int = 0
    found: int = 0
    failed: int = 0
    forged: int = 0

    def __add__(self, other: "Drained") -> "Drained":
        return Drained(self.appended + other.appended, self.found + other.found, self.failed + other.failed,
                       self.forged + other.forged)


def pending_json(entry: AuditEntry) -> str:
    """The outbox's JSON of ``entry`` (every field of ``AuditEntry``)."""
    return orjson.dumps(dataclasses.asdict(entry)).decode()


def entry_from_json(text: str | bytes) -> AuditEntry:
    """The ``AuditEntry`` of ``pending_json``'s text; unknown keys (a later version's) are ignored."""
    values = orjson.loads(text)
    known = {f.name for f in dataclasses.fields(AuditEntry)}
    return AuditEntry(**{k: v for k, v in values.items() if k in known})


async def outbox_key(db: "Databases") -> bytes:
    """The secret of the kept entries' MACs (``hub.audit_outbox_key`` in the hub's database), read once per
    ``Databases``, at its first use (an ingest reads it before it takes its connection; a mutation inside its
    transaction, on a second connection: should its pool have none within its acquire timeout, that first write fails,
    SERVICE_UNAVAILABLE, and nothing is kept or written)."""
    primary = getattr(db, "primary", db)
    key = getattr(primary, "audit_outbox_key", None)
    if key is None:
        key = primary.audit_outbox_key = (await primary.hub.fetchval(KEY_QUERY, counted=False)).encode()
    return key


def mac_of(key: bytes, text: str) -> str:
    """The HMAC-SHA256 (hex) of a kept entry's text (the standard library's ``hmac``)."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


async def keep(conn: "asyncpg.Connection", sql: Mapping[str, str], department: str, entry: AuditEntry,
               key: bytes) -> Pending:
    """Keep ``entry`` in the outbox of ``department``'s database, on ``conn`` inside the transaction of the write it
    records (``sql``: the SQL registry), with its MAC under ``key`` (``outbox_key``)."""
    text = pending_json(entry)
    return Pending(department, await conn.fetchval(sql[INSERT_QUERY], text, mac_of(key, text)), entry.trace_id)


def staging(context: Any) -> Staged:
    """``stage`` for the writes of the GraphQL operation of ``context`` (a write function's ``staged``)."""
    async def staged(tx: "Department") -> None:
        await stage(tx, context)
    return staged


async def stage(tx: "Department", context: Any) -> None:
    """A GraphQL mutation's write, in the transaction ``tx``: keep the operation's entry as it stands now
    (``context.audit_draft``, set by ``hub.api.audit.AuditExtension``) with it; the extension deletes it once the
    operation's own entry is in the log. Nothing without a draft (no extension: a command, a test)."""
    draft = getattr(context, "audit_draft", None)
    if draft is not None:
        key = await outbox_key(context.db)
        context.audit_outbox.append(await keep(tx.pool, tx.sql, tx.name, draft(), key))


async def clear(db: "Databases", pending: Iterable[Pending]) -> bool:
    """The entries of ``pending`` are in the log: clear them from their outboxes. False (logged) when a database
    could not be reached: its entries are then marked written in the hub's database (``mark``), and the drain deletes
    them instead of writing them again."""
    by_department: dict[str, list[Pending]] = {}
    for each in pending:
        by_department.setdefault(each.department, []).append(each)
    primary = getattr(db, "primary", db)
    ok = True
    for department, kept in by_department.items():
        ids = [k.outbox_id for k in kept]
        try:
            await primary.departments[department].execute(CLEAR_QUERY, ids, counted=False)
        except Exception:  # noqa: BLE001 - the entry is written; the drain will find it marked
            log.warning("the audit outbox of %s could not be cleared of %s; they are marked written for the drain",
                        department, ids, exc_info=True)
            await mark(primary, primary.pool_name(department), kept)
            ok = False
    return ok


async def mark(db: "Databases", database: str, kept: list[Pending]) -> bool:
    """Mark the entries ``kept`` in the outbox of ``database`` (its pool's name, ``Databases.pool_name``) written (they
    are in the log), in the hub's database, for the drain. False (logged) when that fails too: they may then be written
    twice."""
    primary = getattr(db, "primary", db)
    try:
        await primary.hub.execute(MARK_QUERY, database, [k.outbox_id for k in kept], [k.trace_id for k in kept],
                                  counted=False)
        return True
    except Exception:  # noqa: BLE001
        log.error("AUDIT OUTBOX: the entries %s of %s could not be marked written; the drain may write them again",
                  [k.outbox_id for k in kept], database, exc_info=True)
        return False


async def drain(db: "Databases", grace: float = GRACE_SECONDS, limit: int = DRAIN_BATCH) -> Drained:
    """Append the entries pending longer than ``grace`` seconds in the outbox of every database (see the module
    docstring). Raises nothing: a database or an entry that fails is logged and counted, and tried again next
    time."""
    total = Drained()
    for department in db.one_per_database():
        after: tuple[dt.datetime, int] | None = None  # where the previous page ended (its last entry)
        try:
            while True:
                done, after, taken = await _drain_some(db, department, grace, limit, after)
                total += done
                # A forged entry stays in the outbox: the next page starts after it (else a page of them, placed
                # first, would be taken again and again, and the hub's own entries behind it never appended).
                if taken < limit or done.failed:
                    break
        except Exception:  # noqa: BLE001 - the next drain tries again
            log.warning("the audit outbox of the database of %s could not be drained", department, exc_info=True)
            total += Drained(failed=1)
    return total


async def _drain_some(db: "Databases", department: str, grace: float, limit: int,
                      after: tuple[dt.datetime, int] | None) -> tuple[Drained, tuple[dt.datetime, int] | None, int]:
    dept = db.departments[department]
    database = db.pool_name(department)  # the outbox's database, as the markers name it
    appended = found = failed = forged = 0
    key = await outbox_key(db)
    async with dept.pool.acquire(timeout=dept.acquire_timeout) as conn:
        async with conn.transaction():
            rows = await conn.fetch(db.registry[TAKE_QUERY], float(grace), limit, *(after or (None, None)))
            cleared: list[int] = []
            not_ours: list[int] = []
            for row in rows:
                if not hmac.compare_digest(row["mac"], mac_of(key, row["entry"])):
                    not_ours.append(row["id"])  # not written by the hub: never appended, left for an operator
                    continue
                try:
                    entry = entry_from_json(row["entry"])
                    kept = Pending(department, row["id"], entry.trace_id)
                    if await _marked(db, database, kept):
                        found += 1
                    else:
                        await append(db, entry)
                        appended += 1
                        log.warning("AUDIT OUTBOX: wrote the pending entry %s of %s (%s, consumer %s, trace %s)",
                                    row["id"], department, entry.operation_name, entry.consumer_id, entry.trace_id)
                        await mark(db, database, [kept])  # should this transaction not commit, the next drain finds it
                    cleared.append(row["id"])
                except Exception:  # noqa: BLE001 - stays pending; tried again by the next drain
                    failed += 1
                    log.error("AUDIT OUTBOX: the pending entry %s of %s could not be written", row["id"], department,
                              exc_info=True)
                    break  # the log is likely down: keep the order, stop here
            if cleared:
                await conn.execute(db.registry[CLEAR_QUERY], cleared)
    if not_ours:  # one line a page: the drain goes on past them, however many are placed there
        forged = len(not_ours)
        log.error("AUDIT OUTBOX: %d entr%s in the audit outbox of %s not written by the hub (the MAC does not hold), "
                  "left there, not appended: ids %s", forged, "y" if forged == 1 else "ies", database,
                  ", ".join(map(str, not_ours[:10])) + (", ..." if forged > 10 else ""))
    if cleared:  # deleted: their markers are of no more use
        try:
            await getattr(db, "primary", db).hub.execute(UNMARK_QUERY, database, cleared, counted=False)
        except Exception:  # noqa: BLE001 - a marker left behind names an entry no longer kept
            log.warning("the markers of drained audit entries could not be removed", exc_info=True)
    last = (rows[-1]["pending_at"], rows[-1]["id"]) if rows else after
    return Drained(appended, found, failed, forged), last, len(rows)


async def _marked(db: "Databases", database: str, kept: Pending) -> bool:
    """The entry is in the log already: its operation (or an earlier drain) wrote it and marked it (``mark``), but
    could not delete it from the outbox of ``database``."""
    return bool(await getattr(db, "primary", db).hub.fetchval(MARKED_QUERY, database, kept.outbox_id, kept.trace_id,
                                                                counted=False))


async def counts(db: "Databases") -> list[tuple[str, int, dt.datetime | None]]:
    """Per database (named as its pool is: ``primary``, or the departments sharing it): the entries its outbox holds,
    and since when the oldest one."""
    out = []
    for department in db.one_per_database():
        row = await db.departments[department].fetchrow(COUNT_QUERY)
        out.append((db.pool_name(department), int(row["pending"]), row["oldest"]))
    return out


async def run(db: "Databases", every: float, grace: float = GRACE_SECONDS) -> None:
    """The process's drain: every ``every`` seconds, until cancelled (the app's lifespan). Not at once: a process
    starting takes no connection for it, and an entry is drained a grace period after its write anyway."""
    while True:
        await asyncio.sleep(every)
        done = await drain(db, grace)
        if done.appended or done.failed or done.forged:
            log.warning("audit outbox: %d pending entr%s written, %d failed, %d not the hub's", done.appended,
                        "y" if done.appended == 1 else "ies", done.failed, done.forged)
