"""The HTTP sync endpoints (bearer token required; ``hub.http.auth`` protects ``/sync`` and ``/ingest``):

* ``GET /sync/{dataset}/changes?after=CURSOR&limit=N`` — NDJSON: one change per line, then a final line
  ``{"next_cursor": ..., "has_more": ..., "count": ...}``;
* ``GET /sync/{dataset}/snapshot?format=ndjson|csv`` — every row from one REPEATABLE READ snapshot,
  streamed; the cursor that starts the feed exactly there is in the ``X-Hub-Cursor`` header and in the final
  line (NDJSON ``{"cursor": ..., "rows": N}``; CSV ``#cursor=...;rows=N``). A response without that final
  line is incomplete (the connection broke or the database failed mid-stream) and must be discarded;
* ``POST /ingest/{dataset}`` — NDJSON (``application/x-ndjson``), CSV (``text/csv``; ``charset=`` utf-8,
  gb18030, gbk or gb2312: ``hub.sync.parse``) or an .xlsx workbook (``hub.sync.xlsx``) body, streamed;
  optional ``Idempotency-Key`` header (the sender's own: another consumer's key for the dataset is 409
  CONFLICT); answers the ingest report as JSON, rejected rows' input masked for a non-owner
  (``hub.sync.report_view``).

Errors are JSON ``{"errors": [{"message", "extensions": {"code"}}]}`` with the GraphQL codes and a 4xx
status (CURSOR_EXPIRED is 410 Gone); only an unreachable database is 503. Every request is audited; an applied
ingest batch's entry is stored with it (the audit outbox, ``hub.governance.audit_outbox``) until it is in the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hub.errors import BadUserInput, HubError, ServiceUnavailable, from_db_error
from hub.governance.audit import AuditEntry, append
from hub.governance.audit_outbox import clear as outbox_clear
from hub.http.limits import BodyTooLarge
from hub.sync.charsets import CSV_CHARSETS, csv_codec
from hub.sync.cursor import Cursor
from hub.sync.feed import Snapshot, read_changes
from hub.sync.guard import access_for, audit, authorize, entry_of, note_rows
from hub.sync.ingest import after_write, ingest, record_ingest_metrics
from hub.sync.parse import csv_records, ndjson_records
from hub.sync.report_view import drafted, writer_view
from hub.sync.specs import ingest_specs
from hub.sync.xlsx import xlsx_records

log = logging.getLogger("hub.sync.http")

STATUS = {"BAD_USER_INPUT": 400, "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409,
          "CURSOR_EXPIRED": 410, "LIMIT_EXCEEDED": 422, "SERVICE_UNAVAILABLE": 503, "INTERNAL_SERVER_ERROR": 500}
NDJSON = "application/x-ndjson"
_NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-lines",
                           "application/jsonlines"})
_CSV_TYPES = frozenset({"text/csv", "application/csv"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_KEY = re.compile(r"^[!-~]{1,200}$")


class UnsupportedMediaType(BadUserInput):
    """A body in a format ingest does not read (HTTP 415, code BAD_USER_INPUT)."""

    http_status = 415


def error_response(exc: HubError) -> JSONResponse:
    body = {"errors": [{"message": exc.message, "extensions": {"code": exc.code, **exc.extensions}}]}
    return JSONResponse(body, status_code=getattr(exc, "http_status", None) or STATUS.get(exc.code, 400),
                        headers={"retry-after": "1"} if exc.code == "SERVICE_UNAVAILABLE" else None)


async def _failed(request: Request, consumer: Any, access: Any, operation: str, kind: str,
                  exc: Exception) -> Response:
    """The JSON error answer for ``exc`` (audited); unexpected errors get a logged reference id."""
    if not isinstance(exc, HubError):
        mapped = from_db_error(exc)
        if mapped is None:
            reference = uuid.uuid4().hex[:12]
            log.error("unexpected error (reference %s) in %s", reference, operation, exc_info=exc)
            exc = HubError(f"Internal server error (reference {reference})", reference=reference)
        else:
            exc = mapped
    try:
        await audit(request, consumer, access, operation, kind, [exc.code])
    except Exception:  # noqa: BLE001 - the answer is an error anyway; it carries no data
        log.error("AUDIT LOG UNAVAILABLE: could not record failed %s", operation, exc_info=True)
    return error_response(exc)


def _limit(request: Request) -> int:
    settings = request.app.state.settings
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return settings.sync_page_default
    if not raw.isdigit() or not 1 <= int(raw) <= settings.sync_page_max:
        raise BadUserInput(f"limit must be an integer between 1 and {settings.sync_page_max}", argument="limit",
                           maximum=settings.sync_page_max)
    return int(raw)


async def changes(request: Request) -> Response:
    consumer = request.scope.get("hub.consumer")
    name = request.path_params["dataset"]
    operation = f"sync.changes {name}"
    access = None
    try:
        access = await access_for(request, consumer)
        dataset = authorize(access, name, write=False)
        cursor = Cursor.decode(request.query_params.get("after"), dataset.name)
        db = request.app.state.db
        dept = db.departments[dataset.department]
        page = await read_changes(dept.pool, db.registry, cursor, _limit(request), dept.acquire_timeout)
        maskers = access.maskers(dataset)
        lines = [orjson.dumps(c.as_dict(maskers)) for c in page.changes]
        nxt = page.next_cursor.encode()
        lines.append(orjson.dumps({"next_cursor": nxt, "has_more": page.has_more, "count": len(page.changes)}))
        note_rows(access, dataset, len(page.changes))
        _feed_lag(request, dataset.name, page)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error
        return await _failed(request, consumer, access, operation, "query", exc)
    try:
        await audit(request, consumer, access, operation, "query", [])
    except Exception:  # noqa: BLE001 - fail closed: no audit entry, no data
        log.error("AUDIT LOG UNAVAILABLE: %s withheld", operation, exc_info=True)
        return error_response(ServiceUnavailable("audit log unavailable"))
    return Response(b"\n".join(lines) + b"\n", media_type=NDJSON,
                    headers={"x-hub-next-cursor": nxt, "cache-control": "no-store"})


def _feed_lag(request: Request, dataset: str, page: Any) -> None:
    """hub_sync_feed_lag_seconds: the age of the oldest change this reader had not received yet (0: none)."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        lag = (dt.datetime.now(dt.timezone.utc) - page.changes[0].at).total_seconds() if page.changes else 0.0
        metrics.set_feed_lag(dataset, lag)


