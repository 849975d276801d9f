"""Root specs of the analytics fields for the compiled path of trusted documents (``hub.api.fastpath``): each
answers through the same function as the general path's resolver (``resolvers.analytics.queries``), so both
paths return the same figures, suppression included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from hub.api.specs import Root
from resolvers.analytics import queries as Q


@dataclass
class AnalyticsRoot(Root):
    """A root field answered by ``resolve(ctx, **arguments)``."""

    resolve: Callable[..., Awaitable[Any]] = None  # type: ignore[assignment]

    async def fetch(self, ctx: Any, args: dict[str, Any]) -> Any:
        return await self.resolve(ctx, **args)


SUPPLY_DEMAND = AnalyticsRoot("supplyDemand", resolve=Q.supply_demand)
SHORTAGE_OCCUPATIONS = AnalyticsRoot("shortageOccupations", resolve=Q.shortage_occupations)
TRAINING_CATALOG = AnalyticsRoot("trainingCatalog", resolve=Q.training_catalog)
MAJOR_INDUSTRY_MATCH = AnalyticsRoot("majorIndustryMatch", resolve=Q.major_industry_match)
MAJOR_WARNINGS = AnalyticsRoot("majorWarnings", resolve=Q.major_warnings)
