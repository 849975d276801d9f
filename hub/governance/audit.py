"""The audit log: every GraphQL operation, and every other read of non-public data, leaves one entry in
``hub.audit_log`` (docs/design.md, "Sharing rules"); a subscription two, one when it starts and one when it ends
(``hub.api.audit.AuditExtension.on_execute``).

An entry names the consumer, the operation (name, type, SHA-256 of the document text), the datasets and
grants it used, the rows it returned per dataset, the personal fields masked for it, the datasets denied
to it, the outcome (OK, ERROR, DENIED) with the errors' codes, and the trace id.

The log is append-only and hash-chained: each entry has ``prev_hash`` (the hash of the entry before it, 64
zeros for the first) and ``hash`` (the one definition is ``hub.governance.audit_hash``). Writers are serialised
by the chain's advisory lock. The group-commit writer (``hub.governance.audit_writer``) builds its entries'
canonical content and appends a batch with one call of ``hub.audit_append`` (migration 0018), which draws the
ids and hashes under the lock; any other INSERT (``record``) is chained by a trigger
(``sql/migrations/0007_audit.sql``) that computes the hash with its SQL twin ``hub.audit_hash()``; other
triggers refuse UPDATE, DELETE and TRUNCATE. ``verify`` walks the chain in id order, recomputing the hashes in
Python, and names the first entry that was altered, or that follows a removed entry. Removing entries at the
*end* of the log, or rewriting one and re-hashing every later one, leaves a valid chain: signed checkpoints of
the head (``hub.governance.checkpoints``), given to ``verify``, detect that.

``hub.api.audit.AuditExtension`` writes the entry of each operation after the operation's errors were shaped, with
``append``: in the app, through the process's group-commit writer (``hub.governance.audit_writer.AuditWriter``,
created by the lifespan), which queues the entries of concurrent operations and writes each batch with ONE
call; the operation waits until the batch holding its entry has committed. Without a writer (a
``Databases`` opened by a test or a command) ``record`` writes one entry with one INSERT. The compiled path
(``hub.api.compiled``), the sync/ingest endpoints (``hub.sync.guard``) and report drafts (``resolvers.analytics.report.routes``,
``hub report --draft``) use ``append`` too; ``request_entry`` is the entry of a request outside GraphQL. Policy: an
operation whose entry cannot be written (its batch failed) does not return its data — the result becomes
``data: null`` plus a SERVICE_UNAVAILABLE "audit log unavailable" error (the design requires every
operation to be audited; a mutation has still been applied in that case).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterable

import asyncpg

from hub import SQL_DIR
from hub.db.pools import Department, strip_header
from hub.governance.audit_hash import ZERO_HASH, chain_hash, entry_values
from hub.governance.audit_hash import content as audit_content
from hub.telemetry.tracing import current_ids

if TYPE_CHECKING:
    from hub.governance.checkpoints import SignedHead

log = logging.getLogger("hub.audit")

INSERT_QUERY = "hub/audit_insert"
OUTCOMES = ("OK", "ERROR", "DENIED")
DENIAL_CODES = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})
UNAVAILABLE_MESSAGE = "audit log unavailable"


@dataclass(kw_only=True)
class AuditEntry:
    """One audit entry as written (id, at, prev_hash and hash are set by the database)."""

    outcome: str = "OK"
    operation_type: str = "unknown"  # query | mutation | subscription | unknown
    operation_name: str | None = None
    document_hash: str | None = None
    consumer_id: int | None = None
    department: str | None = None
    consumer_name: str | None = None
    datasets: list[str] = field(default_factory=list)
    grants: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    masked_fields: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    trace_id: str | None = None

    def args(self) -> tuple[Any, ...]:
        """The parameters of ``sql/queries/hub/audit_insert.sql``, in order (sets sorted for stable content);
        also each entry's values in ``audit_append.sql`` (``hub.governance.audit_writer.batch_args``)."""
        v = entry_values(self, id=0, at=None)
        return (
            v["consumer_id"], v["department"], v["consumer_name"], v["operation_name"], v["operation_type"],
            v["document_hash"], v["datasets"], v["grants"], json.dumps(v["rows"], separators=(",", ":")),
            v["masked_fields"], v["denied"], v["outcome"], v["error_codes"], v["trace_id"],
        )


@lru_cache(maxsize=1)
def insert_sql() -> str:
    return strip_header((SQL_DIR / "queries" / f"{INSERT_QUERY}.sql").read_text(encoding="utf-8"))