class _ClosingStream(StreamingResponse):
    """A StreamingResponse whose ``cleanup`` runs however the response ends (client gone included). With
    ``max_seconds`` the whole answer has that long: a client that reads slowly (or not at all, behind a proxy that
    keeps nothing on its disk) would otherwise hold what the stream holds (a pool connection) as long as it liked.
    The stream is then cut without its final line."""

    def __init__(self, content: AsyncIterator[bytes], cleanup: Callable[[], Awaitable[None]],
                 max_seconds: float | None = None, **kwargs: Any):
        super().__init__(content, **kwargs)
        self._cleanup = cleanup
        self._max_seconds = max_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with asyncio.timeout(self._max_seconds):
                await super().__call__(scope, receive, send)
        except TimeoutError:
            log.warning("a streamed answer of %s was cut after %s s (its client read too slowly)", scope.get("path"),
                        self._max_seconds)
        finally:
            await self._cleanup()


async def snapshot(request: Request) -> Response:
    consumer = request.scope.get("hub.consumer")
    name = request.path_params["dataset"]
    fmt = request.query_params.get("format", "ndjson")
    operation = f"sync.snapshot {name} ({fmt})"
    access = None
    try:
        access = await access_for(request, consumer)
        dataset = authorize(access, name, write=False)
        if fmt not in ("ndjson", "csv"):
            raise BadUserInput("format must be ndjson or csv", argument="format")
        db = request.app.state.db
        dept = db.departments[dataset.department]
        snap = Snapshot(dept.pool, db.registry, dataset.name, fmt, access.maskers(dataset),
                        acquire_timeout=dept.acquire_timeout)
        cursor = (await snap.open()).encode()
    except Exception as exc:  # noqa: BLE001
        return await _failed(request, consumer, access, operation, "query", exc)
    audited = False

    def final(payload: dict[str, Any]) -> bytes:
        if fmt == "csv":
            return ("#" + ";".join(f"{k}={v}" for k, v in payload.items()) + "\n").encode()
        return orjson.dumps(payload) + b"\n"

    async def body() -> AsyncIterator[bytes]:
        nonlocal audited
        try:
            async for chunk in snap.chunks():
                yield chunk
        except Exception as exc:  # noqa: BLE001 - the status is sent: end with an error line, no cursor
            mapped = from_db_error(exc)
            code = mapped.code if mapped is not None else "INTERNAL_SERVER_ERROR"
            log.error("snapshot of %s failed after %d rows", name, snap.rows, exc_info=True)
            note_rows(access, dataset, snap.rows)
            audited = True
            try:  # shielded: a cut (the deadline) meanwhile must not leave the cleanup a second entry to write
                await asyncio.shield(audit(request, consumer, access, operation, "query", [code]))
            except Exception:  # noqa: BLE001 - the answer ends in an error anyway
                log.error("AUDIT LOG UNAVAILABLE: could not record failed %s", operation, exc_info=True)
            yield final({"error": code})
            return
        note_rows(access, dataset, snap.rows)
        # The entry is this request's one: set before the wait and shielded, so that a cut while it is written (the
        # deadline cancels the stream wherever it is) does not make the cleanup write a second (CANCELLED) entry.
        audited = True
        try:
            await asyncio.shield(audit(request, consumer, access, operation, "query", []))
        except Exception:  # noqa: BLE001 - fail closed: without the final line the client discards the rows
            log.error("AUDIT LOG UNAVAILABLE: %s ends without its cursor", operation, exc_info=True)
            yield final({"error": "SERVICE_UNAVAILABLE"})
            return
        yield final({"cursor": cursor, "rows": snap.rows})

    async def cleanup() -> None:
        await snap.close()
        if not audited:  # the client went away mid-stream
            note_rows(access, dataset, snap.rows)
            try:
                await audit(request, consumer, access, operation, "query", ["CANCELLED"])
            except Exception:  # noqa: BLE001
                log.error("AUDIT LOG UNAVAILABLE: could not record cancelled %s", operation, exc_info=True)

    media = "text/csv; charset=utf-8" if fmt == "csv" else NDJSON
    return _ClosingStream(body(), cleanup, request.app.state.settings.sync_snapshot_max_seconds, media_type=media,
                          headers={"x-hub-cursor": cursor, "cache-control": "no-store"})


