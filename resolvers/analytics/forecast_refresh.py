"""The forecasts' part of the statistics refresh (``resolvers.analytics.statistics.refresh_statistics`` calls
``refresh`` inside its transaction, after ``hub.stat_supply_demand`` and its perturbed supply are built): reads the quarterly series,
fits them (``resolvers.analytics.forecast``, in a worker thread so the event loop keeps serving) and replaces
``hub.stat_forecasts``, ``hub.stat_forecast_accuracy`` (``sql/migrations/0023_forecasts.sql``) and
``hub.stat_industry_forecasts`` (demand per industry class for the enrollment guidance, ``0025``).

Series (docs/statistics.md, "Forecasts"): per occupation city-wide, every occupation with data; per occupation
and district, those with at least ``MIN_QUARTERS_WITH_DEMAND`` quarters with demand (a rule on demand, which is
not a person count, so which series exist tells nothing about seekers). Each is fitted three times: demand, the
exact supply (shown to labor only) and the supply non-owners are shown (the perturbed quarterly values).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import numpy as np

from resolvers.analytics import forecast as F

if TYPE_CHECKING:
    from hub.db import Department

STEPS = 8  # quarters stored; demandForecast's horizon is at most this
MEASURES = ("demand", "supply", "public_supply")
COLUMNS = ("occupation_code", "district_code", "step", "year", "quarter", "history",
           *(f"{m}{s}" for m in MEASURES for s in ("", "_lo80", "_hi80", "_lo95", "_hi95")))
INDUSTRY_COLUMNS = ("industry_code", "district_code", "last_year_demand", "forecast_demand")
ACCURACY_COLUMNS = ("measure", "occupation_code", "mase", "mase_naive", "origins", "points")


def _series(rows: list[Any], first_q: int, last_q: int) -> dict[tuple[str, str | None], np.ndarray]:
    """(occupation, district or None) -> array of (demand, supply, public supply) per quarter index."""
    n = last_q - first_q + 1
    out: dict[tuple[str, str | None], np.ndarray] = {}
    for r in rows:
        key = (r["occupation_code"], r["district_code"])
        arr = out.get(key)
        if arr is None:
            arr = out[key] = np.zeros((3, n))
        arr[:, r["q"] - first_q] = (r["demand"], r["supply"], r["public_supply"])
    return out


def _industry_series(rows: list[Any], first_q: int, last_q: int) -> dict[tuple[str, str | None], np.ndarray]:
    out: dict[tuple[str, str | None], np.ndarray] = {}
    for r in rows:
        arr = out.setdefault((r["industry_code"], r["district_code"]), np.zeros(last_q - first_q + 1))
        arr[r["q"] - first_q] = r["demand"]
    return out


def _enough(key: tuple[str, str | None], demand: np.ndarray) -> bool:
    """City-wide series with demand in at least one quarter; a district's with at least MIN_QUARTERS_WITH_DEMAND
    quarters with demand. A rule on demand only: an occupation with seekers and never any demand has no series, else
    its series would tell a non-owner of seekers that ``supplyDemand`` shows as 0 (tests/test_plan_leaks.py)."""
    if key[1] is None:
        return bool((demand > 0).any())
    return int((demand > 0).sum()) >= F.MIN_QUARTERS_WITH_DEMAND


def compute(rows: list[Any], industry_rows: list[Any], first_q: int,
            last_q: int) -> tuple[list[tuple], list[tuple], list[tuple], dict[str, Any]]:
    """The forecast rows, the accuracy rows, the industry rows and a summary (CPU-bound: run in a thread)."""
    series = _series(rows, first_q, last_q)
    chosen = {k: v for k, v in series.items() if _enough(k, v[0])}
    industries = {k: v for k, v in _industry_series(industry_rows, first_q, last_q).items() if _enough(k, v)}
    fits = F.forecast({(k, m): v[i] for k, v in chosen.items() for i, m in enumerate(MEASURES)}, STEPS)
    # industries: the point forecast of the next 4 quarters only (the guidance compares sums; intervals would double
    # the cost of these fits, statsforecast computing them series by series)
    industry_fits = F.point_forecast(industries, 4)
    industry_out = [(*key, float(v[-4:].sum()), _round(industry_fits[key].sum())) for key, v in industries.items()]
    history = last_q - first_q + 1
    out = []
    for (occupation, district), v in chosen.items():
        for step in range(STEPS):
            q = last_q + 1 + step
            values = []
            for m in MEASURES:
                f = fits[((occupation, district), m)]
                values += [_round(f.point[step]), _round(f.lo[80][step]), _round(f.hi[80][step]),
                           _round(f.lo[95][step]), _round(f.hi[95][step])]
            out.append((occupation, district, step + 1, q // 4, q % 4 + 1, history, *values))
    # the backtest: city-wide series with enough history; supply on the published values
    eligible = {k[0]: v for k, v in chosen.items()
                if k[1] is None and int((v[0] > 0).sum()) >= F.MIN_QUARTERS_WITH_DEMAND}
    accuracy = []
    summary: dict[str, Any] = {"firstQuarter": _label(first_q), "lastCompleteQuarter": _label(last_q),
                               "series": len(chosen), "districtSeries": sum(1 for k in chosen if k[1])}
    for measure, index in (("DEMAND", 0), ("SUPPLY", 2)):
        found = F.backtest({occ: v[index] for occ, v in eligible.items()})
        for occ, a in sorted(found.items()):
            accuracy.append((measure, occ, a.mase, a.mase_naive, a.origins, a.points))
        total = F.overall(found)
        if total is not None:
            accuracy.append((measure, None, total.mase, total.mase_naive, total.origins, total.points))
            summary[measure.lower() + "Mase"] = round(total.mase, 4)
            summary[measure.lower() + "MaseSeasonalNaive"] = round(total.mase_naive, 4)
    summary["industrySeries"] = len(industries)
    return out, accuracy, industry_out, summary


def _round(x: float) -> float:
    """Forecasts are stored to 2 decimals (they are counts; more digits would be noise of the optimiser)."""
    return round(float(x), 2)


def _label(q: int) -> str:
    return f"{q // 4}Q{q % 4 + 1}"


async def refresh(hub: "Department", conn: Any, horizon_year: int) -> dict[str, Any]:
    """Replace the forecast tables (inside the caller's transaction on ``conn``); returns a summary for the
    refresh's watermark. ``horizon_year``: labor's horizon (the last year it registered postings or seekers):
    later quarters hold only postings and seekers carried over, never complete data."""
    await hub.execute("hub/stats_forecast_clear")
    span = await hub.fetchrow("hub/stats_forecast_span", horizon_year)
    if span is None or span["first_q"] is None or span["last_q"] < span["first_q"]:
        return {"series": 0}
    rows = await hub.fetch("hub/stats_forecast_series", span["last_q"])
    industry_rows = await hub.fetch("hub/stats_industry_series", span["last_q"])
    out, accuracy, industries, summary = await asyncio.to_thread(compute, rows, industry_rows, span["first_q"],
                                                                 span["last_q"])
    await conn.copy_records_to_table("stat_forecasts", schema_name="hub", columns=list(COLUMNS), records=out)
    await conn.copy_records_to_table("stat_forecast_accuracy", schema_name="hub", columns=list(ACCURACY_COLUMNS),
                                     records=accuracy)
    await conn.copy_records_to_table("stat_industry_forecasts", schema_name="hub", columns=list(INDUSTRY_COLUMNS),
                                     records=industries)
    return summary
