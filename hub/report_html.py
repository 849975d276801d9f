"""The annual report as one self-contained HTML page (``GET /reports/{year}``, ``hub report YEAR``).

Chinese by default — the language the report is published in — with English labels for ``lang="en"``;
occupation, industry, major, school and district names are shown as they are in the data. No script, no
external resource (a Content-Security-Policy says so): inline CSS and server-drawn SVG charts
(``hub.report_svg``). Withheld small cells show as ``*``, figures that do not exist (a ratio without
seekers) as ``—``.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import urlencode

from hub.report_labels import LABELS, LEVELS, QUARTERS
from hub.report_svg import bar_chart, line_chart

if TYPE_CHECKING:
    from hub.report import Report

LANGUAGES = ("zh", "en")
MISSING, WITHHELD = "—", "*"

CSS = """
body{font-family:'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',
sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1080px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:8px 0 4px}
h2{font-size:20px;margin:36px 0 8px;border-bottom:2px solid #1f6fb2;padding-bottom:4px}
.meta{color:#555;font-size:13px}.banner{padding:10px 14px;margin:14px 0;border-radius:4px;font-size:14px}
.banner.draft{background:#fff4e5;border:1px solid #e07b39;color:#8a4b12}
.banner.published{background:#eaf4ea;border:1px solid #3a9d5d;color:#1f5b33}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 4px}
th,td{border:1px solid #d9dde3;padding:4px 6px;text-align:right;vertical-align:top}td:first-child{white-space:nowrap}
th{background:#eef2f7;font-weight:600}td.t,th.t{text-align:left}
.tag{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;color:#fff}
.tag.shortage,.tag.RED,.tag.OVERSUPPLIED{background:#c0392b}.tag.YELLOW{background:#d4a017}
.tag.UNDERSUPPLIED{background:#1f6fb2}.tag.BALANCED{background:#3a9d5d}
.note{font-size:12px;color:#555}.chart{max-width:100%;height:auto;display:block;margin:8px 0}
nav a{margin-right:12px}footer{margin-top:36px;font-size:12px;color:#555}
"""


def _num(value: Any, suppressed: bool = False, digits: int | None = None, percent: bool = False) -> str:
    if value is None:
        return WITHHELD if suppressed else MISSING
    if percent:
        return f"{value * 100:.1f}%"
    if digits is not None:
        return f"{value:.{digits}f}"
    return f"{value:,}"


def _table(headers: Iterable[tuple[str, bool]], rows: Iterable[Iterable[tuple[str, bool]]],
           table_id: str) -> str:
    """A table; each cell is (html, is_text). Cells are already escaped."""
    head = "".join(f'<th class="{"t" if text else ""}">{h}</th>' for h, text in headers)
    body = "".join("<tr>" + "".join(f'<td class="{"t" if text else ""}">{c}</td>' for c, text in row) + "</tr>"
                   for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _time(value: Any) -> str:
    """A timestamp (datetime or ISO text) as ``YYYY-MM-DD HH:MM UTC``."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _link(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return escape(f"{path}?{query}" if query else path)


def render(report: "Report", lang: str = "zh") -> str:
    """The whole page of ``report`` in ``lang`` (zh or en)."""
    L = LABELS[lang]
    f = report.figures
    year = report.year
    parts = [_header(report, lang, L)]
    if report.withdrawal:  # issue 13: a withdrawn version says so and links the latest word
        parts.append(_withdrawn(report, lang, L))
    parts.append(_totals(f, year, lang, L, report.thresholds))
    parts.append(_shortage(f, L, lang))
    parts.append(_by_skill_level(f, L, lang))
    parts.append(_by_district(f, L))
    parts.append(_training(f, L))
    parts.append(_match(f, L))
    parts.append(_warnings(f, L))
    parts.append(_definitions(report, L))
    html_lang = "zh-CN" if lang == "zh" else "en"
    title = escape(L["title"].format(year=year))
    return ("<!DOCTYPE html>\n"
            f'<html lang="{html_lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f'<link rel="icon" href="data:,"><title>{title}</title><style>{CSS}</style></head>'
            f'<body><main>{"".join(parts)}</main></body></html>\n')


def _header(report: "Report", lang: str, L: dict[str, str]) -> str:
    year = report.year
    path = f"/reports/{year}"
    other = "en" if lang == "zh" else None
    keep = {"version": report.version if not report.draft else None, "draft": 1 if report.draft else None}
    nav = (f'<nav><a href="{_link(path, lang=other, **keep)}">{escape(L["other_language"])}</a>'
           f'<a href="{_link(path + ".csv", **keep)}">CSV</a><a href="{_link(path + ".json", **keep)}">JSON</a></nav>')
    w = report.watermark or {}
    mark = (L["watermark"].format(refresh=w.get("refreshId", "?"), at=_time(w.get("refreshedAt"))) if w
            else L["no_refresh"])
    if report.draft:
        banner = f'<div class="banner draft" id="status">{escape(L["draft_banner"])} {escape(mark)}</div>'
    else:
        banner = (f'<div class="banner published" id="status">'
                  f'{escape(L["published_banner"].format(version=report.version, at=_time(report.published_at)))}'
                  f' {escape(mark)}</div>')
    links = [f'<a href="{_link(path, version=v["version"], lang=lang if lang != "zh" else None)}">'
             f'{escape(L["version"].format(version=v["version"]))}</a> ({escape(v["publishedAt"][:10])})'
             for v in report.versions]
    versions = (f'<p class="meta" id="versions">{escape(L["versions"])}: {" · ".join(links)}</p>' if links
                else f'<p class="meta" id="versions">{escape(L["no_versions"])}</p>')
    return (f'{nav}<h1>{escape(L["title"].format(year=year))}</h1>'
            f'<p class="meta">{escape(L["subtitle"])}</p>{banner}{versions}')


def _sd_cells(r: dict[str, Any]) -> list[tuple[str, bool]]:
    s = r["suppressed"]
    return [(_num(r["demand"]), False), (_num(r["supply"], s), False), (_num(r["ratio"], s, 2), False),
            (_num(r["gap"], s), False)]


def _totals(f: dict[str, Any], year: int, lang: str, L: dict[str, str], th: dict[str, Any]) -> str:
    q_names = QUARTERS[lang]
    rows = [[(escape(q_names[q["quarter"] - 1]), True), *_sd_cells(q)] for q in f["quarters"]]
    rows.append([(escape(L["year_total"]), True), *_sd_cells(f["annual"])])
    table = _table([(escape(L["period"]), True), (escape(L["demand"]), False), (escape(L["supply"]), False),
                    (escape(L["ratio"]), False), (escape(L["gap"]), False)], rows, "totals")
    chart = line_chart("chart-quarterly-ratio", L["chart_quarterly"].format(year=year), q_names,
                       [(str(year), [q["ratio"] for q in f["quarters"]]),
                        (str(year - 1), [q["ratio"] for q in f["previousQuarters"]])],
                       references=[(th.get("shortageRatio", 1.5), L["shortage_line"].format(
                           ratio=th.get("shortageRatio", 1.5))), (1.0, "1.0")])
    return f'<section id="totals-section"><h2>{escape(L["h_totals"])}</h2>{table}{chart}</section>'


def _shortage(f: dict[str, Any], L: dict[str, str], lang: str) -> str:
    items = f["shortage"]
    chart = bar_chart("chart-shortage", L["chart_shortage"], [
        (f'{s["occupationName"] or s["occupationCode"]}', s["gap"]) for s in items], value_format="{:,.0f}",
        missing_label=WITHHELD)
    rows = []
    for s in items:
        sup = s["suppressed"]
        districts = "、".join(f'{escape(d["districtName"] or d["districtCode"])} {_num(d["gap"], d["suppressed"])}'
                             for d in s["districts"])
        rows.append([(str(s["rank"]), False), (_num(s["previousRank"]), False),
                     (escape(s["occupationCode"]), True), (escape(s["occupationName"] or ""), True),
                     *[(_num(q["ratio"], q["suppressed"], 2), False) for q in s["quarters"]],
                     (_num(s["demand"]), False), (_num(s["supply"], sup), False), (_num(s["gap"], sup), False),
                     (districts, True)])
    table = _table([(escape(h), t) for h, t in [(L["rank"], False), (L["previous_rank"], False), (L["code"], True),
                                                 (L["occupation"], True), *[(q, False) for q in QUARTERS[lang]],
                                                 (L["demand"], False), (L["supply"], False), (L["gap"], False),
                                                 (L["top_districts"], True)]], rows, "shortage")
    count = escape(L["shortage_count"].format(n=f["shortageCount"], shown=len(items)))
    return (f'<section id="shortage-section"><h2>{escape(L["h_shortage"])}</h2><p class="note">{count}</p>'
            f'{chart}{table}</section>')


def _by_skill_level(f: dict[str, Any], L: dict[str, str], lang: str) -> str:
    def name(level: int | None) -> str:
        return LEVELS[lang].get(level, str(level))

    rows = [[(escape(name(r["skillLevel"])), True), *_sd_cells(r)] for r in f["bySkillLevel"]]
    chart = bar_chart("chart-skill-level", L["chart_skill"], [(name(r["skillLevel"]), r["ratio"])
                                                               for r in f["bySkillLevel"]], missing_label=WITHHELD)
    table = _table([(escape(L["skill_level"]), True), (escape(L["demand"]), False), (escape(L["supply"]), False),
                    (escape(L["ratio"]), False), (escape(L["gap"]), False)], rows, "by-skill-level")
    return f'<section id="skill-section"><h2>{escape(L["h_skill"])}</h2>{chart}{table}</section>'


def _by_district(f: dict[str, Any], L: dict[str, str]) -> str:
    rows = [[(escape(r["districtName"] or r["districtCode"]), True), *_sd_cells(r)] for r in f["byDistrict"]]
    chart = bar_chart("chart-district", L["chart_district"], [(r["districtName"] or r["districtCode"], r["ratio"])
                                                               for r in f["byDistrict"]], missing_label=WITHHELD)
    table = _table([(escape(L["district"]), True), (escape(L["demand"]), False), (escape(L["supply"]), False),
                    (escape(L["ratio"]), False), (escape(L["gap"]), False)], rows, "by-district")
    return f'<section id="district-section"><h2>{escape(L["h_district"])}</h2>{chart}{table}</section>'


def _training(f: dict[str, Any], L: dict[str, str]) -> str:
    rows = [[(escape(t["occupationCode"]), True), (escape(t["occupationName"] or ""), True),
             (_num(t["programs"]), False), (_num(t["seats"]), False), (escape("、".join(t["providers"])), True),
             (f'<span class="tag shortage">{escape(L["shortage_tag"])}</span>' if t["shortage"] else "", True)]
            for t in f["trainingCatalog"]]
    table = _table([(escape(L["code"]), True), (escape(L["occupation"]), True), (escape(L["programs"]), False),
                    (escape(L["seats"]), False), (escape(L["providers"]), True), (escape(L["shortage_col"]), True)],
                   rows, "training")
    return f'<section id="training-section"><h2>{escape(L["h_training"])}</h2>{table}</section>'


def _match_table(matches: list[dict[str, Any]], names: dict[str, str], L: dict[str, str], table_id: str) -> str:
    rows = []
    for m in matches:
        sup = m["suppressed"]
        status = m["status"]
        tag = (f'<span class="tag {escape(status)}">{escape(L["status_" + status])}</span>' if status
               else (WITHHELD if sup else MISSING))
        industries = "、".join(escape(i["name"] or i["code"]) for i in m["industries"])
        district = names.get(m["districtCode"]) or m["districtCode"] if m["districtCode"] else L["city"]
        rows.append([(escape(district), True), (escape(m["majorCode"]), True), (escape(m["majorName"]), True),
                     (industries, True), (_num(m["graduates"], sup), False),
                     (_num(m["graduatesShare"], sup, percent=True), False), (_num(m["demand"]), False),
                     (_num(m["demandShare"], percent=True), False), (_num(m["index"], sup, 2), False), (tag, True)])
    return _table([(escape(h), t) for h, t in [(L["district"], True), (L["code"], True), (L["major"], True),
                                                (L["industries"], True), (L["graduates"], False),
                                                (L["graduates_share"], False), (L["demand"], False),
                                                (L["demand_share"], False), (L["index"], False),
                                                (L["status"], True)]], rows, table_id)


def _match(f: dict[str, Any], L: dict[str, str]) -> str:
    names = f.get("districtNames", {})
    districts = _match_table(f["majorIndustryMatch"], names, L, "match")
    city = _match_table(f.get("majorIndustryMatchCity", []), names, L, "match-city")
    return (f'<section id="match-section"><h2>{escape(L["h_match"])}</h2><p class="note">{escape(L["match_note"])}'
            f'</p>{districts}<h3>{escape(L["match_city"])}</h3>{city}</section>')


def _warnings(f: dict[str, Any], L: dict[str, str]) -> str:
    rows = []
    for w in f["majorWarnings"]:
        rates = "、".join(f'{y["year"]}: {_num(y["employmentRate"], y["suppressed"], percent=True)}' for y in w["years"])
        level = (f'<span class="tag {escape(w["level"])}">{escape(L["level_" + w["level"]])}</span>' if w["level"]
                 else WITHHELD)
        action = escape(L["action_" + w["action"]]) if w["action"] else WITHHELD
        rows.append([(escape(w["majorCode"]), True), (escape(w["majorName"]), True), (escape(w["schoolName"]), True),
                     (rates, True), (_num(w["consecutiveYearsBelow"], w["suppressed"]), False), (level, True),
                     (action, True)])
    table = _table([(escape(h), t) for h, t in [(L["code"], True), (L["major"], True), (L["school"], True),
                                                 (L["employment_rates"], True), (L["years_below"], False),
                                                 (L["level"], True), (L["action"], True)]], rows, "warnings")
    empty = f'<p class="note">{escape(L["no_warnings"])}</p>' if not rows else ""
    return f'<section id="warnings-section"><h2>{escape(L["h_warnings"])}</h2>{empty}{table}</section>'


def _definitions(report: "Report", L: dict[str, str]) -> str:
    th = report.thresholds
    items = "".join(f"<li>{escape(L[k].format(**th))}</li>" for k in ("def_ratio", "def_shortage", "def_training",
                                                                      "def_match", "def_warning",
                                                                      "def_cell_key" if "disclosure" in th
                                                                      else "def_small"))
    return f'<footer><h2>{escape(L["h_definitions"])}</h2><ul>{items}</ul></footer>'


def _withdrawn(report: "Report", lang: str, L: dict[str, str]) -> str:
    w = report.withdrawal
    replacement = w.get("replacedBy")
    params = {"lang": lang if lang != "zh" else None}
    href = _link(f"/reports/{report.year}", version=replacement, **params) if replacement else \
        _link(f"/reports/{report.year}", **params)
    text = L["withdrawn_replacement"].format(version=replacement) if replacement else L["withdrawn_to_draft"]
    return (f'<div class="banner draft" id="withdrawn">'
            f'{escape(L["withdrawn_banner"].format(at=_time(w["withdrawnAt"]), reason=w["reason"]))} '
            f'<a href="{href}">{escape(text)}</a></div>')
