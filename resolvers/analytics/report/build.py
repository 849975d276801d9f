"""The annual report: one year's published statistics as one document, drafted live or frozen as versions.

``build_figures`` assembles the figures of the report (the public view: person counts perturbed, as for any
reader that owns none of the data) from ``resolvers.analytics.figures``; a draft reads them inside one
REPEATABLE READ snapshot of the hub's schema, so they match the refresh watermark shown beside them.
``publish`` freezes them in ``hub.stat_publications`` as the year's next version, with the refresh and its data
watermark; that table is append-only (triggers), so later refreshes never alter a published version; ``withdraw``
records a version's withdrawal (its figures then stop being public, ``resolvers.analytics.report.withdrawn``).
The HTML page is ``resolvers.analytics.report.html``; ``as_csv`` and ``as_document`` give the same figures as CSV and JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterator

from hub.errors import BadUserInput, Conflict, NotFound
from hub.sync import csv_cells
from resolvers.analytics import figures as F
from resolvers.analytics.figures import Thresholds, check_year, empty_row
from resolvers.analytics.report import forecast as report_forecast
from resolvers.analytics.report import plan as report_plan
from resolvers.analytics.statistics import latest_refresh, snapshot
from resolvers.analytics.types import SupplyDemandDimension as D
from resolvers.analytics.watermark import for_reader

if TYPE_CHECKING:
    from hub.db.pools import Department
    from hub.governance.audit_outbox import Staged
    from hub.settings import Settings

TOP_SHORTAGE = 20  # shortage occupations shown in the report


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def jsonable(value: Any) -> Any:
    """Dataclasses (the GraphQL types) as camelCase dicts, enums as their values, dates as ISO strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _by_quarter(rows: list[Any], year: int) -> list[Any]:
    found = {r.quarter: r for r in rows}
    return [found.get(q) or empty_row(year, q) for q in (1, 2, 3, 4)]


async def build_figures(hub: "Department", settings: "Settings", year: int) -> dict[str, Any]:
    """Every figure of ``year``'s report, as the public sees it (JSON-ready)."""
    F.check_year(year)
    th = F.Thresholds.from_settings(settings)
    public = F.PUBLIC
    quarters = await F.supply_demand(hub, th, public, year, group_by=[D.QUARTER])
    previous = await F.supply_demand(hub, th, public, year - 1, group_by=[D.QUARTER]) if year > 2000 else []
    annual = await F.supply_demand(hub, th, public, year)
    shortage = await F.shortage_occupations(hub, th, public, year, limit=TOP_SHORTAGE)
    districts = await F.match_districts(hub, year)  # the match is defined per district (docs/design.md)
    match = [m for code, _ in districts for m in await F.major_industry_match(hub, th, public, year, code)]
    return jsonable({
        "year": year,
        "annual": annual[0] if annual else F.empty_row(year),
        "quarters": _by_quarter(quarters, year),
        "previousQuarters": _by_quarter(previous, year - 1),
        "shortage": shortage,
        "shortageCount": len(await F.shortage_codes(hub, th, year)),
        "bySkillLevel": await F.supply_demand(hub, th, public, year, group_by=[D.SKILL_LEVEL]),
        "byDistrict": await F.supply_demand(hub, th, public, year, group_by=[D.DISTRICT]),
        "trainingCatalog": await F.training_catalog(hub, th, year),
        "majorIndustryMatch": match,
        "majorIndustryMatchCity": await F.major_industry_match(hub, th, public, year),
        "districtNames": {code: name for code, name in districts},
        "majorWarnings": await F.major_warnings(hub, th, public, year),
        **await report_forecast.figures(hub, settings, year),  # forecasts and enrollment guidance (issue 16)
        report_plan.KEY: await report_plan.figures(hub, year),
    })


def has_figures(figures: dict[str, Any]) -> bool:
    annual = figures["annual"]
    return bool(annual["demand"] or annual["supply"] or figures["trainingCatalog"] or figures["majorIndustryMatch"])


