"""The plan's indicators over GraphQL (issue 16): ``planIndicators`` for every authenticated department,
``planTargets``, and ``setPlanTarget`` for the bureau's admins (audited like every operation)."""

from __future__ import annotations

from typing import Any

import strawberry

from hub.errors import Forbidden, Unauthenticated
from hub.governance.audit_outbox import staging
from resolvers.analytics import plan as P
from resolvers.analytics.specs import AnalyticsRoot
from resolvers.analytics.figures import Reader
from resolvers.analytics.plan_types import PlanIndicator, PlanIndicatorKey, PlanTarget


def _consumer(info: strawberry.Info):  # noqa: ANN202 - hub.consumers.Consumer
    consumer = info.context.consumer
    if consumer is None:
        raise Unauthenticated("authentication required")
    return consumer


# The resolvers' bodies take the request Context, so that the compiled path for trusted documents answers through
# exactly the same code (resolvers.analytics.specs).

async def plan_indicators(ctx: Any, year: int) -> list[PlanIndicator]:
    consumer = ctx.consumer
    if consumer is None:
        raise Unauthenticated("authentication required")
    return await P.plan_indicators(ctx.db.hub, Reader(consumer.department), year)


PLAN_INDICATORS = AnalyticsRoot("planIndicators", resolve=plan_indicators)


@strawberry.type
class PlanQuery:
    @strawberry.field(description="Every indicator of the district plan in the year: target, measured value as of "
                                  "the year's end (cumulative), expected value on the linear trajectory from the "
                                  "base year, progress = measured / target and status (MET, ON_TRACK, BEHIND; none "
                                  "without a target). Teacher counts are perturbed for readers other than education.")
    async def plan_indicators(self, info: strawberry.Info, year: int) -> list[PlanIndicator]:
        return await plan_indicators(info.context, year)

    @strawberry.field(description="The plan's targets as the bureau keeps them, in the plan's order.")
    async def plan_targets(self, info: strawberry.Info) -> list[PlanTarget]:
        _consumer(info)
        return [P.target_from_row(r) for r in await info.context.db.hub.fetch("hub/plan_targets_list")]


@strawberry.type
class PlanMutation:
    @strawberry.mutation(description="Admins only: change a target of the plan (targetValue null: the plan gives no "
                                     "number, so the indicator shows its count and trend without a status). "
                                     "baseYear starts the trajectory the status is judged against.")
    async def set_plan_target(self, info: strawberry.Info, indicator: PlanIndicatorKey, target_value: float | None,
                              base_year: int, target_year: int) -> PlanTarget:
        consumer = _consumer(info)
        if not consumer.is_admin:
            raise Forbidden("only an admin of the big-data bureau may change the plan's targets")
        db = getattr(info.context.db, "primary", info.context.db)
        target = await P.set_target(db.hub, PlanIndicatorKey(indicator), target_value, base_year, target_year,
                                    updated_by=f"{consumer.department}: {consumer.name}", staged=staging(info.context))
        note_write = getattr(db, "note_write", None)
        if note_write is not None:
            note_write(consumer.id)
        return target
