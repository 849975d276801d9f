"""analytics mutations: publishing the annual report (the big-data bureau's admins only)."""

from __future__ import annotations

import strawberry

from hub.errors import Forbidden, Unauthenticated
from resolvers.analytics.queries import published_report
from resolvers.analytics.types import PublishedReport


@strawberry.type
class AnalyticsMutation:
    @strawberry.mutation(description="Admins only: freeze the year's report figures, as computed now from the latest "
                                     "statistics refresh, as its next numbered version (with the refresh's data "
                                     "watermark). Later data changes never alter a published version.")
    async def publish_report(self, info: strawberry.Info, year: int) -> PublishedReport:
        from hub.report import publish

        consumer = info.context.consumer
        if consumer is None:
            raise Unauthenticated("authentication required")
        if not consumer.is_admin:
            raise Forbidden("only an admin of the big-data bureau may publish a report")
        db = getattr(info.context.db, "primary", info.context.db)
        row = await publish(db.hub, info.context.settings, year, published_by=f"{consumer.department}: {consumer.name}")
        note_write = getattr(db, "note_write", None)
        if note_write is not None:
            note_write(consumer.id)
        return published_report(row)
