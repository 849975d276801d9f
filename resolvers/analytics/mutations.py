"""analytics mutations: publishing and withdrawing the annual report (the big-data bureau's admins only; who may
still read a withdrawn version's figures is ``resolvers.analytics.report.withdrawn.may_read_figures``)."""

from __future__ import annotations

import strawberry

from hub.errors import Forbidden, Unauthenticated
from hub.governance.audit_outbox import staging
from resolvers.analytics.queries import published_report
from resolvers.analytics.report.build import publish, withdraw
from resolvers.analytics.types import PublishedReport


def _admin(info: strawberry.Info, action: str):
    consumer = info.context.consumer
    if consumer is None:
        raise Unauthenticated("authentication required")
    if not consumer.is_admin:
        raise Forbidden(f"only an admin of the big-data bureau may {action} a report")
    return consumer


@strawberry.type
class AnalyticsMutation:
    @strawberry.mutation(description="Admins only: freeze the year's report figures, as computed now from the latest "
                                     "statistics refresh, as its next numbered version (with the refresh's data "
                                     "watermark). Later data changes never alter a published version.")
    async def publish_report(self, info: strawberry.Info, year: int) -> PublishedReport:
        consumer = _admin(info, "publish")
        db = getattr(info.context.db, "primary", info.context.db)
        row = await publish(db.hub, info.context.settings, year, published_by=f"{consumer.department}: {consumer.name}",
                            staged=staging(info.context))
        note_write = getattr(db, "note_write", None)
        if note_write is not None:
            note_write(consumer.id)
        return published_report(row, consumer=consumer)

    @strawberry.mutation(description="Admins only: mark a published version withdrawn, with its reason (e.g. it "
                                     "was published before a disclosure-control fix). The version stays frozen, "
                                     "but its figures are no longer public: its URLs answer 410 Gone with the "
                                     "withdrawal and a link to the latest version not withdrawn to everyone but an "
                                     "admin (whose reads are audited); /reports/{year} no longer shows it. A "
                                     "withdrawal is never undone.")
    async def withdraw_report(self, info: strawberry.Info, year: int, version: int, reason: str) -> PublishedReport:
        consumer = _admin(info, "withdraw")
        db = getattr(info.context.db, "primary", info.context.db)
        await withdraw(db.hub, year, version, reason, withdrawn_by=f"{consumer.department}: {consumer.name}",
                       staged=staging(info.context))
        note_write = getattr(db, "note_write", None)
        if note_write is not None:
            note_write(consumer.id)
        rows = await db.hub.fetch("hub/stats_publications_list", year)
        (row,) = [r for r in rows if r["version"] == version]
        return published_report(row, consumer=consumer)
