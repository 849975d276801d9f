"""The shape of the graphql-transport-ws messages a client sends, checked before the handler reads them.

strawberry's handler (0.341) reads a message's fields as if the protocol were always followed: a frame that is JSON
but not an object, an ``id`` that is not a string, a ``payload`` that is not an object raised out of the websocket
application (uvicorn logged "Exception in ASGI application" with a traceback and dropped the connection without a
close code), and a ``subscribe`` whose ``query`` is not a string left its operation without any answer, holding one
of the socket's ``MAX_OPERATIONS_PER_SOCKET`` places until the socket closed; a non-object ``variables`` was
ignored and a non-string ``operationName`` was an INTERNAL_SERVER_ERROR, where HTTP answers 400 for both.

``problem`` says what is wrong with a message, in the terms of the protocol
(https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md, whose reference server checks the same); the
handler (``hub.api.ws_handler``) then closes the socket with 4400, as the protocol prescribes for an invalid
message. Hand-written: no library validates graphql-transport-ws messages, and strawberry only declares their types.
"""

from __future__ import annotations

from typing import Any

# The messages whose fields the handler reads besides ``type``; strawberry checks connection_init's payload itself
# and closes the socket (4400) on an unknown type.
_WITH_ID = ("subscribe", "complete")
_OPTIONAL_OBJECTS = ("variables", "extensions")


def problem(message: Any) -> str | None:
    """Why ``message`` (decoded JSON) is not a message of the protocol, or None. Short: a close reason."""
    if not isinstance(message, dict):
        return "Invalid message: not a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "Invalid message: type must be a string"
    if kind not in _WITH_ID:
        return None
    if not isinstance(message.get("id"), str) or not message["id"]:
        return f"Invalid {kind} message: id must be a non-empty string"
    if kind == "complete":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "Invalid subscribe message: payload must be an object"
    if not isinstance(payload.get("query"), str):
        return "Invalid subscribe message: query must be a string"
    if not isinstance(payload.get("operationName"), (str, type(None))):
        return "Invalid subscribe message: operationName must be a string or null"
    for name in _OPTIONAL_OBJECTS:
        if not isinstance(payload.get(name), (dict, type(None))):
            return f"Invalid subscribe message: {name} must be an object or null"
    return None
