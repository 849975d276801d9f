"""``create_app(settings)``: the only way to build the hub's ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from hub.api.graphiql import STATIC_DIR
from hub.api.schema import build_schema
from hub.api.view import HubGraphQL
from hub.api.ws_limits import SocketSlots
from hub.assembly import contributions
from hub.db.migrate import pending
from hub.db.pools import Databases
from hub.errors import SetupError
from hub.governance import audit_outbox
from hub.governance.access import PolicyStore
from hub.governance.audit_turn import HostTurn
from hub.governance.audit_writer import AuditWriter
from hub.governance.checkpoints import signer_from_settings
from hub.http.app_state import AppState
from hub.http.auth import AuthenticationMiddleware, ConsumerCache
from hub.http.errors import exception_handlers
from hub.http.limits import BodySizeLimitMiddleware, RateLimitMiddleware, TokenBuckets
from hub.http.metrics_access import metrics_token, protected
from hub.http.overload import Admission, OverloadMiddleware
from hub.http.pages import landing
from hub.http.paths import ControlCharacterPathMiddleware
from hub.http.shortcut import GRAPHQL_METHODS, GRAPHQL_PATH, ShortcutMiddleware
from hub.http.socket_table import SocketTable
from hub.settings import Settings
from hub.sync.http import routes as sync_routes
from hub.sync.runtime import SyncRuntime
from hub.telemetry.logs import configure_logging, flush_access_lines
from hub.telemetry.metrics import HubMetrics, metrics_endpoint
from hub.telemetry.observe import TelemetryMiddleware
from hub.telemetry.tracing import Telemetry, TracerProvider, provider_from_env

log = logging.getLogger("hub.app")


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Every department database answers and its migrations are current."""
    db: Databases = request.app.state.db
    checks: dict[str, str] = {}
    ready = True
    for url in db.distinct_urls():
        pool = next(p for d, p in db.pools.items() if db.url_of(d) == url)
        name = ",".join(d for d in db.pools if db.url_of(d) == url)
        try:
            async with pool.acquire(timeout=2) as conn:
                todo = await pending(conn)
            checks[name] = "ok" if not todo else f"{len(todo)} pending migration(s)"
            ready = ready and not todo
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks[name] = f"unavailable: {type(exc).__name__}"
            ready = False
    return JSONResponse({"status": "ready" if ready else "unavailable", "databases": checks},
                        status_code=200 if ready else 503)


GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """For a long-running server: move everything allocated at start-up (schema, plans, modules) out of
    the collector's sight with ``gc.freeze()``, and collect the young generation less often (a request
    allocates thousands of short-lived objects; the default threshold of 700 collects many times per
    request)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings, tracer_provider: TracerProvider | None = None) -> Starlette:
    """The hub's ASGI app. ``tracer_provider``: where its spans go (tests and benchmarks pass their own);
    by default the one the ``OTEL_*`` variables describe (``hub.telemetry.tracing.provider_from_env``)."""
    if settings.database_url is None:
        raise SetupError("create_app needs settings.database_url (hub serve starts the embedded PostgreSQL "
                         "and passes its URL)")
    schema = build_schema(settings)
    signer = signer_from_settings(settings)  # None (said once) without HUB_AUDIT_SIGNING_KEY; SetupError: bad key
    owned = tracer_provider is None
    telemetry = Telemetry(provider_from_env(environment=settings.env) if owned else tracer_provider,
                          HubMetrics(settings.metrics_max_operations, databases=lambda: getattr(app.state, "db", None)),
                          resolver_spans=settings.trace_resolvers, owns_provider=owned)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Databases(settings, settings.database_url, telemetry=telemetry)
        await db.open()
        app.state.db = db
        # The process's audit group commit (hub.governance.audit_writer); hub.governance.audit.append finds it on the primary.
        # The workers of `hub serve --workers N` take turns at the chain (hub.governance.audit_turn).
        app.state.audit = db.audit_writer = AuditWriter(db.hub, turn=HostTurn.from_env())
        app.state.policy = PolicyStore(db, settings.policy_cache_seconds)
        app.state.consumers = ConsumerCache(settings.policy_cache_seconds)
        app.state.sync = await SyncRuntime.start(db, settings)  # change notifier + change-log retention
        # background work of the resolvers packages (labor folds its posting counters)
        background = [asyncio.ensure_future(task(db, settings)) for c in contributions() for task in c.background]
        # Signed checkpoints of the audit chain's head (hub.governance.checkpoints), on a connection of its own.
        checkpoints = asyncio.ensure_future(signer.run(db.url_of("bigdata"))) if signer is not None else None
        # The audit entries of writes made while the log could not take them (hub.governance.audit_outbox).
        outbox = (asyncio.ensure_future(audit_outbox.run(db, settings.audit_outbox_seconds))
                  if settings.audit_outbox_seconds > 0 else None)
        if settings.gc_tuning:
            tune_gc()
        gc.callbacks.append(telemetry.metrics.gc_callback)  # hub_gc_pause_seconds
        pool_metrics = telemetry.metrics.start_worker()  # multiprocess mode only (hub serve --workers N)
        try:
            yield
        finally:
            gc.callbacks.remove(telemetry.metrics.gc_callback)
            for task in (*background, checkpoints, outbox, pool_metrics):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            await app.state.sync.stop()
            await app.state.audit.close()  # flush the queued audit entries while the pools are open
            await db.close()
            telemetry.metrics.end_worker()
            telemetry.flush()
            flush_access_lines()

    graphql_app = HubGraphQL(schema, settings)
    routes = [
        Route(GRAPHQL_PATH, graphql_app, methods=list(GRAPHQL_METHODS)),  # also reached by ShortcutMiddleware
        WebSocketRoute(GRAPHQL_PATH, graphql_app),  # subscriptions (graphql-transport-ws), e.g. datasetChanged
        Route("/", landing, methods=["GET"]),  # links for people with a browser (hub.http.pages)
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        *sync_routes(),  # /sync/{dataset}/changes, /sync/{dataset}/snapshot, /ingest/{dataset}
        # the resolvers packages' routes: analytics' /reports/{year}, /reports/{year}.csv, /reports/{year}.json
        *(route for c in contributions() if c.routes is not None for route in c.routes()),
    ]
    if settings.metrics:  # open, or for the scraper holding HUB_METRICS_TOKEN_FILE's token (hub.http.metrics_access)
        routes.append(Route("/metrics", protected(metrics_endpoint, metrics_token(settings)), methods=["GET"]))
    admission = Admission(settings.max_in_flight, settings.max_queued, settings.queue_timeout_ms / 1000)
    # One per-consumer limiter per app, shared with the other workers of `hub serve` (hub.http.rate_table).
    rate_limiter = TokenBuckets.for_settings(settings)
    middleware = [
        # Outermost first: the server span, traceresponse header, request metrics and access line (so that
        # 401/413/429 answers are traced too), body size (before anything reads the body), authentication,
        # then the per-consumer rate limit (it needs scope["hub.consumer"]).
        Middleware(TelemetryMiddleware, telemetry=telemetry, access_log=settings.access_log,
                   routes=[r.path for r in routes if isinstance(r, Route)]),
        # Bounded admission (hub.http.overload): beyond max_in_flight + max_queued, a fast 503 + Retry-After.
        Middleware(OverloadMiddleware, admission=admission),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                   path_limits={"/ingest/": settings.ingest_max_body_bytes}),
        Middleware(AuthenticationMiddleware),
        Middleware(RateLimitMiddleware, rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst,
                   limiter=rate_limiter),
        # GET and POST /graphql go to the GraphQL view without starlette's router (hub.http.shortcut).
        Middleware(ShortcutMiddleware, endpoint=graphql_app),
        # Innermost, so that the requests the shortcut answers do not pay for it: a path with a control character
        # (/metrics%0A) is no route's, whatever starlette's patterns say (hub.http.paths).
        Middleware(ControlCharacterPathMiddleware),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware, exception_handlers=exception_handlers())
    app.state = AppState()  # read on every request: values as plain attributes (hub.http.app_state)
    app.state.settings = settings
    app.state.schema = schema
    app.state.admission = admission
    app.state.rate_limiter = rate_limiter
    # The authenticated websockets each consumer holds open (hub.api.ws_limits), counted with the other workers of
    # `hub serve` (hub.http.socket_table).
    app.state.sockets = SocketSlots(settings.ws_max_sockets_per_consumer, telemetry.metrics,
                                    SocketTable.for_settings(settings))
    app.state.telemetry = telemetry
    app.state.metrics = telemetry.metrics
    app.state.checkpoints = signer
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (used by ``hub serve --workers N``): each worker process sets up
    its logging and its tracer provider from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format, uvicorn_access=not settings.access_log)
    return create_app(settings)
