"""Small HTML pages for people with a browser: the landing page (``GET /``) and the page a browser gets for
a report draft it may not read (``resolvers.analytics.report.routes``). Jinja2 templates under ``hub/templates/pages/``,
autoescaped; no script."""

from __future__ import annotations

import logging
import os
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

log = logging.getLogger("hub.pages")

ENVIRONMENT = Environment(loader=PackageLoader("hub", "templates"), autoescape=True, undefined=StrictUndefined)


def render(template: str, **values: Any) -> str:
    return ENVIRONMENT.get_template(f"pages/{template}").render(**values)


def wants_html(request: Request) -> bool:
    """A browser navigating (``Accept`` names text/html); API clients asking for JSON keep JSON."""
    return "text/html" in request.headers.get("accept", "")


async def _published(request: Request) -> list[Any] | None:
    """Every published report version, oldest first, with its withdrawal; None when the database cannot be read."""
    try:
        return list(await request.app.state.db.hub.fetch("hub/stats_publications_list", None))
    except Exception:  # noqa: BLE001 - the page still links everything else
        log.warning("landing page: cannot list the published reports", exc_info=True)
        return None


def _public(rows: list[Any]) -> list[Any]:
    """The versions not withdrawn: a withdrawn one is no report to point to (its figures are not public)."""
    return [r for r in rows if r["withdrawn_at"] is None]


async def landing(request: Request) -> HTMLResponse:
    """``GET /``: links to GraphiQL, the latest published report, the health checks and the docs."""
    rows = await _published(request)
    live = _public(rows or [])
    latest = live[-1] if live else None
    return HTMLResponse(render("landing.html.j2", latest_year=latest["year"] if latest else None,
                               latest_version=latest["version"] if latest else None,
                               reports_unavailable=rows is None, metrics=request.app.state.settings.metrics))


async def draft_needs_token(request: Request, year: int, headers: dict[str, str]) -> HTMLResponse:
    """401 for a browser opening an unpublished year's report without a token: how to see the draft (and which of
    the year's versions were withdrawn, when all were)."""
    rows = await _published(request) or []
    # Never the request's Host (unchecked: a proxy or cache passing a forged one would make this page tell the
    # reader to send a token elsewhere): the hub's configured public address (HUB_URL, as `hub report --hub-url`),
    # else a placeholder.
    base_url = os.environ.get("HUB_URL", "").strip().rstrip("/") or None
    return HTMLResponse(render("draft_needs_token.html.j2", year=year, base_url=base_url,
                               published_years=sorted({r["year"] for r in _public(rows)}),
                               withdrawn_versions=[r["version"] for r in rows
                                                   if r["year"] == year and r["withdrawn_at"] is not None]),
                        status_code=401, headers={**headers, "Cache-Control": "no-store"})