@dataclasses.dataclass
class Report:
    """A report as shown: the latest published version, an earlier one, or the live draft."""

    year: int
    figures: dict[str, Any]
    status: str  # "published" | "draft"
    thresholds: dict[str, Any]
    watermark: dict[str, Any] | None
    versions: list[dict[str, Any]]  # every published version of the year: version, publishedAt, publishedBy
    version: int | None = None
    published_at: dt.datetime | None = None
    published_by: str | None = None
    # A withdrawn version: reason, withdrawnAt, withdrawnBy and replacedBy (the latest version not withdrawn, or
    # None: the draft). Its figures are no longer public: resolvers.analytics.report.withdrawn says who reads them.
    withdrawal: dict[str, Any] | None = None

    @property
    def draft(self) -> bool:
        return self.status == "draft"

    def as_document(self) -> dict[str, Any]:
        """The .json form: the figures with what they are (version, watermark, thresholds). The report is the
        public view: its watermark is the one the public sees (no source's row counts)."""
        return jsonable({"year": self.year, "status": self.status, "version": self.version,
                         "publishedAt": self.published_at, "publishedBy": self.published_by,
                         "watermark": for_reader(self.watermark), "thresholds": self.thresholds, "versions": self.versions,
                         "withdrawal": self.withdrawal, "figures": self.figures})


async def draft_report(hub: "Department", settings: "Settings", year: int) -> Report:
    """The live figures of ``year`` with the watermark of the refresh they come from."""
    async with snapshot(hub) as h:
        refresh = await latest_refresh(h)
        figures = await build_figures(h, settings, year)
        versions = await _versions(h, year)
    return Report(year, figures, "draft", Thresholds.from_settings(settings).as_json(),
                  refresh.as_json() if refresh else None, versions)


async def _versions(hub: "Department", year: int) -> list[dict[str, Any]]:
    rows = await hub.fetch("hub/stats_publications_list", year)
    return [{"version": r["version"], "publishedAt": r["published_at"].isoformat(), "publishedBy": r["published_by"],
             "withdrawn": r["withdrawn_at"] is not None} for r in rows]


async def published_report(hub: "Department", year: int, version: int | None = None) -> Report | None:
    """A published version of ``year`` (the latest not withdrawn when ``version`` is None); None when there is
    none."""
    row = await hub.fetchrow("hub/stats_publication_get", year, version)
    if row is None:
        return None
    withdrawal = None
    if row["withdrawn_at"] is not None:
        withdrawal = {"reason": row["withdrawal_reason"], "withdrawnAt": row["withdrawn_at"].isoformat(),
                      "withdrawnBy": row["withdrawn_by"], "replacedBy": row["replaced_by"]}
    return Report(year, json.loads(row["figures"]), "published", json.loads(row["thresholds"]),
                  json.loads(row["watermark"]), await _versions(hub, year), row["version"], row["published_at"],
                  row["published_by"], withdrawal)


WITHDRAWAL_REASON_MAX = 2000


async def withdraw(hub: "Department", year: int, version: int, reason: str, withdrawn_by: str,
                   staged: "Staged | None" = None) -> Any:
    """Mark published ``version`` of ``year`` withdrawn (append-only; the version itself stays frozen): it stops
    being the latest word and its figures stop being public (``resolvers.analytics.report.withdrawn``). Returns the
    withdrawal row. ``staged(tx)`` runs in the withdrawal's transaction (the audit outbox, ``hub.governance.audit_outbox``)."""
    check_year(year)
    reason = (reason or "").strip()
    if not reason or len(reason) > WITHDRAWAL_REASON_MAX:
        raise BadUserInput(f"a withdrawal needs a reason of 1 to {WITHDRAWAL_REASON_MAX} characters",
                           argument="reason")
    async with hub.transaction() as tx:
        await tx.execute("hub/stats_publication_lock")
        row = await tx.fetchrow("hub/stats_withdrawal_insert", year, version, withdrawn_by, reason)
        if row is None:
            found = await tx.fetchrow("hub/stats_withdrawal_get", year, version)
            if found is None:
                raise NotFound(f"{year} has no published version {version}")
            raise Conflict(f"version {version} of {year} was withdrawn already ({found['withdrawn_at']:%Y-%m-%d})")
        if staged is not None:
            await staged(tx)
        return row


async def publish(hub: "Department", settings: "Settings", year: int, published_by: str,
                  staged: "Staged | None" = None) -> Any:
    """Freeze ``year``'s figures as its next version; returns the new publication row. ``staged(tx)`` runs in the
    publication's transaction (the audit outbox, ``hub.governance.audit_outbox``)."""
    check_year(year)
    async with snapshot(hub) as h:  # the figures and the refresh they come from, in one snapshot
        refresh = await latest_refresh(h)
        if refresh is None:
            raise Conflict("the statistics were never refreshed: run `hub stats refresh` first")
        figures = await build_figures(h, settings, year)
    if not has_figures(figures):
        raise BadUserInput(f"there are no figures for {year}: nothing to publish", argument="year")
    async with hub.transaction() as tx:
        await tx.execute("hub/stats_publication_lock")
        thresholds = Thresholds.from_settings(settings).as_json()
        row = await tx.fetchrow("hub/stats_publication_insert", year, published_by, refresh.refresh_id,
                                json.dumps(refresh.as_json()), json.dumps(thresholds),
                                json.dumps(figures, ensure_ascii=False))
        if staged is not None:
            await staged(tx)
        return row


