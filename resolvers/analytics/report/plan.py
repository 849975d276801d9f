"""The plan's indicators in the annual report (issue 16): their figures (the public view), the section's labels, its
bar chart of progress against target and its CSV rows. The page's template is ``report/plan.html.j2``.

A version published before this section existed has no ``planIndicators`` in its frozen figures: its page has no
such section and is otherwise rendered as before (``tests/statistics/test_reports.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from resolvers.analytics.figures import PUBLIC
from resolvers.analytics.plan import INDICATORS, plan_indicators
from resolvers.analytics.plan_types import PlanIndicatorKey
from resolvers.analytics.report.svg import Chart, bar_chart

if TYPE_CHECKING:
    from hub.db.pools import Department

KEY = "planIndicators"  # in a report's figures

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "h_plan": "十、规划目标监测",
        "plan_note": "按规划目标逐项监测（数值为截至当年年底的累计数）。进度 = 实际值 ÷ 目标值。判断：实际值达到目标为“已达标”；"
                     "未达到但不低于从基准年年底实际值到目标年目标值的线性进度为“进度正常”；否则为“进度滞后”（目标年已过仍未达标亦为"
                     "滞后）。规划未定量的指标只列数值和趋势。“双师型”教师比例由扰动后的教师人数计算。",
        "chart_plan": "规划指标完成进度（实际值 ÷ 目标值）", "axis_progress": "完成进度", "target_line": "目标",
        "indicator": "指标", "target": "目标", "by_year": "{year}年", "base": "基准", "measured": "实际值",
        "expected": "按进度应达", "progress": "进度", "status": "判断", "trend": "近年趋势", "no_target": "未定量",
        "status_MET": "已达标", "status_ON_TRACK": "进度正常", "status_BEHIND": "进度滞后",
    },
    "en": {
        "h_plan": "10. The plan's targets",
        "plan_note": "Each target of the plan (values are cumulative as of the year's end). Progress = measured ÷ target. "
                     "Status: met when the measured value reached the target; on track when it has not but is at or "
                     "above the straight line from the base year's value to the target in the target year; behind "
                     "otherwise (also when the target year has passed without the target met). Indicators the plan "
                     "gives no number for show their value and trend only. The dual-qualified share is computed from "
                     "the perturbed teacher counts.",
        "chart_plan": "Progress towards the plan's targets (measured ÷ target)", "axis_progress": "Progress",
        "target_line": "target",
        "indicator": "Indicator", "target": "Target", "by_year": "by {year}", "base": "Base", "measured": "Measured",
        "expected": "Expected", "progress": "Progress", "status": "Status", "trend": "Trend", "no_target": "no number",
        "status_MET": "Met", "status_ON_TRACK": "On track", "status_BEHIND": "Behind",
    },
}
TREND_YEARS = 5  # the years shown in the table's trend column


async def figures(hub: "Department", year: int) -> list[Any]:
    """The plan's indicators of ``year`` as the public sees them (teacher counts perturbed)."""
    return await plan_indicators(hub, PUBLIC, year)


def name(indicator: dict[str, Any], lang: str) -> str:
    return indicator["name"] if lang == "zh" else INDICATORS[PlanIndicatorKey(indicator["indicator"])][1]


def value(indicator: dict[str, Any], v: float | None) -> str:
    """A measured, expected or target value as shown: a whole number, or a percentage for a share."""
    if v is None:
        return "—"
    return f"{v * 100:.1f}%" if indicator["unit"] == "SHARE" else f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"


def chart(report: Any, lang: str) -> Chart | None:
    found = report.figures.get(KEY)
    if found is None:
        return None
    L = LABELS[lang]
    return bar_chart("chart-plan-progress", L["chart_plan"], [(name(i, lang), i["progress"]) for i in found],
                     value_format="{:.0%}", missing_label=L["no_target"], references=[(1.0, L["target_line"])],
                     value_title=L["axis_progress"], category_title=L["indicator"])


def csv_rows(figures: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    for i in figures.get(KEY, ()):
        for metric in ("targetValue", "targetYear", "baseYear", "baseValue", "measuredValue", "expectedValue",
                       "progress", "status"):
            yield ("plan", i["indicator"], i["name"], metric, i[metric], "")
