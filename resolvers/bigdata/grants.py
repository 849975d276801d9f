"""The grant workflow: a consumer requests access, the owning department reviews, grants expire or
are revoked. Each side sees its own requests and grants; admins (the big-data bureau) see all."""

from __future__ import annotations

import datetime
from enum import Enum
from typing import Any

import strawberry

from hub.api.pagination import Connection, build_connection
from hub.errors import BadUserInput, Conflict, Forbidden, NotFound, Unauthenticated
from hub.governance.audit_outbox import stage

OVERDUE_WORKING_DAYS = 10


@strawberry.enum
class AccessRequestStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"


@strawberry.enum
class ReviewDecision(Enum):
    APPROVE = "APPROVE"
    REFUSE = "REFUSE"


@strawberry.type(description="A request for access to a dataset, reviewed by the dataset's owning department.")
class AccessRequest:
    id: int
    consumer_id: int
    department: str = strawberry.field(description="The requesting department.")
    dataset: str
    owner: str = strawberry.field(description="The department that owns the dataset and reviews the request.")
    fields: list[str]
    purpose: str
    until: datetime.date
    status: AccessRequestStatus
    reason: str | None
    requested_at: datetime.datetime
    reviewed_at: datetime.datetime | None
    grant_id: int | None
    working_days_pending: int
    overdue: bool = strawberry.field(description=f"Still pending after {OVERDUE_WORKING_DAYS} working days.")


@strawberry.type(description="Access granted to a department on a dataset, until it expires or is revoked.")
class Grant:
    id: int
    request_id: int
    department: str = strawberry.field(description="The grantee.")
    dataset: str
    owner: str
    fields: list[str] = strawberry.field(description="Personal fields the grantee may read unmasked.")
    granted_at: datetime.datetime
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    active: bool


@strawberry.type
class AccessRequestConnection(Connection[AccessRequest]):
    pass


@strawberry.type
class GrantConnection(Connection[Grant]):
    pass


def _request(r) -> AccessRequest:
    pending = r["status"] == "PENDING"
    return AccessRequest(
        id=r["id"], consumer_id=r["consumer_id"], department=r["department"], dataset=r["dataset"], owner=r["owner"],
        fields=list(r["fields"]), purpose=r["purpose"], until=r["until"], status=AccessRequestStatus(r["status"]),
        reason=r["reason"], requested_at=r["requested_at"], reviewed_at=r["reviewed_at"], grant_id=r["grant_id"],
        working_days_pending=r["working_days_pending"] if pending else 0,
        overdue=pending and r["working_days_pending"] > OVERDUE_WORKING_DAYS)


def _grant(r) -> Grant:
    now = datetime.datetime.now(datetime.timezone.utc)
    return Grant(id=r["id"], request_id=r["request_id"], department=r["department"], dataset=r["dataset"],
                 owner=r["owner"], fields=list(r["fields"]), granted_at=r["granted_at"], expires_at=r["expires_at"],
                 revoked_at=r["revoked_at"], active=r["revoked_at"] is None and r["expires_at"] > now)


def _consumer(info: strawberry.Info):
    consumer = info.context.consumer
    if consumer is None:
        raise Unauthenticated("authentication required")
    return consumer


def _a_side(consumer: Any, requester: str) -> bool:
    """May ``consumer`` know that a request or grant of ``requester``'s exists, and for which dataset? The requesting
    department and admins list it (``accessRequests``, ``grants``); the owner is checked by the caller. Anyone else
    is answered as for an id that does not exist (``_no_request``, ``_no_grant``): a refusal differing
    from that answer would tell a department enumerating ids which ids are requests and grants of others, and naming
    the dataset which datasets were requested and granted."""
    return consumer.department == requester or consumer.is_admin


def _no_request(id: int) -> NotFound:
    """The one answer for a request id that does not exist and for another pair's request (``_a_side``)."""
    return NotFound(f"no access request {id}")


def _no_grant(id: int) -> NotFound:
    """The one answer for a grant id that does not exist and for another pair's grant (``_a_side``)."""
    return NotFound(f"no grant {id}")


@strawberry.type
class GrantQuery:
    @strawberry.field(description="Access requests your department made or must review (admins: all).")
    async def access_requests(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                              status: AccessRequestStatus | None = None) -> AccessRequestConnection:
        consumer = _consumer(info)
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.hub.fetch("hub/access_requests_page", page.after_id, page.fetch,
                                      None if consumer.is_admin else consumer.department,
                                      status.value if status else None)
        return build_connection(AccessRequestConnection, rows, page, _request)

    @strawberry.field(description="Grants your department holds or has given (admins: all).")
    async def grants(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                     active: bool | None = None) -> GrantConnection:
        consumer = _consumer(info)
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.hub.fetch("hub/grants_page", page.after_id, page.fetch,
                                      None if consumer.is_admin else consumer.department, active)
        return build_connection(GrantConnection, rows, page, _grant)


