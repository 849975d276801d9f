"""Guarding the sync and ingest endpoints: sharing rules, masking and audit — the same as for GraphQL.

``authorize`` makes the GraphQL access decision (``hub.governance.access.Access.check``: owner, UNCONDITIONAL,
CONDITIONAL with a grant, NOT_SHARED) for a read, or "owning department or admin" for an ingest, on the
request's ``Access`` (``access_for``), whose ``maskers`` mask the personal columns (rows use column names, the catalog
camelCase field names: ``idNumber`` -> ``id_number``). ``audit`` writes one ``hub.audit_log`` entry per
request with ``hub.governance.audit.append`` (the app's group-commit writer).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from hub.errors import Forbidden, NotFound, Unauthenticated
from hub.governance.access import Access
from hub.governance.catalog import Dataset
from hub.governance.audit import AuditEntry, append, request_entry


async def access_for(conn: HTTPConnection, consumer: Any) -> Access:
    """The request's Access: the catalog and the consumer's active grants (also the audit's record of what
    was decided: ``datasets_read``, ``denied``, ``grants_used``, ``rows``, ``masked``)."""
    state = conn.app.state
    catalog = await state.policy.catalog()
    grants = await state.policy.grants(consumer.department) if consumer is not None else {}
    return Access(consumer, catalog, grants)


def authorize(access: Access, dataset: str, write: bool) -> Dataset:
    """The dataset, if this consumer may read it (``write``: ingest into it); NOT_FOUND, UNAUTHENTICATED or
    FORBIDDEN otherwise."""
    found = access.catalog.datasets.get(dataset)
    if found is None:
        raise NotFound(f"no dataset {dataset!r} in the catalog", dataset=dataset)
    consumer = access.consumer
    if consumer is None:
        raise Unauthenticated("authentication required")
    if write:
        if consumer.department != found.department and not consumer.is_admin:
            access.denied.add(found.name)
            raise Forbidden(f"only {found.department}, the owner of {found.name}, or an admin may ingest into it",
                            dataset=found.name)
        if access.allows(found) and access.maskers(found):
            # A writer who reads the dataset with PERSONAL fields masked would learn, from what it reads after its write
            # (the change feed's insert or update, a count), whether a record with the key it sent existed — a job
            # seeker's source id may be the person's identity number — and would overwrite a record it may not see.
            # A writer that reads it in clear (the owner, a grant naming those fields) or not at all may ingest.
            access.denied.add(found.name)
            raise Forbidden(f"{consumer.department} reads {found.name} with PERSONAL fields masked, so it may not "
                            "ingest into it: what it reads afterwards would tell whether a record with the key it sent "
                            "existed. Ingest with a grant naming those fields, or as a consumer without read access",
                            dataset=found.name)
        access.datasets_read.add(found.name)
    else:
        access.check(found)
    return found


def note_rows(access: Access, dataset: Dataset, rows: int) -> None:
    """Count rows handed out, and the personal fields masked in them, for the audit entry."""
    if rows <= 0:
        return
    access.rows[dataset.name] = access.rows.get(dataset.name, 0) + rows
    access.note_masked(dataset, access.maskers(dataset))


def entry_of(conn: HTTPConnection, consumer: Any, access: Access | None, operation: str, kind: str,
             codes: list[str]) -> AuditEntry:
    """The audit entry of a sync/ingest request, from what its ``access`` recorded."""
    return request_entry(conn, consumer, operation, kind, codes) if access is None else request_entry(
        conn, consumer, operation, kind, codes, datasets=access.datasets_read, grants=access.grants_used,
        rows=access.rows, masked=access.masked, denied=access.denied)


async def audit(conn: HTTPConnection, consumer: Any, access: Access | None, operation: str, kind: str,
                codes: list[str]) -> None:
    """One audit entry for a sync/ingest request (raises when it cannot be written: callers fail closed)."""
    await append(conn.app.state.db, entry_of(conn, consumer, access, operation, kind, codes))  # the group commit
