"""The annual report's forecast and enrollment-guidance figures (issue 16), as the public sees them: the forecasts'
backtest, the likely shortage occupations of the 4 quarters after the data, and the city-wide enrollment guidance
of the year. ``hub.report.build_figures`` adds them under ``forecast`` and ``enrollmentGuidance``; versions
published before them have neither key and render as they were published."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.db import Department
    from hub.settings import Settings

TOP_LIKELY = 20


async def figures(hub: "Department", settings: "Settings", year: int) -> dict[str, Any]:
    from resolvers.analytics import figures as F
    from resolvers.analytics.forecasts import ForecastMeasure, forecast_accuracy_rows, likely_shortages
    from resolvers.analytics.guidance import enrollment_guidance

    th = F.Thresholds.from_settings(settings)
    accuracy = {m.value.lower(): await forecast_accuracy_rows(hub, m) for m in ForecastMeasure}
    return {
        "forecast": {"accuracy": {k: v.overall for k, v in accuracy.items()},
                     "likelyShortages": await likely_shortages(hub, th, TOP_LIKELY)},
        "enrollmentGuidance": await enrollment_guidance(hub, th, F.PUBLIC, year, None,
                                                        settings.stats_duplicate_schools, settings.stats_growth),
    }
