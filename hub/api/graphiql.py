"""Self-hosted GraphiQL page for the Talent Data Hub.

Department intranets have no internet access, so every file the page needs
(GraphiQL, React, ReactDOM, CSS with embedded fonts) is vendored under
``hub/static/graphiql/`` and served by the hub itself. The page contains no
CDN URL and no inline ``<script>``: configuration travels in ``data-*``
attributes of the root element and is read by ``hub-graphiql.js``.

Server wiring (see the module-level docs in ``hub-graphiql.js`` too)::

    from starlette.staticfiles import StaticFiles
    from hub.api.graphiql import STATIC_DIR, graphiql_html

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # GET /graphql with "text/html" in Accept -> HTMLResponse(graphiql_html())
"""

from __future__ import annotations

import hashlib
import html
from functools import lru_cache
from pathlib import Path

__all__ = ["STATIC_DIR", "GRAPHIQL_DIR", "STYLESHEETS", "SCRIPTS", "ICON", "DEFAULT_QUERY", "graphiql_html"]

STATIC_DIR: Path = Path(__file__).parent.parent / "static"
GRAPHIQL_DIR: Path = STATIC_DIR / "graphiql"

# Paths relative to STATIC_DIR, in load order.
STYLESHEETS: tuple[str, ...] = (
    "graphiql/graphiql.min.css",
    "graphiql/hub-graphiql.css",
)
SCRIPTS: tuple[str, ...] = (
    "graphiql/react.production.min.js",
    "graphiql/react-dom.production.min.js",
    "graphiql/graphiql.min.js",
    "graphiql/hub-graphiql.js",
)
ICON: str = "graphiql/favicon.svg"

DEFAULT_QUERY: str = """\
# Talent Data Hub GraphQL API
#
# To authenticate, paste this into the Headers tab
# below the editor:
#   {"Authorization": "Bearer <token>"}
# (Headers are saved in this browser; switch that
# off or clear them under Settings, bottom left.)
#
# Run a query: Ctrl+Enter (Cmd+Enter on macOS).
# Autocomplete: Ctrl+Space. Schema docs: book icon.

{
  __typename
}
"""


@lru_cache(maxsize=None)
def _asset_version(relative: str) -> str:
    """Short content hash of a static file, used as a cache-busting query string."""
    path = STATIC_DIR / relative
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"GraphiQL asset missing: {path}") from None
    return hashlib.sha256(data).hexdigest()[:12]


def _normalise_prefix(static_prefix: str) -> str:
    prefix = static_prefix.rstrip("/")
    if "://" in prefix or prefix.startswith("//"):
        raise ValueError(
            "static_prefix must be a path on the hub itself (e.g. '/static'), "
            f"not an external URL: {static_prefix!r}"
        )
    return prefix


def graphiql_html(
    endpoint: str = "/graphql",
    static_prefix: str = "/static",
    title: str = "Talent Data Hub — GraphiQL",
) -> str:
    """Return the complete GraphiQL HTML page.

    The page loads only ``{static_prefix}/graphiql/...`` files (vendored under
    :data:`STATIC_DIR`) and POSTs operations to ``endpoint``.
    """
    prefix = _normalise_prefix(static_prefix)
    esc = lambda value: html.escape(value, quote=True)  # noqa: E731

    def url(relative: str) -> str:
        return esc(f"{prefix}/{relative}?v={_asset_version(relative)}")

    links = "\n".join(f'    <link rel="stylesheet" href="{url(rel)}">' for rel in STYLESHEETS)
    scripts = "\n".join(f'    <script src="{url(rel)}" defer></script>' for rel in SCRIPTS)

    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <title>{esc(title)}</title>
    <link rel="icon" type="image/svg+xml" href="{url(ICON)}">
{links}
{scripts}
  </head>
  <body>
    <p class="hub-banner"><strong>{esc(title)}</strong> · To authenticate, paste
      <code>{esc('{"Authorization": "Bearer <token>"}')}</code> into the <em>Headers</em> tab
      below the query editor (saved in this browser; see Settings).</p>
    <div id="graphiql" data-endpoint="{esc(endpoint)}" data-default-query="{esc(DEFAULT_QUERY)}" data-persist-headers="true">
      <p class="hub-loading">Loading GraphiQL… If this message stays, the page's script files under
        <code>{esc(prefix)}/graphiql/</code> did not load.</p>
      <noscript><p class="hub-noscript">GraphiQL needs JavaScript. Without it, send GraphQL requests as
        JSON <code>POST</code>s to <code>{esc(endpoint)}</code>.</p></noscript>
    </div>
  </body>
</html>
"""
