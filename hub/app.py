"""``create_app(settings)``: the only way to build the hub's ASGI application."""

from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hub.access import PolicyStore
from hub.auth import AuthenticationMiddleware, ConsumerCache
from hub.db import Databases
from hub.errors import SetupError
from hub.graphql_view import HubGraphQL
from hub.limits import BodySizeLimitMiddleware, RateLimitMiddleware
from hub.schema import build_schema
from hub.settings import Settings

log = logging.getLogger("hub.app")


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Every department database answers and its migrations are current."""
    from hub.migrate import pending

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


def create_app(settings: Settings) -> Starlette:
    if settings.database_url is None:
        raise SetupError("create_app needs settings.database_url (hub serve starts the embedded PostgreSQL "
                         "and passes its URL)")
    schema = build_schema(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Databases(settings, settings.database_url)
        await db.open()
        app.state.db = db
        app.state.policy = PolicyStore(db, settings.policy_cache_seconds)
        app.state.consumers = ConsumerCache(settings.policy_cache_seconds)
        try:
            yield
        finally:
            await db.close()

    from hub.graphiql import STATIC_DIR

    routes = [
        Route("/graphql", HubGraphQL(schema, settings), methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [
        # Outermost first: body size (before anything reads the body), authentication, then the
        # per-consumer rate limit (it needs scope["hub.consumer"]).
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(AuthenticationMiddleware),
        Middleware(RateLimitMiddleware, rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.settings = settings
    app.state.schema = schema
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (used by ``hub serve --workers N``)."""
    return create_app(Settings.from_env())