async def record(pool_or_department: "asyncpg.Pool | asyncpg.Connection | Department", entry: AuditEntry) -> None:
    """Append ``entry``: one INSERT, one round trip (the trigger chains it).

    Deliberately not counted in ``Databases.stats``: those counters pin the statements of resolvers;
    the audit costs exactly one statement per operation, whatever the query.
    """
    if isinstance(pool_or_department, Department):  # traced like every statement, but not counted
        await pool_or_department.execute(INSERT_QUERY, *entry.args(), counted=False)
        return
    await pool_or_department.execute(insert_sql(), *entry.args())


async def append(db: Any, entry: AuditEntry) -> None:
    """Append the entry of an operation that ran on ``db`` (a ``Databases`` or a read view of one): through
    the primary's group-commit writer (``audit_writer``, set by the app's lifespan) when it has one, else
    with ``record``. Returns when the entry is committed; raises when it could not be written."""
    primary = getattr(db, "primary", db)
    writer = getattr(primary, "audit_writer", None)
    if writer is not None:
        await writer.write(entry)
    else:
        await record(primary.hub, entry)  # always the primary (hub.db.replicas)


def storable(text: str | None) -> str | None:
    """``text`` as an audit column can hold it: PostgreSQL's text (and jsonb) cannot hold U+0000, so an entry with
    one was refused — a request naming its operation ``"a\\u0000b"`` was answered (an error) with no entry, and it
    sent its batch's other entries one by one. NUL becomes U+FFFD (the replacement character)."""
    return text.replace("\x00", "\ufffd") if text is not None and "\x00" in text else text


def build_entry(operation_type: str, operation_name: str | None, document_hash: str | None, codes: Iterable[str],
                consumer: Any = None, access: Any = None, trace_id: str | None = None, *,
                datasets: Iterable[str] = (), grants: Iterable[int] = (), rows: dict[str, int] | None = None,
                masked: Iterable[str] = (), denied: Iterable[str] = ()) -> AuditEntry:
    """The one builder of an audit entry (GraphQL operations on both paths, and requests outside GraphQL): who
    asked (``consumer``), what was read — from the request's ``access`` (the datasets, grants, rows, masked fields
    and denials it recorded) or given as keywords — and the outcome, from the error codes and the denials."""
    if access is not None:
        datasets, grants = getattr(access, "datasets_read", ()) or (), getattr(access, "grants_used", ()) or ()
        rows, masked = getattr(access, "rows", None), getattr(access, "masked", ()) or ()
        denied = getattr(access, "denied", ()) or ()
    codes, denied = list(codes), set(denied)
    return AuditEntry(
        outcome=outcome_of(codes, denied), operation_type=operation_type, operation_name=storable(operation_name),
        document_hash=document_hash, consumer_id=getattr(consumer, "id", None),
        department=getattr(consumer, "department", None), consumer_name=getattr(consumer, "name", None),
        datasets=list(datasets), grants=list(grants), rows=dict(rows or {}), masked_fields=list(masked),
        denied=list(denied), error_codes=codes, trace_id=trace_id)


def request_entry(conn: Any, consumer: Any, operation: str, kind: str, codes: list[str], *,
                  datasets: Iterable[str] = (), grants: Iterable[int] = (), rows: dict[str, int] | None = None,
                  masked: Iterable[str] = (), denied: Iterable[str] = ()) -> AuditEntry:
    """The entry of one HTTP request outside GraphQL (``conn``: a starlette request or websocket): the sync and
    ingest endpoints (``hub.sync.guard``) and report drafts (``resolvers.analytics.report.routes``). ``operation``
    names what was done (``sync.changes labor.job_postings``, ``report.draft 2025 (json)``); the document hash is
    the SHA-256 of ``METHOD path?query``."""
    target = conn.url.path + (f"?{conn.url.query}" if conn.url.query else "")
    request_hash = hashlib.sha256(f"{conn.scope.get('method', 'GET')} {target}".encode()).hexdigest()
    return build_entry(kind, operation, request_hash, codes, consumer, trace_id=current_ids()[0], datasets=datasets,
                       grants=grants, rows=rows, masked=masked, denied=denied)


# --- verification ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None  # the first problem (problems[0])
    head_id: int | None = None  # the newest entry checked
    head_hash: str | None = None
    problems: tuple[str, ...] = ()  # every problem found: a broken link, then checkpoints the chain does not extend
    checkpoints: int = 0  # checkpoints given (all must be extended by the chain)
    covered_id: int | None = None  # the newest entry a given checkpoint covers (entries after it are not covered)


_CHAIN_QUERY = "hub/audit_chain"


@lru_cache(maxsize=1)
def _chain_sql() -> str:
    return strip_header((SQL_DIR / "queries" / f"{_CHAIN_QUERY}.sql").read_text(encoding="utf-8"))


