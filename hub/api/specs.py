"""Batch specifications of the fields that fetch data: how a field gets its value for MANY parents at once.

The general GraphQL path resolves a join per parent through a DataLoader (``ctx.loader(X).load(key)``);
the compiled path for trusted documents (``hub.api.fastpath``) resolves it once per nesting level for all
parents. Both go through the same loader classes and SQL files; a spec says which loader and which key
attribute a field uses, so the two paths cannot fetch different data (a test compares their responses
byte for byte for every registered operation).

Specs register themselves by (GraphQL parent type, GraphQL field name) in ``JOINS`` / ``ROOTS`` when their
resolvers package loads (``hub.assembly.contributions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Sequence

from hub.api.pagination import build_connection

if TYPE_CHECKING:
    from hub.api.context import Context

JOINS: dict[tuple[str, str], "Join"] = {}
ROOTS: dict[str, "Root"] = {}


def _unique(keys: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(k for k in keys if k is not None))


def enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@dataclass
class Join:
    """A field of ``type_name`` whose values for a list of parents come from one batch."""

    type_name: str
    field: str

    def __post_init__(self) -> None:
        JOINS[(self.type_name, self.field)] = self

    async def batch(self, ctx: "Context", parents: Sequence[Any], args: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    async def one(self, ctx: "Context", parent: Any, args: dict[str, Any]) -> Any:
        """The general path: the value for one parent. The parents resolved together (a nesting level) go to ONE
        ``batch`` call, the compiled path's, through the request's ``JoinLoader`` of this spec and arguments (the
        field's arguments by python name, as the compiled path passes them: not a resolver's ``locals()``).
        ``ByKey``, ``Many`` and ``Page`` load their keys through the shared loader of their class instead, so other
        fields reading the same rows share its cache."""
        return await ctx.join_loader(self, args).load(parent)


async def join_value(info: Any, parent: Any) -> Any:
    """The general path's resolver of a join without arguments: its spec (by GraphQL parent type and field name)
    for one parent, so the general and the compiled path cannot disagree on what a join fetches."""
    return await JOINS[(info.path.typename, info.field_name)].one(info.context, parent, {})


@dataclass
class ByKey(Join):
    """One object (or None) per parent, through a ByKeyLoader keyed by ``getattr(parent, key)``."""

    loader: type = None  # type: ignore[assignment]
    key: str = ""

    async def one(self, ctx, parent, args):
        key = getattr(parent, self.key)
        return None if key is None else await ctx.loader(self.loader).load(key)

    async def batch(self, ctx, parents, args):
        keys = [getattr(p, self.key) for p in parents]
        unique = _unique(keys)
        found = dict(zip(unique, await ctx.loader(self.loader).batch_load_fn(unique))) if unique else {}
        return [found.get(k) if k is not None else None for k in keys]


@dataclass
class Many(ByKey):
    """A list per parent, through a ManyByKeyLoader."""

    async def one(self, ctx, parent, args):
        key = getattr(parent, self.key)
        return [] if key is None else await ctx.loader(self.loader).load(key)

    async def batch(self, ctx, parents, args):
        keys = [getattr(p, self.key) for p in parents]
        unique = _unique(keys)
        found = dict(zip(unique, await ctx.loader(self.loader).batch_load_fn(unique))) if unique else {}
        return [found.get(k, []) if k is not None else [] for k in keys]


@dataclass
class Page(Join):
    """A connection per parent (first N children after a cursor), through a PageByKeyLoader.

    ``filters`` are the field's python argument names passed to the SQL after the page arguments.
    """

    loader: type = None  # type: ignore[assignment]
    key: str = ""
    filters: tuple[str, ...] = ()
    connection: type = None  # type: ignore[assignment]
    convert: Callable[[Any], Any] = None  # type: ignore[assignment]

    def load_key(self, ctx, parent_key, args):
        page = ctx.page(args.get("first"), args.get("after"))
        return page, (parent_key, *self._rest(page, args))

    def _rest(self, page, args) -> tuple[Any, ...]:
        """A loader key without its parent's key: the same for every parent of one field."""
        return (page.fetch, page.after_id, *(enum_value(args.get(f)) for f in self.filters))

    async def one(self, ctx, parent, args):
        """The general path: one parent through the request's DataLoader."""
        page, key = self.load_key(ctx, getattr(parent, self.key), args)
        rows = await ctx.loader(self.loader).load(key)
        return build_connection(self.connection, rows, page, self.convert)

    async def batch(self, ctx, parents, args, narrowed=None):
        """``narrowed``: (the loader's subclass reading fewer columns, its converter), ``hub.api.fused.narrowed_page``."""
        loader, convert = narrowed or (self.loader, self.convert)
        page = ctx.page(args.get("first"), args.get("after"))
        rest = self._rest(page, args)
        keys = [(getattr(p, self.key), *rest) for p in parents]
        unique = list(dict.fromkeys(keys))
        found = dict(zip(unique, await ctx.loader(loader).batch_load_fn(unique))) if unique else {}
        return [build_connection(self.connection, found[k], page, convert) for k in keys]


@dataclass
class Custom(Join):
    """Anything else: ``fn(ctx, parents, args)`` returns the values aligned with the parents, on both paths (the
    general path's resolver is ``join_value``: ``Join.one`` batches a level's parents into one ``fn`` call)."""

    fn: Callable[..., Any] = None  # type: ignore[assignment]

    async def batch(self, ctx, parents, args):
        return await self.fn(ctx, parents, args)


@dataclass
class Root:
    """A root field answered by one statement (a page) or one batch (a lookup)."""

    field: str

    def __post_init__(self) -> None:
        ROOTS[self.field] = self

    async def fetch(self, ctx: "Context", args: dict[str, Any]) -> Any:
        raise NotImplementedError


@dataclass
class RootPage(Root):
    """A root connection: ``sql/queries/<query>.sql`` with ``$1`` after id, ``$2`` rows, then ``params``.

    ``params`` are (python argument name, transform) pairs, in the SQL's parameter order.
    """

    dept: str = ""
    query: str = ""
    params: tuple[tuple[str, Callable[[Any], Any] | None], ...] = ()
    connection: type = None  # type: ignore[assignment]
    convert: Callable[[Any], Any] = None  # type: ignore[assignment]

    async def fetch(self, ctx, args):
        page, values = self.parameters(ctx, args)
        rows = await ctx.db.departments[self.dept].fetch(self.query, page.after_id, page.fetch, *values)
        return build_connection(self.connection, rows, page, self.convert)

    def parameters(self, ctx, args) -> tuple[Any, list[Any]]:
        """The page (``$1`` after id, ``$2`` rows) and the values of ``$3``... (also for the compiled path's
        statement that fuses this page with its nodes' key joins, ``hub.api.fused``)."""
        page = ctx.page(args.get("first"), args.get("after"))
        return page, [(t(enum_value(args.get(n))) if t else enum_value(args.get(n))) for n, t in self.params]


@dataclass
class RootByKey(Root):
    """A lookup by natural key through a ByKeyLoader (null when unknown)."""

    loader: type = None  # type: ignore[assignment]
    argument: str = ""

    async def fetch(self, ctx, args):
        return await ctx.loader(self.loader).load(args[self.argument])