def ingest_format(request: Request) -> tuple[str, str]:
    """(format, codec): the body's format and, for CSV, the codec of its ``charset`` (NDJSON is UTF-8)."""
    ctype, _, params = request.headers.get("content-type", "").partition(";")
    ctype = ctype.strip().lower()
    fmt = request.query_params.get("format")
    if fmt is None:
        fmt = ("csv" if ctype in _CSV_TYPES else "ndjson" if ctype in _NDJSON_TYPES else "xlsx" if ctype == XLSX
               else None)
        if fmt is None:
            raise UnsupportedMediaType(f"unsupported Content-Type {ctype or '(none)'}: send {NDJSON}, text/csv or "
                                       f"{XLSX} (or ?format=ndjson|csv|xlsx)", argument="Content-Type")
    if fmt not in ("ndjson", "csv", "xlsx"):
        raise BadUserInput("format must be ndjson, csv or xlsx", argument="format")
    charset = next((v.strip() for k, _, v in (p.partition("=") for p in params.split(";"))
                    if k.strip().lower() == "charset"), None)
    if fmt == "xlsx":
        return fmt, "utf-8"  # a workbook's text is in its XML: a charset parameter says nothing about it
    codec = csv_codec(charset)
    if fmt == "ndjson" and codec != "utf-8":  # JSON is UTF-8 (RFC 8259)
        codec = None
    if codec is None:
        readable = ", ".join(CSV_CHARSETS) if fmt == "csv" else "utf-8"
        raise UnsupportedMediaType(f"unsupported charset {charset} for {fmt}: {fmt} is read as {readable}",
                                   argument="Content-Type", charset=charset, supported=readable.split(", "))
    return fmt, codec


