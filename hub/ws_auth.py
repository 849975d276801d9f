"""Authentication of GraphQL websockets (graphql-transport-ws) in ``connection_init``.

``hub.auth`` lets a websocket without an Authorization header through with ``scope["hub.consumer"] = None``
(a browser cannot set headers on a websocket). The client then sends the token in the ``connection_init``
payload, ``{"Authorization": "Bearer <token>"}``; ``HubGraphQL.on_ws_connect`` calls ``authenticate_ws``
and refuses the connection (close code 4403) when it fails. The token is checked exactly as for HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.access import Access
from hub.consumers import hash_token

log = logging.getLogger("hub.auth")


async def authenticate_ws(context: Any) -> bool:
    """Set the context's consumer and access from the connection_init payload; False when not authentic."""
    params = context.connection_params or {}
    raw = params.get("Authorization", params.get("authorization"))
    if not isinstance(raw, str):
        return False
    scheme, _, token = raw.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    websocket = context.request
    state = websocket.app.state
    try:
        consumer = await state.consumers.lookup(state.db, hash_token(token.strip()))
        if consumer is None:
            return False
        catalog = await state.policy.catalog()
        grants = await state.policy.grants(consumer.department)
    except Exception:  # noqa: BLE001 - the database is unavailable: refuse, the client reconnects
        log.warning("websocket authentication failed", exc_info=True)
        return False
    context.consumer = consumer
    context.access = Access(consumer, catalog, grants)
    websocket.scope["hub.consumer"] = consumer
    return True
