"""What analytics adds to the hub (read by ``hub.assembly``): the published statistics' fields, the annual report's
routes (``/reports/...``), the ``hub stats`` and ``hub report`` commands, and the statistics refresh after data
was loaded (``hub seed``) or ingested (``/ingest``, the sync mutations)."""

import contextlib
from typing import Any

import asyncpg

from hub.assembly import Contribution
from resolvers.analytics.cli import report_app, stats_app
from resolvers.analytics.mutations import AnalyticsMutation
from resolvers.analytics.queries import AnalyticsQuery
from resolvers.analytics.report.routes import routes
from resolvers.analytics.statistics import latest_refresh, refresh_statistics


async def refresh_if_missing(db: Any) -> None:
    """Demo data loaded before the statistics existed: compute them once."""
    with contextlib.suppress(asyncpg.UndefinedTableError):  # not migrated yet: nothing to refresh
        if await latest_refresh(db.hub) is None:
            await refresh_statistics(db)


CONTRIBUTION = Contribution(
    query=(AnalyticsQuery,),
    mutation=(AnalyticsMutation,),
    routes=routes,
    commands=(("stats", stats_app), ("report", report_app)),
    refresh=refresh_statistics,
    refresh_if_missing=refresh_if_missing,
)
