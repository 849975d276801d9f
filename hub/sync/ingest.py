"""Bulk ingest: validate, COPY into a staging table, upsert by natural key — one transaction.

In the owning department's database (its own pool), one transaction per batch:

1. open the batch in ``hub_sync.ingest_batches`` under its Idempotency-Key, which belongs to (consumer,
   dataset): if this consumer has a batch with that key, its stored report is returned and nothing is
   applied; if another consumer used the key for the dataset: CONFLICT, nothing applied, no report. The two
   constraints of migration 0013 arbitrate the insert, which waits for a concurrent batch with the key: a
   duplicate of the same consumer then sees the first one's report, and of two consumers only one can win;
2. stream the records through ``specs.validate_row`` (formats, check characters, ranges, dates, row rules)
   into a temporary staging table with binary COPY; unreadable or invalid rows go in too, marked with their
   reason, so nothing is held in memory but the distinct codes of other departments;
3. in SQL: later duplicates of a natural key supersede earlier ones (which are rejected, naming the line
   that wins), references inside the department are checked (unknown ones rejected);
4. codes of other departments are looked up through *their* pools: unknown ones become warnings;
5. one ``INSERT ... SELECT ... ON CONFLICT (natural key) DO UPDATE`` applies the valid rows (rows whose
   values did not change are left alone and counted as unchanged). Should the database still refuse a row,
   the batch is bisected under savepoints so that only the refused rows are rejected;
6. rejected rows (with their input) and warnings go to ``hub_sync.ingest_issues``; the report (counts and
   the first N of each) is stored with the batch and committed with the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

import asyncpg
import orjson

from hub.assembly import contributions
from hub.errors import Conflict, raise_mapped
from hub.governance.audit_outbox import Pending, keep, outbox_key
from hub.sync.parse import Record, raw_text
from hub.sync.specs import Spec, validate_row
from hub.sync.validate import Invalid

if TYPE_CHECKING:
    from hub.db.pools import Databases
    from hub.governance.audit import AuditEntry
    from hub.governance.consumers import Consumer

log = logging.getLogger("hub.sync.ingest")

_LOOKUP_CHUNK = 10_000
_DB_REFUSALS = (asyncpg.exceptions.IntegrityConstraintViolationError, asyncpg.exceptions.DataError)


@dataclass
class IngestResult:
    report: dict[str, Any]
    replayed: bool  # True: an earlier batch with this Idempotency-Key; nothing was applied now
    pending: Pending | None = None  # its audit entry, kept in the outbox with the batch (hub.governance.audit_outbox)


@dataclass
class _Counts:
    received: int = 0
    foreign: dict[str, set[str]] = field(default_factory=dict)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ingest(db: "Databases", spec: Spec, records: AsyncIterator[list[Record]], *, consumer: "Consumer",
                 idempotency_key: str | None, fmt: str, report_limit: int, timeout_ms: int,
                 audit_draft: "Callable[[dict[str, Any]], AuditEntry] | None" = None) -> IngestResult:
    """Apply one batch; returns its report (or the stored one for a repeated Idempotency-Key).

    ``audit_draft(report)``: the audit entry the caller will write for the applied batch, stored with it in the
    outbox (``hub.governance.audit_outbox``) in the same transaction; the result's ``pending`` names it, for
    ``audit_outbox.clear`` once the entry is in the log. Not called for a replay (nothing applied)."""
    sql = db.registry
    try:
        key = None if audit_draft is None else await outbox_key(db)  # before a connection is held
        dept = db.departments[spec.department]
        async with dept.pool.acquire(timeout=dept.acquire_timeout) as conn:
            async with conn.transaction():
                await conn.execute(f"set local statement_timeout = {int(timeout_ms)}")
                batch_id = await conn.fetchval(sql["sync/ingest_batch_insert"], spec.dataset, idempotency_key,
                                               consumer.id, consumer.department)
                if batch_id is None:  # the key is taken (a committed batch: the insert waited for a running one)
                    stored = await conn.fetchrow(sql["sync/ingest_batch_report"], spec.dataset, idempotency_key,
                                                 consumer.id)
                    if stored is None or not stored["own"]:
                        raise Conflict(f"this idempotency key was used by another consumer for {spec.dataset}; a "
                                       "key belongs to the consumer that used it first: choose another key",
                                       dataset=spec.dataset)
                    return IngestResult(orjson.loads(stored["report"]), replayed=True)
                report = await _apply(db, conn, spec, batch_id, records, report_limit)
                report.update(idempotencyKey=idempotency_key, format=fmt)
                await conn.execute(sql["sync/ingest_batch_finish"], batch_id, report["received"], report["inserted"],
                                   report["updated"], report["unchanged"], report["rejected"], report["warnings"],
                                   orjson.dumps(report).decode())
                pending = None
                if audit_draft is not None:  # its entry, kept with the batch (hub.governance.audit_outbox)
                    pending = await keep(conn, sql, spec.department, audit_draft(report), key)
        return IngestResult(report, replayed=False, pending=pending)
    except Exception as exc:
        raise_mapped(exc)


async def _apply(db: "Databases", conn: asyncpg.Connection, spec: Spec, batch_id: int,
                 records: AsyncIterator[list[Record]], report_limit: int) -> dict[str, Any]:
    stage = _q(f"_ingest_stage_{batch_id}")
    columns = ", ".join(f"{_q(c.name)} {c.kind.pg_type}" for c in spec.columns)
    await conn.execute(f"create temporary table {stage} (_line integer not null, _reject text, _field text, "
                       f"_raw text, {columns}) on commit drop")
    counts = _Counts(foreign={f.column: set() for f in spec.foreign})
    await conn.copy_records_to_table(stage.strip('"'), columns=["_line", "_reject", "_field", "_raw", *spec.names],
                                     records=_stage_rows(spec, records, counts))
    await conn.execute(f"analyze {stage}")
    await _reject_duplicates(conn, spec, stage)
    for ref in spec.refs:
        await _check_reference(conn, spec, stage, ref)
    warnings = await _warn_foreign(db, conn, spec, stage, batch_id, counts)
    inserted, updated, valid = await _upsert_isolating(conn, spec, stage)
    status = await conn.execute(
        f"insert into hub_sync.ingest_issues (batch_id, line, severity, field, reason, raw) "
        f"select $1, _line, 'REJECTED', _field, _reject, coalesce(_raw, left((to_jsonb(s) - "
        f"'{{_line,_reject,_field,_raw}}'::text[])::text, 2000)) from {stage} s where _reject is not null", batch_id)
    rejected = int(status.split()[-1])
    first = db.registry["sync/ingest_issues_first"]
    rejects = await conn.fetch(first, batch_id, "REJECTED", report_limit)
    warned = await conn.fetch(first, batch_id, "WARNING", report_limit)
    return {
        "batchId": batch_id, "dataset": spec.dataset, "received": counts.received, "inserted": inserted,
        "updated": updated, "unchanged": valid - inserted - updated, "rejected": rejected, "warnings": warnings,
        "rejectedRows": [dict(r) for r in rejects], "warningRows": [{k: r[k] for k in ("line", "field", "reason")}
                                                                      for r in warned],
    }


async def _stage_rows(spec: Spec, batches: AsyncIterator[list[Record]], counts: _Counts) -> AsyncIterator[tuple]:
    nulls = (None,) * len(spec.columns)
    foreign = [(spec.names.index(column), values) for column, values in counts.foreign.items()]
    async for batch in batches:
        for line, obj, raw, error in batch:
            counts.received += 1
            problem_field = None
            if error is None:
                try:
                    values = validate_row(spec, obj)
                except Invalid as exc:
                    error, problem_field = exc.reason, exc.field
                else:
                    for index, seen in foreign:
                        if values[index] is not None:
                            seen.add(values[index])
                    yield (line, None, None, None, *values)
                    continue
            yield (line, error, problem_field, raw_text(raw), *nulls)


async def _reject_duplicates(conn: asyncpg.Connection, spec: Spec, stage: str) -> None:
    key = ", ".join(_q(k) for k in spec.input_key)
    await conn.execute(
        f"update {stage} s set _reject = 'duplicate key in this batch: line ' || d.last_line || ' supersedes it', "
        f"_field = {_sql_text(spec.input_key[0])} "
        f"from (select _line, max(_line) over (partition by {key}) as last_line from {stage} "
        f"      where _reject is null) d "
        f"where s._line = d._line and d._line < d.last_line and s._reject is null")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def _check_reference(conn: asyncpg.Connection, spec: Spec, stage: str, ref: Any) -> None:
    schema, table = ref.table.split(".")
    target = f"{_q(schema)}.{_q(table)}"
    match = " and ".join(f"t.{_q(t)} = s.{_q(c)}" for c, t in zip(ref.columns, ref.target))
    present = " and ".join(f"s.{_q(c)} is not null" for c in ref.columns)
    names = "/".join(ref.columns)
    shown = " || '/' || ".join(f"s.{_q(c)}::text" for c in ref.columns)
    in_batch = ""
    if ref.in_batch:
        batch_match = " and ".join(f"b.{_q(t)} = s.{_q(c)}" for c, t in zip(ref.columns, ref.target))
        in_batch = f" and not exists (select from {stage} b where b._reject is null and {batch_match})"
    await conn.execute(
        f"update {stage} s set _reject = 'unknown {names} ' || {shown} || ': not in {ref.table}', "
        f"_field = {_sql_text(ref.columns[0])} "
        f"where s._reject is null and {present} and not exists (select from {target} t where {match}){in_batch}")


async def _warn_foreign(db: "Databases", conn: asyncpg.Connection, spec: Spec, stage: str, batch_id: int,
                        counts: _Counts) -> int:
    """Look codes of other departments up through their own pools; a warning per row naming an unknown one."""
    warnings = 0
    for f in spec.foreign:
        values = sorted(counts.foreign[f.column])
        unknown: list[str] = []
        department = db.departments[f.department]
        # The other department's pool; when it is this department's pool too (one database), the connection
        # already held from it — waiting for a second one could exhaust the pool under concurrent ingests.
        shared = db.pools[f.department] is db.pools[spec.department]
        for start in range(0, len(values), _LOOKUP_CHUNK):
            chunk = values[start:start + _LOOKUP_CHUNK]
            rows = await (conn.fetch(db.registry[f.query], chunk) if shared else department.fetch(f.query, chunk))
            known = {r["code"] for r in rows}
            unknown.extend(v for v in chunk if v not in known)
        if not unknown:
            continue
        owner = "the hub" if f.department == "bigdata" else f.department
        status = await conn.execute(
            f"insert into hub_sync.ingest_issues (batch_id, line, severity, field, reason) "
            f"select $1, _line, 'WARNING', $2, {_q(f.column)} || ' is not known to {owner} (yet); the row was applied' "
            f"from {stage} where _reject is null and {_q(f.column)} = any($3::text[])", batch_id, f.column, unknown)
        warnings += int(status.split()[-1])
    return warnings


def _upsert_sql(spec: Spec, stage: str) -> str:
    stored = spec.stored
    target = spec.dataset.split(".")
    select = ", ".join([f"s.{_q(c.name)}" for c in spec.columns if c.stored] + list(spec.derived.values()))
    changing = [c for c in stored if c not in spec.key]
    assignments = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in changing)
    differs = (f"({', '.join('t.' + _q(c) for c in changing)}) is distinct from "
               f"({', '.join('excluded.' + _q(c) for c in changing)})")
    return (
        f"with up as (insert into {_q(target[0])}.{_q(target[1])} as t ({', '.join(map(_q, stored))}) "
        f"select {select} from {stage} s where s._reject is null and ($1::int[] is null or s._line = any($1)) "
        f"order by {', '.join('s.' + _q(k) for k in spec.input_key)} "
        f"on conflict ({', '.join(map(_q, spec.key))}) do update set {assignments} where {differs} "
        f"returning (t.xmax = 0) as inserted) "
        f"select count(*) filter (where inserted) as inserted, count(*) filter (where not inserted) as updated "
        f"from up")


async def _upsert_isolating(conn: asyncpg.Connection, spec: Spec, stage: str) -> tuple[int, int, int]:
    """Upsert the valid rows: (inserted, updated, valid). Rows the database refuses are marked rejected."""
    upsert = _upsert_sql(spec, stage)
    try:
        async with conn.transaction():  # a savepoint
            row = await conn.fetchrow(upsert, None)
        valid = await conn.fetchval(f"select count(*) from {stage} where _reject is null")
        return row["inserted"], row["updated"], valid
    except _DB_REFUSALS:
        log.info("ingest into %s: the database refused a row; isolating it", spec.dataset)
    lines = [r[0] for r in await conn.fetch(f"select _line from {stage} where _reject is null order by _line")]
    inserted = updated = 0
    todo = [lines]
    while todo:
        part = todo.pop()
        try:
            async with conn.transaction():
                row = await conn.fetchrow(upsert, part)
            inserted, updated = inserted + row["inserted"], updated + row["updated"]
        except _DB_REFUSALS as exc:
            if len(part) == 1:
                detail = getattr(exc, "message", None) or str(exc)
                await conn.execute(f"update {stage} set _reject = $2, _field = null where _line = $1",
                                   part[0], f"refused by the database: {detail}")
            else:
                middle = len(part) // 2
                todo.extend((part[middle:], part[:middle]))
    valid = await conn.fetchval(f"select count(*) from {stage} where _reject is null")
    return inserted, updated, valid


# --- after a batch ----------------------------------------------------------------------------------

def record_ingest_metrics(app: Any, report: dict[str, Any]) -> None:
    """hub_ingested_rows_total / hub_ingest_rejected_rows_total (``hub.telemetry.metrics``), when metrics exist."""
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.record_ingest(report["dataset"], report["inserted"] + report["updated"] + report["unchanged"],
                              report["rejected"])


def after_write(db: "Databases", consumer_id: int, result: "IngestResult") -> None:
    """After an ingest that stored or changed rows (not a replay): the writer's next reads stay on the primary
    (``hub.db.replicas``) and the published statistics are refreshed in the background. One rule for POST
    /ingest and the GraphQL mutation."""
    if not result.replayed and result.report["inserted"] + result.report["updated"]:
        db.note_write(consumer_id)
        refresh_statistics_later(db)


_REFRESH: dict[int, dict[str, Any]] = {}  # per Databases: the running refresh task, and whether to run again


def refresh_statistics_later(db: "Databases") -> bool:
    """Refresh the published statistics in the background: the ``refresh`` of the resolvers packages that have one
    (analytics' ``refresh_statistics``, ``hub.assembly``).

    The statistics are computed from summary tables (issue 5); an ingest that changed rows makes them stale.
    The refresh runs after the response was sent: it never delays or fails an ingest, and its failure is only
    logged. Refreshes coalesce: while one runs, any number of further ingests cause exactly one more. Returns
    whether a refresh was started or queued (False: no package refreshes anything)."""
    refreshes = [c.refresh for c in contributions() if c.refresh is not None]
    if not refreshes:
        return False
    state = _REFRESH.setdefault(id(db), {"task": None, "again": False})
    if state["task"] is not None and not state["task"].done():
        state["again"] = True
        return True

    async def run() -> None:
        try:
            while True:
                state["again"] = False
                try:
                    for refresh in refreshes:
                        await refresh(db)
                except Exception:  # noqa: BLE001 - background work: log, never raise
                    log.warning("statistics refresh after ingest failed", exc_info=True)
                if not state["again"] or not db.pools:
                    return
        finally:
            _REFRESH.pop(id(db), None)

    state["task"] = asyncio.ensure_future(run())
    return True


async def cancel_refresh(db: "Databases") -> None:
    """Stop a background statistics refresh of ``db`` (before its pools close; the refresh rolls back)."""

    state = _REFRESH.pop(id(db), None)
    task = state["task"] if state else None
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, timeout=5)
