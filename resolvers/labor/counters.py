"""Maintained counters: the number of job postings per occupation (migration 0012).

Triggers on ``labor.job_postings`` append signed deltas to ``labor.occupation_posting_counts``; the
count of an occupation is the sum of its rows (``PostingCountByOccupationLoader``). Appending keeps
writers from waiting on each other, but the rows pile up, so each hub process folds them every
``HUB_COUNTERS_COMPACT_SECONDS`` (``compaction_loop``, started by the app's lifespan). Folding is one
statement that is safe beside writers and beside another process folding at the same time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.db.pools import Databases

log = logging.getLogger("hub.counters")

COMPACT_QUERY = "labor/posting_counts_compact"


async def compact(db: "Databases") -> int:
    """Fold each occupation's delta rows into one; returns the number of occupations folded.

    Not counted in ``Databases.stats`` (those counters pin the statements of GraphQL operations)."""
    status = await db.labor.execute(COMPACT_QUERY, counted=False)
    return int(status.split()[-1])


async def compaction_loop(db: "Databases", interval: float) -> None:
    """Compact every ``interval`` seconds until cancelled; a failure is logged and retried next time."""
    while True:
        await asyncio.sleep(interval)
        try:
            folded = await compact(db)
            if folded:
                log.debug("posting counters: folded the delta rows of %d occupations", folded)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - e.g. the database is restarting: retry at the next interval
            log.warning("posting counters: compaction failed; retrying in %.0f s", interval, exc_info=True)