# --- CSV ---------------------------------------------------------------------------------------------

CSV_HEADER = ("section", "key", "name", "metric", "value", "suppressed")
_SD_METRICS = ("demand", "supply", "ratio", "gap")


def _csv_rows(report: Report) -> Iterator[tuple[Any, ...]]:
    f = report.figures
    yield ("report", str(report.year), "", "status", report.status, "")
    yield ("report", str(report.year), "", "version", report.version, "")
    yield ("report", str(report.year), "", "published_at", report.published_at.isoformat()
           if report.published_at else None, "")
    if report.withdrawal:  # a withdrawn version's file says so (an admin's download, `hub report --version N`)
        for metric, key in (("withdrawn_at", "withdrawnAt"), ("withdrawal_reason", "reason"),
                            ("replaced_by", "replacedBy")):
            yield ("report", str(report.year), "", metric, report.withdrawal[key], "")
    if report.watermark:
        yield ("report", str(report.year), "", "refresh_id", report.watermark.get("refreshId"), "")
        yield ("report", str(report.year), "", "refreshed_at", report.watermark.get("refreshedAt"), "")

    def sd(section: str, key: str, name: str | None, row: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        for m in _SD_METRICS:
            yield (section, key, name or "", m, row[m], row["suppressed"])

    yield from sd("totals", str(report.year), "", f["annual"])
    for q in f["quarters"]:
        yield from sd("quarters", f"{report.year}Q{q['quarter']}", "", q)
    for q in f["previousQuarters"]:
        yield from sd("quarters", f"{report.year - 1}Q{q['quarter']}", "", q)
    for s in f["shortage"]:
        key, name = s["occupationCode"], s["occupationName"]
        for m in ("rank", "previousRank", "quartersMet", "demand", "supply", "ratio", "gap"):
            yield ("shortage", key, name, m, s[m], s["suppressed"])
        for q in s["quarters"]:
            yield ("shortage", key, name, f"q{q['quarter']}_ratio", q["ratio"], q["suppressed"])
        for d in s["districts"]:
            yield ("shortage", key, name, f"district_{d['districtCode']}_gap", d["gap"], d["suppressed"])
    for r in f["bySkillLevel"]:
        yield from sd("skill_level", str(r["skillLevel"] or "unstated"), "", r)
    for r in f["byDistrict"]:
        yield from sd("district", r["districtCode"], r["districtName"], r)
    for t in f["trainingCatalog"]:
        key, name = t["occupationCode"], t["occupationName"]
        yield ("training", key, name, "programs", t["programs"], "")
        yield ("training", key, name, "seats", t["seats"], "")
        yield ("training", key, name, "providers", "; ".join(t["providers"]), "")
        yield ("training", key, name, "shortage", t["shortage"], "")
    for m in [*f["majorIndustryMatch"], *f["majorIndustryMatchCity"]]:
        key, name = f"{m['districtCode'] or 'city'}/{m['majorCode']}", m["majorName"]
        yield ("match", key, name, "industries", "; ".join(i["code"] for i in m["industries"]), "")
        for metric in ("graduates", "graduatesShare", "demand", "demandShare", "index", "status"):
            yield ("match", key, name, metric, m[metric], m["suppressed"])
    for w in f["majorWarnings"]:
        key, name = f"{w['majorCode']}/{w['schoolCode']}", f"{w['majorName']} / {w['schoolName']}"
        for y in w["years"]:
            yield ("warnings", key, name, f"employment_rate_{y['year']}", y["employmentRate"], y["suppressed"])
        for metric in ("consecutiveYearsBelow", "level", "action"):
            yield ("warnings", key, name, metric, w[metric], w["suppressed"])
    if "forecast" in f:  # versions published before issue 16 have neither section
        yield from report_forecast.csv_rows(f)
    yield from report_plan.csv_rows(f)


def as_csv(report: Report) -> str:
    """The report's figures as one long CSV: section, key, name, metric, value, suppressed. Cells go through
    ``hub.sync.csv_cells`` (a name like ``=HYPERLINK(...)`` is text, not a formula; numbers stay numbers)."""
    out = io.StringIO()
    writer = csv_cells.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for section, key, name, metric, value, suppressed in _csv_rows(report):
        writer.writerow((section, key, name, metric, value, suppressed if isinstance(suppressed, bool) else None))
    return out.getvalue()
