"""Shared by the report and statistics tests: a statistics refresh of a database, and a report rebuilt from its JSON."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.db.pools import Databases
from hub.settings import Settings
from resolvers.analytics.report.build import Report
from resolvers.analytics.statistics import refresh_statistics


def refresh(settings: Settings) -> None:
    async def go() -> None:
        db = await Databases(settings, settings.database_url).open()
        try:
            await refresh_statistics(db)
        finally:
            await db.close()

    asyncio.run(go())


def report_of(document: dict[str, Any]) -> Any:
    d = document
    return Report(d["year"], d["figures"], d["status"], d["thresholds"], d["watermark"], d["versions"], d["version"],
                  d["publishedAt"], d["publishedBy"])
