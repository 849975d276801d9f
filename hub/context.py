"""The per-request context: settings, department pools and this request's DataLoaders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from hub.pagination import Page, page_args

if TYPE_CHECKING:
    from hub.access import Access
    from hub.consumers import Consumer
    from hub.db import Databases
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
        self._loaders: dict[type, Any] = {}

    def loader(self, cls: type[L]) -> L:
        instance = self._loaders.get(cls)
        if instance is None:
            instance = self._loaders[cls] = cls(self)
        return instance

    def page(self, first: int | None, after: str | None) -> Page:
        return page_args(first, after, self.settings.default_page_size, self.settings.max_page_size)
