"""HTTP endpoints of the annual report: ``GET /reports/{year}`` (HTML), ``/reports/{year}.csv``, ``.json``.

Which figures: the latest published version of the year; ``?version=N`` an earlier one; ``?draft=1`` (or no
published version yet) the live draft, computed from the latest statistics refresh. HTML takes ``?lang=en``
for English labels (Chinese by default).

Access: published versions are public by nature — the plan asks the platform to publish them — so they are
served to anyone, with or without a token (``hub.http.auth`` lets ``GET /reports/...`` through without one; a
token that is sent must still be valid), and leave no audit entry. A draft is not published: it needs a
bearer token (HTTP 401 otherwise: JSON for API clients, for a browser (``Accept: text/html``) an HTML page
saying how to see the draft, ``hub.http.pages``), and every read of it writes one audit entry (``report.draft YEAR (FMT)``,
``hub.governance.audit.request_entry``) before it is answered — no entry, no draft (503). Both show the public view
(person counts perturbed, resolvers.analytics.disclosure), whoever reads them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from hub.errors import HubError, from_db_error
from hub.governance.audit import append, request_entry
from hub.http.pages import draft_needs_token, wants_html
from resolvers.analytics.figures import YEARS
from resolvers.analytics.report.build import Report, as_csv, draft_report, published_report
from resolvers.analytics.report.html import LANGUAGES, render

log = logging.getLogger("hub.report")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _status(code: str) -> int:
    return {"BAD_USER_INPUT": 400, "NOT_FOUND": 404, "CONFLICT": 409}.get(code, 503)


def _version(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise ValueError(raw)
    return int(raw)


async def _respond(request: Request, fmt: str) -> Response:
    year = request.path_params["year"]
    params = request.query_params
    lang = params.get("lang", "zh")
    if lang not in LANGUAGES:
        return _error(400, "BAD_USER_INPUT", f"lang must be one of {', '.join(LANGUAGES)}")
    try:
        version = _version(params.get("version"))
    except ValueError:
        return _error(400, "BAD_USER_INPUT", "version must be a positive integer")
    draft = params.get("draft") in ("1", "true")
    if draft and version is not None:
        return _error(400, "BAD_USER_INPUT", "ask for a version or for the draft, not both")
    if year not in YEARS:
        return _error(404, "NOT_FOUND", f"no report for {year}: years {YEARS.start}-{YEARS.stop - 1}")
    db = request.app.state.db
    report = None if draft else await published_report(db.hub, year, version)
    if report is None and version is not None:
        return _error(404, "NOT_FOUND", f"{year} has no published version {version}")
    if report is None:
        consumer = request.scope.get("hub.consumer")
        if consumer is None:
            challenge = {"WWW-Authenticate": 'Bearer realm="talent-data-hub"'}
            if fmt == "html" and wants_html(request):  # a browser: a page saying how to see the draft
                return await draft_needs_token(request, year, challenge)
            return _error(401, "UNAUTHENTICATED", f"{year}'s report is not published: its draft needs "
                                                  "Authorization: Bearer <token>", challenge)
        return await _draft(request, consumer, year, fmt, lang)
    return _answer(report, fmt, lang, version)


async def _draft(request: Request, consumer: Any, year: int, fmt: str, lang: str) -> Response:
    """The live draft: not public, so every read writes one audit entry (also when it fails), and the answer
    leaves only once its entry has committed (fail closed, like GraphQL)."""
    db = request.app.state.db
    operation = f"report.draft {year} ({fmt})"
    try:
        response = _answer(await draft_report(db.hub, request.app.state.settings, year), fmt, lang, None)
    except Exception as exc:  # noqa: BLE001 - audited, then answered with its code (or re-raised)
        mapped = exc if isinstance(exc, HubError) else from_db_error(exc)
        try:
            await append(db, request_entry(request, consumer, operation, "query",
                                           [mapped.code if mapped is not None else "INTERNAL_SERVER_ERROR"]))
        except Exception:  # noqa: BLE001 - the answer is an error anyway; it carries no data
            log.error("AUDIT LOG UNAVAILABLE: could not record failed %s", operation, exc_info=True)
        if mapped is None:
            raise
        return _error(_status(mapped.code), mapped.code, mapped.message)
    try:
        await append(db, request_entry(request, consumer, operation, "query", []))
    except Exception:  # noqa: BLE001 - fail closed: no audit entry, no draft
        log.error("AUDIT LOG UNAVAILABLE: %s withheld", operation, exc_info=True)
        return _error(503, "SERVICE_UNAVAILABLE", "audit log unavailable", {"Retry-After": "1"})
    return response


def _answer(report: Report, fmt: str, lang: str, version: int | None) -> Response:
    """``report`` as HTML, CSV or JSON, with its caching headers."""
    year = report.year
    if report.draft:
        cache = "private, no-store"
    else:
        cache = "public, no-cache"  # a version's figures never change, but it may be withdrawn later
    name = f"talent-report-{year}-{'draft' if report.draft else f'v{report.version}'}"
    if fmt == "json":
        return Response(orjson.dumps(report.as_document()), media_type="application/json",
                        headers={"Cache-Control": cache})
    if fmt == "csv":
        return Response(as_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Cache-Control": cache, "Content-Disposition": f'attachment; filename="{name}.csv"'})
    return HTMLResponse(render(report, lang), headers={"Cache-Control": cache, "Content-Language": lang})


def _endpoint(fmt: str) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await _respond(request, fmt)
        except HubError as exc:
            return _error(_status(exc.code), exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001 - database failures become their code; others are re-raised
            mapped = from_db_error(exc)
            if mapped is None:
                raise
            return _error(_status(mapped.code), mapped.code, mapped.message)

    endpoint.__name__ = f"report_{fmt}"
    return endpoint


def routes() -> list[Route]:
    """The report's routes, for ``hub.app.create_app``."""
    return [
        Route("/reports/{year:int}.csv", _endpoint("csv"), methods=["GET"]),
        Route("/reports/{year:int}.json", _endpoint("json"), methods=["GET"]),
        Route("/reports/{year:int}", _endpoint("html"), methods=["GET"]),
    ]