async def ingest_endpoint(request: Request) -> Response:
    consumer = request.scope.get("hub.consumer")
    name = request.path_params["dataset"]
    operation = f"ingest {name}"
    access = None
    try:
        access = await access_for(request, consumer)
        dataset = authorize(access, name, write=True)
        fmt, codec = ingest_format(request)
        key = request.headers.get("idempotency-key")
        if key is not None and not _KEY.match(key):
            raise BadUserInput("Idempotency-Key must be 1-200 printable ASCII characters", argument="Idempotency-Key")
        spec = ingest_specs()[dataset.name]
        settings = request.app.state.settings
        required = [c.name for c in spec.columns if c.required and c.default is None]
        if fmt == "csv":
            records = csv_records(request.stream(), spec.names, required, codec=codec)
        elif fmt == "xlsx":
            records = xlsx_records(request.stream(), spec.names, required)
        else:
            records = ndjson_records(request.stream())
        entries: list[AuditEntry] = []

        def audit_draft(stored: dict[str, Any]) -> AuditEntry:
            """The entry this request writes for the applied batch, kept with it in the audit outbox (counting the
            rows and masked fields of its writer's view, on ``access`` only once the batch has committed)."""
            entries.append(drafted(access, dataset, spec, stored,
                                   lambda: entry_of(request, consumer, access, operation, "mutation", [])))
            return entries[-1]

        result = await ingest(request.app.state.db, spec, records, consumer=consumer, idempotency_key=key, fmt=fmt,
                              report_limit=settings.ingest_report_rejects, timeout_ms=settings.ingest_timeout_ms,
                              audit_draft=audit_draft)
    except BodyTooLarge:
        await _failed(request, consumer, access, operation, "mutation", BadUserInput("body too large"))
        raise  # the body-size middleware answers 413
    except ClientDisconnect:
        log.info("%s: the client went away while sending; nothing was applied", operation)
        await _failed(request, consumer, access, operation, "mutation", BadUserInput("client disconnected"))
        return Response(status_code=400)
    except Exception as exc:  # noqa: BLE001
        return await _failed(request, consumer, access, operation, "mutation", exc)
    report = {**writer_view(access, dataset, spec, result.report), "replayed": result.replayed}
    if not result.replayed:
        record_ingest_metrics(request.app, result.report)
    # The batch is stored whether or not its entry can be written: the writer's next reads and the published
    # statistics follow it either way (as for the GraphQL mutation, whose resolver does this before its entry).
    after_write(request.app.state.db, consumer.id, result)
    try:
        if result.pending is None:  # a replay: its own entry
            await audit(request, consumer, access, operation, "mutation", [])
        else:  # the entry kept with the batch in the audit outbox, then cleared from it
            await append(request.app.state.db, entries[-1])
            await outbox_clear(request.app.state.db, [result.pending])
    except Exception:  # noqa: BLE001 - applied, its entry kept in the outbox (drained later): say so
        log.error("AUDIT LOG UNAVAILABLE: %s was applied; its entry waits in the audit outbox", operation,
                  exc_info=True)
        return error_response(ServiceUnavailable("audit log unavailable (the batch was applied; retry with the same "
                                                 "Idempotency-Key for its report)"))
    return JSONResponse(report, headers={"idempotent-replayed": "true" if result.replayed else "false"})


def routes() -> list[Route]:
    return [
        Route("/sync/{dataset}/changes", changes, methods=["GET"]),
        Route("/sync/{dataset}/snapshot", snapshot, methods=["GET"]),
        Route("/ingest/{dataset}", ingest_endpoint, methods=["POST"]),
    ]
