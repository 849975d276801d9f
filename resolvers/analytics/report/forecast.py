"""The annual report's forecast and enrollment-guidance figures (issue 16), as the public sees them: the forecasts'
backtest, the likely shortage occupations of the 4 quarters after the data, and the city-wide enrollment guidance
of the year. ``resolvers.analytics.report.build.build_figures`` adds them under ``forecast`` and ``enrollmentGuidance``; versions
published before them have neither key and render as they were published."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from resolvers.analytics import figures as F
from resolvers.analytics.forecasts import ForecastMeasure, forecast_accuracy_rows, likely_shortages
from resolvers.analytics.guidance import enrollment_guidance

if TYPE_CHECKING:
    from hub.db import Department
    from hub.settings import Settings

TOP_LIKELY = 20


async def figures(hub: "Department", settings: "Settings", year: int) -> dict[str, Any]:
    th = F.Thresholds.from_settings(settings)
    accuracy = {m.value.lower(): await forecast_accuracy_rows(hub, m) for m in ForecastMeasure}
    return {
        "forecast": {"accuracy": {k: v.overall for k, v in accuracy.items()},
                     "likelyShortages": await likely_shortages(hub, th, TOP_LIKELY)},
        "enrollmentGuidance": await enrollment_guidance(hub, th, F.PUBLIC, year, None,
                                                        settings.stats_duplicate_schools, settings.stats_growth),
    }


def csv_rows(f: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The sections' rows of the report's CSV (section, key, name, metric, value, suppressed)."""
    for measure, a in f["forecast"]["accuracy"].items():
        for metric in ("mase", "maseSeasonalNaive", "points"):
            yield ("forecast_accuracy", measure, "", metric, a[metric] if a else None, "")
    for s in f["forecast"]["likelyShortages"]:
        for metric in ("rank", "demand", "supply", "ratio", "quartersMet", "onOfficialList"):
            yield ("likely_shortage", s["occupationCode"], s["occupationName"], metric, s[metric], "")
    g = f["enrollmentGuidance"]
    for e in g["expand"]:
        for metric, value in (("index", e["match"]["index"]), ("lastYearDemand", e["demand"]["lastYearDemand"]),
                              ("forecastDemand", e["demand"]["forecastDemand"]), ("growth", e["demand"]["growth"]),
                              ("schools", "; ".join(x["code"] for x in e["schools"]))):
            yield ("guidance_expand", e["majorCode"], e["majorName"], metric, value, "")
    for o in g["open"]:
        yield ("guidance_open", o["majorCode"], o["majorName"], "shortageOccupations",
               "; ".join(x["code"] for x in o["shortageOccupations"]), "")
        yield ("guidance_open", o["majorCode"], o["majorName"], "growth", o["demand"] and o["demand"]["growth"], "")
    for d in g["duplicated"]:
        for metric, value in (("schoolCount", d["schoolCount"]), ("index", d["match"]["index"]),
                              ("schools", "; ".join(x["code"] for x in d["schools"]))):
            yield ("guidance_duplicated", d["majorCode"], d["majorName"], metric, value, "")
