"""HTTP endpoints of the annual report: ``GET /reports/{year}`` (HTML), ``/reports/{year}.csv``, ``.json``.

Which figures: the latest published version of the year that is not withdrawn; ``?version=N`` an earlier one;
``?draft=1`` (or no such version) the live draft, computed from the latest statistics refresh. HTML takes
``?lang=en`` for English labels (Chinese by default).

Access: published versions are public by nature — the plan asks the platform to publish them — so they are
served to anyone, with or without a token (``hub.http.auth`` lets ``GET /reports/...`` through without one; a
token that is sent must still be valid), and leave no audit entry. A draft is not published: it needs a
bearer token (HTTP 401 otherwise: JSON for API clients, for a browser (``Accept: text/html``) an HTML page
saying how to see the draft, ``hub.http.pages``), and every read of it writes one audit entry (``report.draft YEAR (FMT)``,
``hub.governance.audit.request_entry``) before it is answered — no entry, no draft (503). A withdrawn version's
figures are no longer public (``resolvers.analytics.report.withdrawn``): everyone but an admin gets its notice with
HTTP 410 Gone (a page, or a JSON error ``WITHDRAWN`` for .csv/.json, naming the replacement's URL); an admin's read
(with a token, looked up in the database, not in the token cache: a revoked one gets 401 at once) is audited
like a draft's (``report.withdrawn YEAR vN (FMT)``, fail-closed). A parameter given twice is refused (400).
Figures shown are the public view (person counts perturbed, resolvers.analytics.disclosure), whoever reads them.

Caching: a published version's answer is ``public, no-cache`` (its figures never change, but it may be withdrawn:
a cache must ask again before every reuse, and no validator (ETag, Last-Modified) is sent, so a conditional
request is answered in full and a cached 200 of a version withdrawn since is replaced by the 410); a draft's and
an admin's read of a withdrawn version are ``private, no-store``; the 410 is ``public, no-cache`` (its link to the
replacement changes when the replacement is withdrawn too). Answers about a withdrawn version depend on the token:
``Vary: Authorization``.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from hub.errors import HubError, from_db_error
from hub.governance.audit import append, request_entry
from hub.http.pages import draft_needs_token, wants_html
from resolvers.analytics.figures import YEARS
from resolvers.analytics.report.build import Report, as_csv, draft_report, published_report
from resolvers.analytics.report.html import LANGUAGES, render, render_notice
from resolvers.analytics.report.withdrawn import MAX_VERSION, Notice, may_read_figures, operation

log = logging.getLogger("hub.report")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _status(code: str) -> int:
    return {"BAD_USER_INPUT": 400, "NOT_FOUND": 404, "CONFLICT": 409}.get(code, 503)


def _version(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_VERSION:  # not "١" (Arabic-Indic 1)
        raise ValueError(raw)
    return int(raw)


async def _respond(request: Request, fmt: str) -> Response:
    year = request.path_params["year"]
    params = request.query_params
    repeated = [name for name in ("version", "draft", "lang") if len(params.getlist(name)) > 1]
    if repeated:  # ?version=1&version=2: which one? (a proxy may take the first, starlette takes the last)
        return _error(400, "BAD_USER_INPUT", f"{repeated[0]} is given more than once")
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
    consumer = request.scope.get("hub.consumer")
    report = None if draft else await published_report(db.hub, year, version)
    if report is None and version is not None:
        return _error(404, "NOT_FOUND", f"{year} has no published version {version}")
    if report is None:
        if consumer is None:
            challenge = {"WWW-Authenticate": 'Bearer realm="talent-data-hub"'}
            if fmt == "html" and wants_html(request):  # a browser: a page saying how to see the draft
                return await draft_needs_token(request, year, challenge)
            return _error(401, "UNAUTHENTICATED", f"{year}'s report is not published: its draft needs "
                                                  "Authorization: Bearer <token>", challenge)
        return await _audited(request, consumer, f"report.draft {year} ({fmt})", fmt, lang,
                              lambda: draft_report(db.hub, request.app.state.settings, year))
    if report.withdrawal is not None:
        if may_read_figures(consumer):  # the token as it stands now, not as cached (a revoked admin reads nothing)
            consumer = await request.app.state.consumers.lookup(db, request.scope["hub.token_hash"], fresh=True)
            if consumer is None:
                return _error(401, "UNAUTHENTICATED", "unknown or revoked token",
                              {"WWW-Authenticate": 'Bearer realm="talent-data-hub"'})
        if not may_read_figures(consumer):
            return _withdrawn(Notice.of(report), fmt, lang)
        return await _audited(request, consumer, operation(year, report.version, fmt), fmt, lang,
                              lambda: _ready(report))
    return _answer(report, fmt, lang)


async def _ready(report: Report) -> Report:
    """A report already read, as the ``read`` ``_audited`` awaits."""
    return report


async def _audited(request: Request, consumer: Any, operation: str, fmt: str, lang: str,
                   read: Callable[[], Awaitable[Report]]) -> Response:
    """A report that is not public (the live draft, a withdrawn version): every read writes one audit entry
    (also when it fails), and the answer leaves only once its entry has committed (fail closed, like GraphQL)."""
    db = request.app.state.db
    try:
        response = _answer(await read(), fmt, lang)
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
    except Exception:  # noqa: BLE001 - fail closed: no audit entry, no answer
        log.error("AUDIT LOG UNAVAILABLE: %s withheld", operation, exc_info=True)
        return _error(503, "SERVICE_UNAVAILABLE", "audit log unavailable", {"Retry-After": "1"})
    return response


# A withdrawn version's answers depend on the token (an admin reads its figures, anyone else its notice).
_BY_TOKEN = {"Vary": "Authorization"}


def _headers(report: Report) -> dict[str, str]:
    """Caching headers of ``report``'s figures (see the module's docstring)."""
    if report.withdrawal is not None:
        return {"Cache-Control": "private, no-store", **_BY_TOKEN}
    if report.draft:
        return {"Cache-Control": "private, no-store"}
    return {"Cache-Control": "public, no-cache"}  # its figures never change, but it may be withdrawn later


def _answer(report: Report, fmt: str, lang: str) -> Response:
    """``report`` as HTML, CSV or JSON, with its caching headers."""
    headers = _headers(report)
    name = f"talent-report-{report.year}-{'draft' if report.draft else f'v{report.version}'}"
    if fmt == "json":
        return Response(orjson.dumps(report.as_document()), media_type="application/json", headers=headers)
    if fmt == "csv":
        return Response(as_csv(report), media_type="text/csv; charset=utf-8",
                        headers={**headers, "Content-Disposition": f'attachment; filename="{name}.csv"'})
    return HTMLResponse(render(report, lang), headers={**headers, "Content-Language": lang})


def _withdrawn(notice: Notice, fmt: str, lang: str) -> Response:
    """410 Gone with the withdrawal notice, never the figures: a page for the HTML URL, a JSON error (code
    WITHDRAWN, the replacement's URL in its extensions) for the CSV and JSON."""
    headers = {"Cache-Control": "public, no-cache", **_BY_TOKEN}
    if fmt == "html":
        return HTMLResponse(render_notice(notice, lang), status_code=410,
                            headers={**headers, "Content-Language": lang})
    return Response(orjson.dumps(notice.error(fmt)), status_code=410, media_type="application/json",
                    headers=headers)


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
