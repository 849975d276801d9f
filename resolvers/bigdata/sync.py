"""Sync over GraphQL (docs/design.md, "Sync contract"): the change feed as a connection, small-batch ingest, and
a subscription announcing new feed cursors. Bulk transfers use the HTTP endpoints (``hub.sync.http``); the
rules, cursors, masking and audit are the same.
"""

from __future__ import annotations

import datetime
from enum import Enum
from typing import TYPE_CHECKING, AsyncGenerator

import strawberry
from strawberry.scalars import JSON

from hub.api.pagination import PageInfo
from hub.errors import BadUserInput
from hub.sync.cursor import Cursor
from hub.sync.feed import read_changes
from hub.sync.guard import authorize, note_rows
from hub.sync.ingest import ingest as run_ingest
from hub.sync.ingest import after_write, record_ingest_metrics
from hub.sync.parse import objects_records
from hub.sync.report_view import drafted, writer_view
from hub.sync.specs import ingest_specs

if TYPE_CHECKING:
    from hub.governance.audit import AuditEntry

GRAPHQL_INGEST_MAX_ROWS = 1000  # larger batches: POST /ingest/{dataset}


@strawberry.enum(description="What a change did to its row.")
class ChangeOp(Enum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    RESET = "reset"


@strawberry.type(description="A change of one row of a dataset (RESET: the table was emptied). Keep, per row id, "
                             "the change with the largest version; drop rows below the last RESET's version.")
class Change:
    cursor: str
    version: str = strawberry.field(description="Row version (decimal): larger is newer for the same row.")
    txid: str = strawberry.field(description="The writing transaction's id (xid8, decimal).")
    op: ChangeOp
    id: int | None = strawberry.field(description="The row's id (null for RESET).")
    row: JSON | None = strawberry.field(description="INSERT/UPDATE: the row, by column name (personal columns "
                                                    "masked as in queries).")
    key: JSON | None = strawberry.field(description="DELETE: the deleted row's key (id and natural key).")
    at: datetime.datetime


@strawberry.type
class ChangeEdge:
    cursor: str
    node: Change


@strawberry.type(description="A page of a dataset's change feed. Continue with `after: nextCursor` (also when "
                             "the page is empty).")
class ChangeConnection:
    edges: list[ChangeEdge]
    nodes: list[Change]
    page_info: PageInfo
    next_cursor: str


@strawberry.type(description="A row ingest rejected, or accepted with a warning.")
class IngestIssue:
    line: int = strawberry.field(description="1-based position of the row in the batch.")
    field: str | None
    reason: str
    raw: str | None = strawberry.field(default=None, description="The rejected input. Unless your department owns "
                                                                "the dataset, its personal fields are masked as "
                                                                "in queries, and input that cannot be split into "
                                                                "fields is withheld (null).")


@strawberry.type(description="The outcome of an ingest batch (the same report is returned for a repeated "
                             "idempotency key of the same consumer, with replayed = true).")
class IngestReport:
    batch_id: int
    dataset: str
    idempotency_key: str | None
    replayed: bool
    received: int
    applied: int = strawberry.field(description="Valid rows of the batch, each now stored as sent (inserted + updated "
                                                "+ unchanged).")
    inserted: int | None = strawberry.field(description="New rows. Null (as updated and unchanged) for a writer who "
                                                        "does not read the dataset in clear: it is not told which keys "
                                                        "were stored before.")
    updated: int | None = strawberry.field(description="Stored rows that changed (null: see inserted).")
    unchanged: int | None = strawberry.field(description="Stored rows sent with the values they had (null: see "
                                                         "inserted).")
    rejected: int
    warnings: int
    rejected_rows: list[IngestIssue] = strawberry.field(description="The first rejected rows, with reasons.")
    warning_rows: list[IngestIssue] = strawberry.field(description="The first warnings.")


@strawberry.type(description="A dataset's change feed has new changes up to `cursor`.")
class DatasetChange:
    dataset: str
    cursor: str
    version: str


def _report(data: dict, replayed: bool) -> IngestReport:
    def issues(rows: list[dict]) -> list[IngestIssue]:
        return [IngestIssue(line=r["line"], field=r.get("field"), reason=r["reason"], raw=r.get("raw")) for r in rows]

    return IngestReport(batch_id=data["batchId"], dataset=data["dataset"], idempotency_key=data.get("idempotencyKey"),
                        replayed=replayed, received=data["received"], applied=data["applied"],
                        inserted=data["inserted"], updated=data["updated"], unchanged=data["unchanged"],
                        rejected=data["rejected"],
                        warnings=data["warnings"], rejected_rows=issues(data["rejectedRows"]),
                        warning_rows=issues(data["warningRows"]))


@strawberry.type
class SyncQuery:
    @strawberry.field(description="A dataset's change feed after `after` (a cursor from a snapshot, a change or "
                                  "nextCursor; omitted: the start of the retained log), in (transaction, sequence) "
                                  "order. CURSOR_EXPIRED: take a new snapshot.")
    async def changes(self, info: strawberry.Info, dataset: str, after: str | None = None,
                      first: int | None = None) -> ChangeConnection | None:
        ctx = info.context
        found = authorize(ctx.access, dataset, write=False)
        page = ctx.page(first, None)  # validates `first` like every connection
        cursor = Cursor.decode(after, found.name)
        db = ctx.db.primary
        result = await read_changes(db.departments[found.department].pool, db.registry, cursor, page.first)
        maskers = ctx.access.maskers(found)
        edges = []
        for change in result.changes:
            data = change.as_dict(maskers)
            node = Change(cursor=data["cursor"], version=str(change.seq), txid=str(change.txid),
                          op=ChangeOp(change.op), id=change.row_id, row=data.get("row"), key=data.get("key"),
                          at=change.at)
            edges.append(ChangeEdge(cursor=node.cursor, node=node))
        note_rows(ctx.access, found, len(edges))
        nxt = result.next_cursor.encode()
        return ChangeConnection(edges=edges, nodes=[e.node for e in edges], next_cursor=nxt, page_info=PageInfo(
            has_next_page=result.has_more, has_previous_page=cursor.position > (0, 0),
            start_cursor=edges[0].cursor if edges else None, end_cursor=nxt))


@strawberry.type
class SyncMutation:
    @strawberry.mutation(description=f"Ingest a small batch (at most {GRAPHQL_INGEST_MAX_ROWS} rows; bulk: POST "
                                     "/ingest/{dataset}) into a dataset of your department (admins: any). Rows are "
                                     "objects by column or field name; upserted by natural key. A repeated "
                                     "idempotencyKey of yours returns the first batch's report and applies "
                                     "nothing; a key another consumer used for the dataset is CONFLICT.")
    async def ingest(self, info: strawberry.Info, dataset: str, rows: list[JSON],
                     idempotency_key: str | None = None) -> IngestReport:
        ctx = info.context
        found = authorize(ctx.access, dataset, write=True)
        consumer = ctx.consumer
        if len(rows) > GRAPHQL_INGEST_MAX_ROWS:
            raise BadUserInput(f"at most {GRAPHQL_INGEST_MAX_ROWS} rows per ingest mutation; use POST "
                               f"/ingest/{found.name} for bulk", argument="rows")
        if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200 and idempotency_key.isprintable()
                                                and idempotency_key.isascii() and " " not in idempotency_key):
            raise BadUserInput("idempotencyKey must be 1-200 printable ASCII characters", argument="idempotencyKey")

        async def records():
            yield objects_records(rows)

        db = ctx.db.primary
        spec = ingest_specs()[found.name]
        draft = getattr(ctx, "audit_draft", None)

        def audit_draft(stored: dict) -> AuditEntry:
            """The operation's entry as it stands once the batch is applied, kept with it in the audit outbox
            (counting the batch's rows and masked fields, on ``ctx.access`` only once the batch has committed)."""
            return drafted(ctx.access, found, spec, stored, draft)

        result = await run_ingest(db, spec, records(), consumer=consumer, idempotency_key=idempotency_key,
                                  fmt="graphql", report_limit=ctx.settings.ingest_report_rejects,
                                  timeout_ms=ctx.settings.ingest_timeout_ms,
                                  audit_draft=None if draft is None else audit_draft)
        if result.pending is not None:
            ctx.audit_outbox.append(result.pending)  # cleared by the AuditExtension once the operation's entry is in
        view = writer_view(ctx.access, found, spec, result.report)
        if not result.replayed:
            record_ingest_metrics(ctx.request.app, result.report)
        after_write(db, consumer.id, result)
        return _report(view, result.replayed)


@strawberry.type
class SyncSubscription:
    @strawberry.subscription(description="New changes of a dataset can be read: each event names the feed's newest "
                                         "cursor (graphql-transport-ws; LISTEN/NOTIFY underneath). Then read "
                                         "`changes(after: <your cursor>)` until caught up.")
    async def dataset_changed(self, info: strawberry.Info, dataset: str) -> AsyncGenerator[DatasetChange, None]:
        # Authorised before the stream is returned, so that the subscription's start is audited with its dataset
        # (hub.api.ws_auth.watch_subscriptions re-checks it while it runs).
        ctx = info.context
        found = authorize(ctx.access, dataset, write=False)
        return _changes(ctx.request.app.state.sync.notifier, found.name)


async def _changes(notifier, dataset: str) -> AsyncGenerator[DatasetChange, None]:
    async with notifier.subscribe(dataset) as queue:
        while True:
            cursor = await queue.get()
            yield DatasetChange(dataset=dataset, cursor=cursor.encode(), version=str(cursor.seq))
