"""The annual report as one self-contained HTML page (``GET /reports/{year}``, ``hub report YEAR``).

Chinese by default — the language the report is published in — with English labels for ``lang="en"``;
occupation, industry, major, school and district names are shown as they are in the data. No script, no
external resource (a Content-Security-Policy says so): inline CSS and server-drawn SVG charts
(``resolvers.analytics.report.svg``). Withheld small cells show as ``*``, figures that do not exist (a ratio without
seekers) as ``—``.

Where the page's links go is a ``Links``: ``served_links`` for the page as the hub serves it (paths on the
hub), ``file_links`` for a page written to a file (``resolvers.analytics.report.files``: the CSV, JSON and other-language page
written next to it, other versions on the hub only when its URL is known). The page says when the year is not
complete (``covered_quarter``), and its stylesheet has a print part for an A4 document ("Save as PDF").
``render_notice`` is the page of a withdrawn version for those who may not read its figures (``withdrawn.html.j2``,
from the notice alone).

The markup is Jinja2 templates shipped with the package (``resolvers/analytics/templates/report/``:
``page.html.j2``, the charts in ``charts.html.j2``, the parts it shares with ``withdrawn.html.j2`` in
``common.html.j2``, ``report.css``) rendered with autoescape on: every name from the data, every
label and every chart text is escaped by the template engine. This module only supplies the values and the
number formatting; it never builds markup itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension

from resolvers.analytics.report import plan as report_plan
from resolvers.analytics.report.labels import LABELS, LEVELS, QUARTERS
from resolvers.analytics.report.svg import Chart, bar_chart, line_chart

if TYPE_CHECKING:
    from resolvers.analytics.report.build import Report
    from resolvers.analytics.report.withdrawn import Notice

LANGUAGES = ("zh", "en")
MISSING, WITHHELD = "—", "*"
PAGE = "report/page.html.j2"
NOTICE = "report/withdrawn.html.j2"


class CompactLines(Extension):
    """Lets the ``.j2`` templates be written one element per line without putting line breaks into the page:
    a line break and the next line's indentation are dropped before a tag (``<``) or a template tag (``{``),
    and become one space elsewhere (an attribute or a text continued on the next line). Jinja2's own
    whitespace control (``trim_blocks``, ``{%-``) handles template tags only, not the markup between them;
    this is the smallest rule that does (hand-written: a preprocessing step of a few lines, no library does
    just this)."""

    _BEFORE_TAG = re.compile(r"\n\s*(?=[<{])")
    _CONTINUED = re.compile(r"\n\s*")

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if not (name or "").endswith(".j2"):
            return source  # e.g. the stylesheet, included as it is
        return self._CONTINUED.sub(" ", self._BEFORE_TAG.sub("", source.strip()))


def num(value: Any, suppressed: bool = False, digits: int | None = None, percent: bool = False) -> str:
    """A figure as shown: ``*`` withheld, ``—`` missing, a percentage, fixed digits or thousands separators."""
    if value is None:
        return WITHHELD if suppressed else MISSING
    if percent:
        return f"{value * 100:.1f}%"
    if digits is not None:
        return f"{value:.{digits}f}"
    return f"{value:,}"


def time(value: Any) -> str:
    """A timestamp (datetime or ISO text) as ``YYYY-MM-DD HH:MM UTC``."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return f"{value:%Y-%m-%d %H:%M} UTC"


def link(path: str, **params: Any) -> str:
    """``path`` with the query of the ``params`` that are not None (the template escapes it)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{path}?{query}" if query else path


@dataclasses.dataclass(frozen=True)
class Links:
    """The targets of the page's links; None shows the text without a link (nothing to point to)."""

    other_language: str | None
    csv: str | None
    json: str | None
    versions: dict[int, str | None]  # each published version of the year
    latest: str | None = None  # the year's report as it stands (the latest version not withdrawn, or the draft)


def other_language(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def served_links(report: "Report", lang: str, base: str = "") -> Links:
    """Links to the hub's own ``/reports/{year}`` pages: root-relative as served, absolute under ``base`` (the
    hub's URL) from a file."""
    path = f"{base}/reports/{report.year}"
    keep = {"version": None if report.draft else report.version, "draft": 1 if report.draft else None}
    other = other_language(lang)
    return Links(other_language=link(path, lang=other if other != "zh" else None, **keep),
                 csv=link(f"{path}.csv", **keep), json=link(f"{path}.json", **keep),
                 versions={v["version"]: link(path, version=v["version"], lang=lang if lang != "zh" else None)
                           for v in report.versions},
                 latest=link(path, lang=lang if lang != "zh" else None))


def file_links(report: "Report", lang: str, *, own: str, other_language_page: str, csv: str, json: str,
               hub_url: str | None = None) -> Links:
    """Links of a page written to the file ``own``: relative to the files written beside it, the page's own
    version to itself, other versions to the hub at ``hub_url`` (none without it: a file cannot reach them)."""
    hub = served_links(report, lang, hub_url.rstrip("/")) if hub_url else None
    versions = {v: (own if v == report.version else hub.versions[v] if hub else None)
                for v in (row["version"] for row in report.versions)}
    return Links(other_language=other_language_page, csv=csv, json=json, versions=versions,
                 latest=hub.latest if hub else None)


def covered_quarter(report: "Report") -> int:
    """The last quarter of the report's year that its figures cover: 4 for a complete year, 0 when none.

    The figures cover the quarters with data (any demand, supply or withheld cell), up to the quarter of the
    statistics refresh they come from (a quarter that had not begun has no data yet, whatever an open posting
    counts in); a frozen version is judged by its own refresh, so its page never changes."""
    with_data = [q["quarter"] for q in report.figures["quarters"] if q["demand"] or q["supply"] or q["suppressed"]]
    last = max(with_data, default=0)
    refreshed = (report.watermark or {}).get("refreshedAt")
    as_of = dt.datetime.fromisoformat(refreshed).date() if refreshed else dt.date.today()
    if as_of.year < report.year:
        return 0
    if as_of.year == report.year:
        return min(last, (as_of.month - 1) // 3 + 1)
    return last


ENVIRONMENT = Environment(loader=PackageLoader("resolvers.analytics", "templates"), autoescape=True, undefined=StrictUndefined,
                          extensions=[CompactLines])
ENVIRONMENT.globals.update(time=time, withheld=WITHHELD, missing=MISSING)
ENVIRONMENT.filters["num"] = num  # {{ value | num(suppressed, digits, percent=...) }}


def _charts(report: "Report", lang: str) -> dict[str, Chart]:
    L, f, year, th = LABELS[lang], report.figures, report.year, report.thresholds
    shortage_ratio = th.get("shortageRatio", 1.5)
    return {
        "quarterly_chart": line_chart(
            "chart-quarterly-ratio", L["chart_quarterly"].format(year=year), QUARTERS[lang],
            [(str(year), [q["ratio"] for q in f["quarters"]]),
             (str(year - 1), [q["ratio"] for q in f["previousQuarters"]])],
            references=[(shortage_ratio, L["shortage_line"].format(ratio=shortage_ratio)), (1.0, "1.0")],
            value_title=L["axis_ratio"], category_title=L["axis_quarter"]),
        "shortage_chart": bar_chart(
            "chart-shortage", L["chart_shortage"],
            [(s["occupationName"] or s["occupationCode"], s["gap"]) for s in f["shortage"]],
            value_format="{:,.0f}", missing_label=WITHHELD, value_title=L["axis_gap"], category_title=L["occupation"]),
        "skill_chart": bar_chart(
            "chart-skill-level", L["chart_skill"],
            [(LEVELS[lang].get(r["skillLevel"], str(r["skillLevel"])), r["ratio"]) for r in f["bySkillLevel"]],
            missing_label=WITHHELD, value_title=L["axis_ratio"], category_title=L["skill_level"]),
        "district_chart": bar_chart(
            "chart-district", L["chart_district"],
            [(r["districtName"] or r["districtCode"], r["ratio"]) for r in f["byDistrict"]], missing_label=WITHHELD,
            value_title=L["axis_ratio"], category_title=L["district"]),
    }


def render(report: "Report", lang: str = "zh", links: Links | None = None) -> str:
    """The whole page of ``report`` in ``lang`` (zh or en), its links ``links`` (default: as the hub serves it)."""
    levels = LEVELS[lang]
    return ENVIRONMENT.get_template(PAGE).render(
        report=report, lang=lang, L=LABELS[lang], quarter_names=QUARTERS[lang],
        links=links or served_links(report, lang), covered=covered_quarter(report),
        level_name=lambda level: levels.get(level, str(level)), **_charts(report, lang), **_plan(report, lang))


def render_notice(notice: "Notice", lang: str = "zh") -> str:
    """The page of a withdrawn version for those who may not read its figures
    (``resolvers.analytics.report.withdrawn``): what was withdrawn, when and why, a link to its replacement (else to
    the year's report) and the year's versions. Rendered from the notice alone, so no figure can reach it."""
    path = f"/reports/{notice.year}"
    shown = lang if lang != "zh" else None
    other = other_language(lang)
    links = Links(other_language=link(path, lang=other if other != "zh" else None, version=notice.version),
                  csv=None, json=None,
                  versions={v["version"]: link(path, version=v["version"], lang=shown) for v in notice.versions},
                  latest=link(path, version=notice.replaced_by, lang=shown))
    return ENVIRONMENT.get_template(NOTICE).render(notice=notice, lang=lang, L=LABELS[lang], links=links)


def _plan(report: "Report", lang: str) -> dict[str, Any]:
    """What the plan's section (``report/plan.html.j2``, issue 16) needs."""
    return {"P": report_plan.LABELS[lang], "plan_chart": report_plan.chart(report, lang),
            "plan_name": lambda i: report_plan.name(i, lang), "plan_value": report_plan.value,
            "trend_years": report_plan.TREND_YEARS}