async def verify(conn: asyncpg.Connection, batch: int = 2000, checkpoints: Iterable["SignedHead"] = ()) -> VerifyResult:
    """Walk the chain in id order, recomputing each entry's hash from its stored columns with the one
    definition in ``hub.governance.audit_hash`` (not with the database's function), and check that the chain extends
    every checkpoint in ``checkpoints`` (``hub.governance.checkpoints.SignedHead``; their signatures are checked by the
    caller): that entry exists, has exactly that hash and is that many entries from the start.

    Rows are streamed with a server-side cursor (``batch`` rows per fetch) in one read-only REPEATABLE
    READ transaction, so memory stays flat and concurrent appends do not disturb the walk.
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _walk(conn.cursor(_chain_sql(), prefetch=batch), list(checkpoints))


async def _walk(rows: AsyncIterator[asyncpg.Record], checkpoints: list["SignedHead"] = ()) -> VerifyResult:
    expected = ZERO_HASH
    previous_id: int | None = None
    checked = 0
    pending = sorted(checkpoints, key=lambda c: (c.entry_id, c.seq))
    problems: list[str] = []
    at = 0  # pending[at:] are the checkpoints not yet reached
    broken: tuple[int, str] | None = None
    async for row in rows:
        checked += 1
        entry_id, prev_hash, stored = row["id"], row["prev_hash"], row["hash"]
        while at < len(pending) and pending[at].entry_id < entry_id:  # skipped over: that entry is gone
            cp = pending[at]
            problems.append(f"{cp.label} not found: the chain has no entry {cp.entry_id} (entry {previous_id} "
                            f"is followed by entry {entry_id})" if previous_id is not None else
                            f"{cp.label} not found: the chain has no entry {cp.entry_id} (it starts at entry {entry_id})")
            at += 1
        content = audit_content(row)
        after = f"entry {previous_id}" if previous_id is not None else "the start of the log"
        if chain_hash(prev_hash, content) != stored:
            if prev_hash != expected and chain_hash(expected, content) == stored:
                problem = (f"entry {entry_id}: its prev_hash was changed (the entry itself is intact and "
                           f"chains from {after})")
            else:
                problem = f"entry {entry_id} was altered: its stored hash does not match its content"
            broken = (entry_id, problem)
            break
        if prev_hash != expected:
            if previous_id is None:
                problem = (f"entry {entry_id} does not chain from the start of the log: "
                           "an entry before it was removed")
            else:
                problem = (f"entry {entry_id} does not chain from entry {previous_id} (its prev_hash is not "
                           f"that entry's hash): an entry before it was removed, or entry {previous_id} "
                           "was rewritten and re-hashed")
            broken = (entry_id, problem)
            break
        while at < len(pending) and pending[at].entry_id == entry_id:
            cp = pending[at]
            if cp.entry_hash != stored:
                problems.append(f"entry {entry_id} hash differs from {cp.label}: it, or an entry before it, was "
                                "rewritten and the chain re-hashed")
            elif cp.entry_count != checked:
                problems.append(f"{cp.label} covers {cp.entry_count} entries, but the chain holds {checked} up to "
                                f"entry {entry_id}")
            at += 1
        expected, previous_id = stored, entry_id
    if broken is not None:
        first_bad, problem = broken
        problems.insert(0, problem)
        if at < len(pending):
            problems.append(f"{len(pending) - at} checkpoint(s) from {pending[at].label} on were not checked: "
                            f"the chain is broken at entry {first_bad}")
        return VerifyResult(False, checked, first_bad, problems[0], previous_id, expected, tuple(problems),
                            len(pending), _covered(pending))
    for cp in pending[at:]:  # beyond the head
        ends = f"the chain ends at entry {previous_id}" if previous_id is not None else "the log is empty"
        problems.append(f"{cp.label} not found: {ends}")
    head_hash = expected if previous_id is not None else None
    if problems:
        return VerifyResult(False, checked, None, problems[0], previous_id, head_hash, tuple(problems),
                            len(pending), _covered(pending))
    return VerifyResult(True, checked, None, None, previous_id, head_hash, (), len(pending), _covered(pending))


def _covered(checkpoints: list["SignedHead"]) -> int | None:
    return max((c.entry_id for c in checkpoints), default=None)


def outcome_of(codes: list[str], denied: Iterable[str]) -> str:
    """DENIED when an error refused access (or the access layer denied a dataset), ERROR on any other error."""
    if not codes and not denied:  # every answered query: no generator built
        return "OK"
    if any(c in DENIAL_CODES for c in codes) or any(True for _ in denied):
        return "DENIED"
    return "ERROR" if codes else "OK"
