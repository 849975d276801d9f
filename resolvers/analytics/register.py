"""What analytics adds to the hub (read by ``hub.assembly``): the published statistics' fields, the annual report's
routes (``/reports/...``) and the statistics refresh after data
was loaded (``hub seed``) or ingested (``/ingest``, the sync mutations). Its ``hub stats`` and ``hub report``
commands are ``COMMANDS`` of ``resolvers/analytics/cli.py`` (``hub.assembly.commands``)."""

import contextlib
from typing import Any

import asyncpg

from hub.assembly import Contribution
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
    refresh=refresh_statistics,
    refresh_if_missing=refresh_if_missing,
)
