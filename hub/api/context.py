"""The per-request (per websocket operation) context: settings, department pools, access and DataLoaders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from hub.api.loaders import JoinLoader
from hub.api.pagination import Page, page_args

if TYPE_CHECKING:
    from hub.api.specs import Join
    from hub.db.pools import Databases
    from hub.governance.access import Access
    from hub.governance.audit import AuditEntry
    from hub.governance.audit_outbox import Pending
    from hub.governance.consumers import Consumer
    from hub.settings import Settings

L = TypeVar("L")


class Context:
    """Built by ``get_context`` for every request; loaders are created here and nowhere else.

    ``ctx.loader(EnterpriseByUsccLoader)`` returns this request's instance of that loader (made on
    first use, so a request pays only for the loaders it needs).
    """

    def __init__(self, settings: "Settings", db: "Databases", access: "Access", request: Any = None,
                 response: Any = None):
        self.settings = settings
        self.db = db
        self.access = access
        self.consumer: "Consumer | None" = access.consumer
        self.request = request
        self.response = response
        self.cost: int | None = None
        self.connection_params: dict[str, Any] | None = None  # graphql-transport-ws connection_init payload
        self.token_hash: str | None = None  # the bearer token's SHA-256 (a socket re-checks it per operation)
        self.subscription_started = False  # set by hub.api.ws_auth once a subscription's stream exists (audit)
        self.socket_slot: Any = None  # a connection's place under its consumer's socket cap (hub.api.ws_limits)
        # The audit outbox (hub.governance.audit_outbox): the operation's entry as it stands (set by
        # hub.api.audit.AuditExtension), kept with each write it makes, and those kept entries, deleted once the
        # operation's own entry is in the log.
        self.audit_draft: "Callable[[], AuditEntry] | None" = None
        self.audit_outbox: "list[Pending]" = []
        self._loaders: dict[type, Any] = {}
        self._join_loaders: dict[tuple, JoinLoader] = {}

    def for_operation(self, access: "Access") -> "Context":
        """A fresh context for one operation on this (websocket) connection: its own access decision, loaders
        and audit record, nothing shared with the connection's other operations."""
        context = Context(self.settings, self.db, access, request=self.request, response=self.response)
        context.connection_params = self.connection_params
        context.token_hash = self.token_hash
        return context

    def loader(self, cls: type[L]) -> L:
        instance = self._loaders.get(cls)
        if instance is None:
            instance = self._loaders[cls] = cls(self)
        return instance

    def join_loader(self, join: "Join", args: dict[str, Any]) -> JoinLoader:
        """This request's batch of ``join`` for these arguments (``Join.one``; made on first use)."""
        key = (join.type_name, join.field, _frozen(args))
        instance = self._join_loaders.get(key)
        if instance is None:
            instance = self._join_loaders[key] = JoinLoader(self, join, args)
        return instance

    def page(self, first: int | None, after: str | None) -> Page:
        return page_args(first, after, self.settings.default_page_size, self.settings.max_page_size)


def _frozen(value: Any) -> Any:
    """Argument values as a dict key (GraphQL lists and input objects arrive as lists and dicts)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value
