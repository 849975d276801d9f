"""DataLoader bases: one SQL statement per batch, on the owning department's pool.

Loaders are named ``<Thing>By<Key>Loader`` and return values in key order: ``None`` for a missing
key (``ByKeyLoader``), a list for one-to-many (``ManyByKeyLoader``), a page of rows for "first N
children per parent" (``PageByKeyLoader``, keyset-paginated with LATERAL, one statement per level).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Hashable, Sequence

import asyncpg
from aiodataloader import DataLoader

from hub.telemetry.tracing import count_batch_rows

if TYPE_CHECKING:
    from hub.api.context import Context
    from hub.api.specs import Join


class SqlLoader(DataLoader):
    dept: ClassVar[str]
    query: ClassVar[str]
    convert: ClassVar[Callable[[Any], Any]] = staticmethod(lambda r: r)

    def __init__(self, ctx: "Context"):
        super().__init__()
        # The loader keeps the request's databases, not the context: no reference cycle, so a request's
        # loaders, their caches and the objects in them are freed by reference counting when it ends
        # (cyclic garbage would wait for the collector, whose pauses are tail latency).
        self.db = ctx.db

    async def batch_load_fn(self, keys: Sequence[Hashable]) -> list[Any]:
        """One batch (aiodataloader's dispatch and the compiled path call this): the subclass's
        ``load_batch`` with the batch-size metric and one span per batch."""
        telemetry = getattr(self.db, "telemetry", None)
        if telemetry is None:
            return await self.load_batch(keys)
        return await telemetry.loader_batch(type(self).__name__, keys, self.load_batch)

    async def load_batch(self, keys: Sequence[Hashable]) -> list[Any]:
        raise NotImplementedError

    async def fetch(self, *args: Any) -> list[Any]:
        rows = await self.db.departments[self.dept].fetch(self.query, *args)
        count_batch_rows(len(rows))
        return rows


class ByKeyLoader(SqlLoader):
    """One row per key; the query takes ``$1`` = array of keys and returns column ``key_column``."""

    key_column: ClassVar[str]

    async def load_batch(self, keys: Sequence[Hashable]) -> list[Any]:
        rows = await self.fetch(list(keys))
        key = self.key_column
        found = dict(zip([r[key] for r in rows], convert_rows(type(self).convert, rows)))
        return [found.get(k) for k in keys]


class ScalarByKeyLoader(SqlLoader):
    """One value per key, ``default`` for a key without a row; the query takes ``$1`` = array of keys and returns
    ``key_column`` and ``value_column`` (e.g. a count per code). A fused statement (``hub.api.fused``) reads the
    same columns with the same default."""

    key_column: ClassVar[str]
    value_column: ClassVar[str]
    default: ClassVar[Any] = None

    async def load_batch(self, keys: Sequence[Hashable]) -> list[Any]:
        rows = await self.fetch(list(keys))
        values = {r[self.key_column]: r[self.value_column] for r in rows}
        return [values.get(k, self.default) for k in keys]


class ManyByKeyLoader(SqlLoader):
    """A list of rows per key (all of them, for small one-to-many relations)."""

    key_column: ClassVar[str]

    async def load_batch(self, keys: Sequence[Hashable]) -> list[list[Any]]:
        rows = await self.fetch(list(keys))
        convert = type(self).convert
        found: dict[Hashable, list[Any]] = defaultdict(list)
        for r in rows:
            found[r[self.key_column]].append(convert(r))
        return [found.get(k, []) for k in keys]


class PageByKeyLoader(SqlLoader):
    """First N rows per parent after a cursor.

    Keys are tuples ``(parent_key, fetch, after_id, *filters)``. Keys sharing ``(fetch, after_id,
    *filters)`` — normally all keys of one nesting level — are answered by one statement taking
    ``$1`` = parent keys, ``$2`` = after id, ``$3`` = rows per parent, then the filters. Rows are
    returned raw (records); the field resolver builds the connection.
    """

    key_column: ClassVar[str]

    async def load_batch(self, keys: Sequence[tuple]) -> list[list[Any]]:
        groups: dict[tuple, list[Hashable]] = defaultdict(list)
        for key in keys:
            groups[key[1:]].append(key[0])
        results: dict[tuple, list[Any]] = {}
        for params, parents in groups.items():
            fetch, after_id, *filters = params
            rows = await self.fetch(parents, after_id, fetch, *filters)
            per_parent: dict[Hashable, list[Any]] = defaultdict(list)
            for r in rows:
                per_parent[r[self.key_column]].append(r)
            for parent in parents:
                results[(parent, *params)] = per_parent.get(parent, [])
        return [results[k] for k in keys]


class JoinLoader(DataLoader):
    """The general path's batch of one join spec (``hub.api.specs.Join``) with one set of arguments: the parents
    whose field is resolved in one tick (a nesting level) go to ONE ``join.batch`` call, the very call the
    compiled path makes for that level, so the two paths fetch alike and a list of parents costs what one costs.
    Keys are the parent objects themselves (no cache: each parent is loaded once per field)."""

    def __init__(self, ctx: "Context", join: "Join", args: dict[str, Any]):
        super().__init__(cache=False)
        # A weak reference: the context keeps its loaders, and a cycle would wait for the garbage collector.
        self._ctx = weakref.ref(ctx)
        self.join = join
        self.args = args

    async def batch_load_fn(self, parents: Sequence[Any]) -> list[Any]:
        return await self.join.batch(self._ctx(), parents, self.args)


def convert_rows(convert: Callable[[Any], Any], rows: Sequence[Any]) -> list[Any]:
    """``[convert(r) for r in rows]``; by the rows' column positions when ``convert`` is a plain generated
    converter (``row_converter``): reading a record by position is a quarter cheaper than by name."""
    many = getattr(convert, "many", None)
    if many is None or not rows or type(rows[0]) is not asyncpg.Record:  # e.g. dicts: by name
        return [convert(r) for r in rows]
    return many(rows)


def _positional_builders(cls: type, names: list[str],
                         convert: Callable[[Any], Any]) -> Callable[[Sequence[Any]], list[Any]]:
    """``rows -> [cls]`` for a list of records, generated once per column order (the statements that build ``cls``
    select its columns in their own order) from the first record's column names; ``convert``: the by-name
    converter, for rows that lack a field (its KeyError)."""
    by_columns: dict[tuple[str, ...], Callable[[Sequence[Any]], list[Any]]] = {}

    def many(rows: Sequence[Any]) -> list[Any]:
        columns = tuple(rows[0].keys())
        build = by_columns.get(columns)
        if build is None:
            # a row without some field: by name, to fail as convert does; a column named twice: by name, which
            # reads the last of them
            if not all(n in columns for n in names) or len(set(columns)) < len(columns):
                return [convert(r) for r in rows]
            source = ["def build(rows):", "    out = []", "    append = out.append", "    for r in rows:",
                      "        o = _new(_cls)", "        d = o.__dict__",
                      *(f"        d[{n!r}] = r[{columns.index(n)}]" for n in names), "        append(o)", "    return out"]
            namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
            exec(compile("\n".join(source), f"<{cls.__name__} from rows>", "exec"), namespace)  # noqa: S102 - own source
            build = by_columns[columns] = namespace["build"]
        return build(rows)

    return many


def _by_name(cls: type, names: Sequence[str]) -> Callable[[Any], Any]:
    """Generated ``row -> cls`` filling the instance's ``__dict__`` with ``names`` read by name, and its ``many``
    (``convert_rows``)."""
    source = ["def convert(row):", "    o = _new(_cls)", "    d = o.__dict__"]
    source += [f"    d[{n!r}] = row[{n!r}]" for n in names]
    source.append("    return o")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    exec(compile("\n".join(source), f"<{cls.__name__} from row>", "exec"), namespace)  # noqa: S102 - own source
    convert = namespace["convert"]
    convert.many = _positional_builders(cls, list(names), convert)
    return convert


def narrowed_converter(convert: Callable[[Any], Any], fields: Sequence[str]) -> Callable[[Any], Any]:
    """A plain generated converter (``row_converter``) for rows holding only ``fields`` (a statement that reads fewer
    columns, ``hub.api.fused``): its objects lack the other attributes."""
    narrowed = _by_name(convert.built_class, fields)  # type: ignore[attr-defined]
    narrowed.__name__ = f"{convert.__name__}_narrowed"
    return narrowed


def row_converter(cls: type) -> Callable[[Any], Any]:
    """A function building ``cls`` (a strawberry type) from a row holding its data fields."""
    names = [f.name for f in dataclasses.fields(cls) if f.init and not getattr(f, "base_resolver", None)]
    assigned_by_init = [f for f in dataclasses.fields(cls) if not f.init and (
        f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)]
    if assigned_by_init or hasattr(cls, "__post_init__"):
        def convert(row: Any) -> Any:
            return cls(**{n: row[n] for n in names})
    else:
        # The dataclass __init__ only assigns these attributes: fill the instance's __dict__ directly from
        # generated code (half the cost per row; this runs for every row of every list).
        convert = _by_name(cls, names)
        convert.plain_fields = tuple(names)  # type: ignore[attr-defined]  # for positional builders (hub.api.fused)
        convert.built_class = cls  # type: ignore[attr-defined]
    convert.__name__ = f"{cls.__name__}_from_row"
    return convert
