"""The sync machinery a running hub owns: the change notifier and the retention task (started and stopped
by the app's lifespan, ``hub.app.create_app``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.sync.feed import retention_loop
from hub.sync.ingest import cancel_refresh
from hub.sync.notify import ChangeNotifier

if TYPE_CHECKING:
    from hub.db.pools import Databases
    from hub.settings import Settings


@dataclass
class SyncRuntime:
    db: "Databases"
    notifier: ChangeNotifier
    retention: asyncio.Task

    @classmethod
    async def start(cls, db: "Databases", settings: "Settings") -> "SyncRuntime":
        notifier = ChangeNotifier(db)
        await notifier.start()
        retention = asyncio.ensure_future(retention_loop(
            db, dt.timedelta(hours=settings.sync_retention_hours), settings.sync_prune_interval_seconds))
        return cls(db, notifier, retention)

    async def stop(self) -> None:
        self.retention.cancel()
        with contextlib.suppress(BaseException):
            await self.retention
        await self.notifier.stop()
        await cancel_refresh(self.db)  # a statistics refresh started by an ingest