@strawberry.type
class GrantMutation:
    @strawberry.mutation(description="Ask a dataset's owning department for access. `fields` names personal "
                                     "fields to be read unmasked; `until` is the last day access is needed.")
    async def request_access(self, info: strawberry.Info, dataset: str, purpose: str, until: datetime.date,
                             fields: list[str] | None = None) -> AccessRequest:
        consumer = _consumer(info)
        ctx = info.context
        d = ctx.access.catalog.datasets.get(dataset)
        if d is None:
            raise BadUserInput(f"unknown dataset {dataset!r}; see the catalog query", argument="dataset")
        if d.department == consumer.department:
            raise BadUserInput(f"{dataset} belongs to {d.department}: the owner needs no grant", argument="dataset")
        if d.sharing_class == "NOT_SHARED":
            raise Forbidden(f"dataset {dataset} is NOT_SHARED and cannot be granted", dataset=dataset,
                            sharingClass=d.sharing_class)
        fields = sorted(set(fields or []))
        unknown = [f for f in fields if f not in d.personal]
        if unknown:
            raise BadUserInput(f"{', '.join(unknown)} not personal fields of {dataset} (personal: "
                               f"{', '.join(sorted(d.personal)) or 'none'})", argument="fields")
        if d.sharing_class == "UNCONDITIONAL" and not fields:
            raise BadUserInput(f"{dataset} is UNCONDITIONAL: it is readable without a grant; request personal "
                               "fields only", argument="fields")
        if len(purpose.strip()) < 5 or len(purpose) > 2000:
            raise BadUserInput("purpose must say why, in 5 to 2000 characters", argument="purpose")
        if until <= datetime.date.today():
            raise BadUserInput("until must be in the future", argument="until")
        async with ctx.db.hub.transaction() as tx:
            new_id = await tx.fetchval("hub/access_request_insert", consumer.id, consumer.department, dataset,
                                       fields, purpose.strip(), until)
            row = await tx.fetchrow("hub/access_request_by_id", new_id)
            await stage(tx, ctx)  # the audit outbox: the operation's entry goes with the write
        return _request(row)

    @strawberry.mutation(description="The owning department approves (with an expiry) or refuses (with a reason) "
                                     "a pending request.")
    async def review_access_request(self, info: strawberry.Info, id: int, decision: ReviewDecision,
                                    reason: str | None = None,
                                    expires_at: datetime.datetime | None = None) -> AccessRequest:
        consumer = _consumer(info)
        ctx = info.context
        request = await ctx.db.hub.fetchrow("hub/access_request_by_id", id)
        if request is None or (request["owner"] != consumer.department
                               and not _a_side(consumer, request["department"])):
            raise _no_request(id)  # another pair's request is answered as a missing one
        if request["owner"] != consumer.department:
            raise Forbidden(f"only {request['owner']}, the owner of {request['dataset']}, may review this request",
                            dataset=request["dataset"])
        if request["status"] != "PENDING":
            raise Conflict(f"access request {id} was already {request['status'].lower()}")
        reason = (reason or "").strip() or None
        if decision is ReviewDecision.REFUSE and reason is None:
            raise BadUserInput("a refusal needs a reason", argument="reason")
        now = datetime.datetime.now(datetime.timezone.utc)
        if decision is ReviewDecision.APPROVE:
            if expires_at is None:
                expires_at = datetime.datetime.combine(request["until"], datetime.time.max, datetime.timezone.utc)
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=datetime.timezone.utc)
            if expires_at <= now:
                raise BadUserInput("expiresAt must be in the future", argument="expiresAt")
        async with ctx.db.hub.transaction() as tx:
            status = "APPROVED" if decision is ReviewDecision.APPROVE else "REFUSED"
            if await tx.fetchval("hub/access_request_review", id, status, reason, consumer.id) is None:
                raise Conflict(f"access request {id} was reviewed concurrently")
            if decision is ReviewDecision.APPROVE:
                await tx.fetchval("hub/grant_insert", id, expires_at)
            row = await tx.fetchrow("hub/access_request_by_id", id)
            await stage(tx, ctx)  # the audit outbox: the operation's entry goes with the write
        info.context.request.app.state.policy.invalidate()
        return _request(row)

    @strawberry.mutation(description="Revoke a grant (the dataset's owning department, or an admin).")
    async def revoke_grant(self, info: strawberry.Info, id: int) -> Grant:
        consumer = _consumer(info)
        ctx = info.context
        grant = await ctx.db.hub.fetchrow("hub/grant_by_id", id)
        if grant is None or (grant["owner"] != consumer.department and not _a_side(consumer, grant["department"])):
            raise _no_grant(id)  # another pair's grant is answered as a missing one
        if grant["owner"] != consumer.department and not consumer.is_admin:
            raise Forbidden(f"only {grant['owner']} or an admin may revoke this grant", dataset=grant["dataset"])
        if grant["revoked_at"] is not None:
            raise Conflict(f"grant {id} was already revoked")
        async with ctx.db.hub.transaction() as tx:
            await tx.fetchval("hub/grant_revoke", id, consumer.id)
            await stage(tx, ctx)  # the audit outbox: the operation's entry goes with the write
        info.context.request.app.state.policy.invalidate()
        return _grant(await ctx.db.hub.fetchrow("hub/grant_by_id", id))
