"""The forecasts' root fields (issue 16; docs/statistics.md, "Forecasts"): ``demandForecast``,
``forecastAccuracy`` and ``likelyShortageOccupations``, read from the tables the statistics refresh fills
(``resolvers.analytics.forecast_refresh``), never fitted per request.

Disclosure control: supply forecasts are person counts. Labor (the seekers' owner) gets the forecast fitted on the
exact supply; every other reader gets the one fitted on the supply it is shown (the perturbed quarterly values the
cell-key method protects): a function of published figures only, so it pins nothing those figures do not
(docs/statistics.md). Demand is not a person count and is the same for everyone.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import strawberry

from hub.errors import BadUserInput
from resolvers.analytics import figures as F
from resolvers.analytics.queries import reader_of, thresholds_of

MAX_HORIZON = 8


@strawberry.type(description="A forecast quarter's point forecast and its 80 % and 95 % prediction intervals "
                             "(cut at 0: counts are never negative).")
class ForecastValue:
    point: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


@strawberry.type(description="Forecast demand and supply of one occupation (city-wide or in one district) for one "
                             "quarter after the latest complete quarter of data.")
class ForecastRow:
    year: int
    quarter: int
    step: int = strawberry.field(description="1: the first quarter after the data, 2: the next, ...")
    occupation_code: str
    occupation_name: str | None
    district_code: str | None = strawberry.field(description="Null: the whole city.")
    district_name: str | None
    history: int = strawberry.field(description="Quarters of data the models were fitted on.")
    demand: ForecastValue = strawberry.field(description="Σ headcount of postings (as supplyDemand's demand).")
    supply: ForecastValue = strawberry.field(description="Seekers (as supplyDemand's supply): fitted on the exact "
                                                         "supply for labor, on the perturbed supply for others.")
    perturbed: bool = strawberry.field(description="The supply forecast was fitted on the cell-key perturbed "
                                                   "supply (the reader does not own the seekers).")


@strawberry.enum(description="What a forecast is of.")
class ForecastMeasure(Enum):
    DEMAND = "DEMAND"
    SUPPLY = "SUPPLY"


@strawberry.type(description="Rolling-origin backtest of a forecast: mean absolute scaled error (MASE) of the model "
                             "and of the seasonal-naive forecast (same quarter last year) on the same origins.")
class ForecastAccuracyFigure:
    occupation_code: str | None = strawberry.field(description="Null: the overall figure (mean over occupations).")
    occupation_name: str | None
    mase: float
    mase_seasonal_naive: float
    relative: float | None = strawberry.field(description="mase / maseSeasonalNaive (below 1: the model is better).")
    beats_seasonal_naive: bool
    origins: int
    points: int = strawberry.field(description="Forecast quarters compared with what happened.")


@strawberry.type(description="How well the forecasts did on the history, overall and per occupation.")
class ForecastAccuracy:
    measure: ForecastMeasure
    overall: ForecastAccuracyFigure | None = strawberry.field(description="Null: no series long enough.")
    occupations: list[ForecastAccuracyFigure]


@strawberry.type(description="One forecast quarter of a likely shortage occupation (published supply).")
class ForecastQuarterRatio:
    year: int
    quarter: int
    demand: float
    supply: float
    ratio: float | None
    met: bool


@strawberry.type(description="An occupation whose forecast for the next 4 quarters meets the shortage rule (ratio and "
                             "demand thresholds of the official list, on forecast figures). A candidate, not the "
                             "official shortage list.")
class LikelyShortage:
    rank: int
    occupation_code: str
    occupation_name: str | None
    quarters_met: int
    demand: float
    supply: float
    ratio: float | None
    gap: float
    on_official_list: bool = strawberry.field(description="Also on the official list of the latest year of data.")
    quarters: list[ForecastQuarterRatio]


def _value(r: Any, prefix: str) -> ForecastValue:
    return ForecastValue(point=r[prefix], lo80=r[prefix + "_lo80"], hi80=r[prefix + "_hi80"], lo95=r[prefix + "_lo95"],
                         hi95=r[prefix + "_hi95"])


async def demand_forecast(ctx: Any, occupation_code: str | None = None, district: str | None = None,
                          horizon: int = 4) -> list[ForecastRow]:
    reader = reader_of(ctx)
    if not 1 <= horizon <= MAX_HORIZON:
        raise BadUserInput(f"horizon must be between 1 and {MAX_HORIZON}, got {horizon}", argument="horizon")
    exact = reader.sees_exact(F.SEEKERS_OWNER)
    rows = await ctx.db.hub.fetch("hub/stats_forecasts", occupation_code, district, horizon)
    return [ForecastRow(year=r["year"], quarter=r["quarter"], step=r["step"], occupation_code=r["occupation_code"],
                        occupation_name=r["occupation_name"], district_code=r["district_code"],
                        district_name=r["district_name"], history=r["history"], demand=_value(r, "demand"),
                        supply=_value(r, "supply" if exact else "public_supply"), perturbed=not exact)
            for r in rows]


def _accuracy(r: Any) -> ForecastAccuracyFigure:
    relative = r["mase"] / r["mase_naive"] if r["mase_naive"] else None
    return ForecastAccuracyFigure(occupation_code=r["occupation_code"], occupation_name=r["occupation_name"],
                                  mase=r["mase"], mase_seasonal_naive=r["mase_naive"], relative=relative,
                                  beats_seasonal_naive=r["mase"] < r["mase_naive"], origins=r["origins"],
                                  points=r["points"])


async def forecast_accuracy(ctx: Any, measure: ForecastMeasure = ForecastMeasure.DEMAND,
                            occupation_code: str | None = None) -> ForecastAccuracy:
    reader_of(ctx)
    measure = measure if isinstance(measure, ForecastMeasure) else ForecastMeasure(measure)
    return await forecast_accuracy_rows(ctx.db.hub, measure, occupation_code)


async def forecast_accuracy_rows(hub: Any, measure: ForecastMeasure,
                                 occupation_code: str | None = None) -> ForecastAccuracy:
    rows = await hub.fetch("hub/stats_forecast_accuracy", measure.value, occupation_code)
    overall = [_accuracy(r) for r in rows if r["occupation_code"] is None]
    return ForecastAccuracy(measure=measure, overall=overall[0] if overall else None,
                            occupations=[_accuracy(r) for r in rows if r["occupation_code"] is not None])


async def likely_shortages(hub: Any, th: F.Thresholds, limit: int | None = None) -> list[LikelyShortage]:
    if limit is not None and limit < 0:
        raise BadUserInput("limit must not be negative", argument="limit")
    rows = await hub.fetch("hub/stats_likely_shortages", float(th.shortage_ratio), th.shortage_quarters,
                           th.shortage_min_demand, limit)
    official: set[str] = set()
    if rows:
        first = json.loads(rows[0]["quarters"])[0]
        data_year = first["year"] if first["quarter"] > 1 else first["year"] - 1  # the latest complete quarter's
        official = set(await F.shortage_codes(hub, th, data_year))
    out = []
    for r in rows:
        quarters = [ForecastQuarterRatio(year=q["year"], quarter=q["quarter"], demand=q["demand"], supply=q["supply"],
                                         ratio=q["demand"] / q["supply"] if q["supply"] else None, met=q["met"])
                    for q in json.loads(r["quarters"])]
        out.append(LikelyShortage(rank=r["rank"], occupation_code=r["occupation_code"],
                                  occupation_name=r["occupation_name"], quarters_met=r["quarters_met"],
                                  demand=r["demand"], supply=r["supply"],
                                  ratio=r["demand"] / r["supply"] if r["supply"] else None,
                                  gap=r["demand"] - r["supply"], on_official_list=r["occupation_code"] in official,
                                  quarters=quarters))
    return out


async def likely_shortage_occupations(ctx: Any, limit: int | None = None) -> list[LikelyShortage]:
    reader_of(ctx)
    return await likely_shortages(ctx.db.hub, thresholds_of(ctx), limit)


@strawberry.type
class ForecastQuery:
    @strawberry.field(description="Forecast demand and supply for the `horizon` (1-8) quarters after the latest "
                                  "complete quarter of data, with 80 % and 95 % prediction intervals: per occupation "
                                  "city-wide (district null), or in a district for occupations with at least 8 "
                                  "quarters with demand there. Fitted by the statistics refresh (AutoETS).")
    async def demand_forecast(self, info: strawberry.Info, occupation_code: str | None = None,
                              district: str | None = None, horizon: int = 4) -> list[ForecastRow]:
        return await demand_forecast(info.context, occupation_code, district, horizon)

    @strawberry.field(description="The forecasts' rolling-origin backtest on the history: MASE of the model and of "
                                  "the seasonal-naive forecast, overall and per occupation (city-wide).")
    async def forecast_accuracy(self, info: strawberry.Info, measure: ForecastMeasure = ForecastMeasure.DEMAND,
                                occupation_code: str | None = None) -> ForecastAccuracy:
        return await forecast_accuracy(info.context, measure, occupation_code)

    @strawberry.field(description="Likely shortage next year: occupations whose city-wide forecast for the next 4 "
                                  "quarters meets the shortage rule (HUB_STATS_SHORTAGE_* on forecast figures, "
                                  "published supply). Candidates, separate from the official shortageOccupations.")
    async def likely_shortage_occupations(self, info: strawberry.Info,
                                          limit: int | None = None) -> list[LikelyShortage]:
        return await likely_shortage_occupations(info.context, limit)
