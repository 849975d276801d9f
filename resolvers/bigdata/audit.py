"""The audit log over GraphQL: ``auditLog(filter, first, after)``.

Admins (the big-data bureau) read every entry; any other consumer reads only its own department's
entries (the department filter is forced; asking for another department is FORBIDDEN). Reading the log is
itself audited, as the dataset ``hub.audit_log``.
"""

from __future__ import annotations

import datetime
import json
from enum import Enum

import strawberry

from hub.api.pagination import Connection, build_connection
from hub.errors import Forbidden, Unauthenticated

AUDIT_DATASET = "hub.audit_log"


@strawberry.enum(description="How an audited operation ended.")
class AuditOutcome(Enum):
    OK = "OK"
    ERROR = "ERROR"
    DENIED = "DENIED"


@strawberry.enum(description="The type of an audited GraphQL operation (UNKNOWN: the document did not parse).")
class AuditOperationType(Enum):
    QUERY = "query"
    MUTATION = "mutation"
    SUBSCRIPTION = "subscription"
    UNKNOWN = "unknown"


@strawberry.type(description="Rows an operation returned from one dataset.")
class DatasetRowCount:
    dataset: str
    rows: int


@strawberry.type(name="AuditEntry", description="One audited GraphQL operation; entries are hash-chained "
                                                "(hash = sha256(prevHash || content)) and cannot be changed.")
class AuditLogEntry:
    id: int
    at: datetime.datetime
    consumer_id: int | None
    department: str | None
    consumer_name: str | None
    operation_name: str | None
    operation_type: AuditOperationType
    document_hash: str | None = strawberry.field(description="SHA-256 (hex) of the GraphQL document text.")
    datasets: list[str] = strawberry.field(description="Catalog datasets the operation read.")
    grants: list[int] = strawberry.field(description="Ids of the grants the operation relied on.")
    rows: list[DatasetRowCount]
    masked_fields: list[str] = strawberry.field(description="Personal fields masked for the reader (dataset.field).")
    denied_datasets: list[str] = strawberry.field(description="Datasets the sharing rules refused.")
    outcome: AuditOutcome
    error_codes: list[str]
    trace_id: str | None
    prev_hash: str
    hash: str


@strawberry.type
class AuditEntryConnection(Connection[AuditLogEntry]):
    pass


@strawberry.input(description="Filters of auditLog; all optional, combined with AND.")
class AuditFilter:
    department: str | None = None
    consumer_id: int | None = None
    outcome: AuditOutcome | None = None
    operation_name: str | None = None
    since: datetime.datetime | None = strawberry.field(default=None, description="Entries at or after this time.")
    before: datetime.datetime | None = strawberry.field(default=None, description="Entries before this time.")


def audit_entry_from_row(r) -> AuditLogEntry:
    rows = json.loads(r["rows"]) if r["rows"] else {}
    return AuditLogEntry(
        id=r["id"], at=r["at"], consumer_id=r["consumer_id"], department=r["department"],
        consumer_name=r["consumer_name"], operation_name=r["operation_name"],
        operation_type=AuditOperationType(r["operation_type"]), document_hash=r["document_hash"],
        datasets=list(r["datasets"]), grants=list(r["grants"]),
        rows=[DatasetRowCount(dataset=k, rows=v) for k, v in sorted(rows.items())],
        masked_fields=list(r["masked_fields"]), denied_datasets=list(r["denied"]),
        outcome=AuditOutcome(r["outcome"]), error_codes=list(r["error_codes"]), trace_id=r["trace_id"],
        prev_hash=r["prev_hash"], hash=r["hash"])


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The audit log, oldest first: every entry for admins, your department's otherwise.")
    async def audit_log(self, info: strawberry.Info, filter: AuditFilter | None = None, first: int | None = None,
                        after: str | None = None) -> AuditEntryConnection | None:
        ctx = info.context
        consumer = getattr(ctx, "consumer", None)
        if consumer is None:
            raise Unauthenticated("authentication required")
        f = filter or AuditFilter()
        department = f.department
        if not consumer.is_admin:
            if department is not None and department != consumer.department:
                raise Forbidden(f"only admins may read other departments' audit entries; {consumer.department} "
                                f"reads its own", dataset=AUDIT_DATASET)
            department = consumer.department
        page = ctx.page(first, after)
        rows = await ctx.db.hub.fetch("hub/audit_page", page.after_id, page.fetch, department, f.consumer_id,
                                      f.outcome.value if f.outcome else None, f.operation_name, f.since, f.before)
        connection = build_connection(AuditEntryConnection, rows, page, audit_entry_from_row)
        access = getattr(ctx, "access", None)
        if access is not None:  # the audit records this read like any dataset's
            access.datasets_read.add(AUDIT_DATASET)
            if connection.nodes:
                access.rows[AUDIT_DATASET] = access.rows.get(AUDIT_DATASET, 0) + len(connection.nodes)
        return connection
