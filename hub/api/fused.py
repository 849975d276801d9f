"""Fewer round trips: a field and the key joins of its objects in the same department, in ONE statement.

A plan (``hub.api.fastpath``) answers each data field once per nesting level. When a field is fetched by key
(``RootByKey`` / ``ByKey`` through a ``ByKeyLoader``: ``$1`` = the keys) or is a root page (``RootPage``: its
nodes, ``PageSource``, the page's own parameters, ordered by id) and its objects have key joins (``ByKey``, no
arguments) answered by a ``ByKeyLoader`` (an object per key) or a ``ScalarByKeyLoader`` (a value per key, e.g.
a posting count) of the SAME department, the joins are answered by the same statement: the field's SQL file is
the outer query and each join's SQL file is a LEFT JOIN LATERAL with its ``$1`` bound to the parent row's key,
e.g. enterprise + its industry (both commerce)::

    select p.uscc, p.name, p.industry_code, null::int as "__fused_0", c0.code, c0.name
    from (<commerce/enterprises_by_uscc>) p
    left join lateral (select * from (<commerce/industries_by_code, $1 := array[p.industry_code]>) f offset 0) c0
      on true

A key lookup or a root page without such joins is narrowed alone (``Fused`` without children, named and counted as
its SQL file) when it can read fewer columns. Each part reads only the columns its plan reads (``selected_columns``:
the selected fields, the join keys and the key column) when its objects are of a plain type and no computed field or
custom join reads them: 50 postings send 4 of their 12 columns. Such a statement is named after its parts and its
columns (``name#digest``) and counted under its parts' name (``SqlRegistry.label``).

The statement is generated from the join specs (``hub.api.specs``: which loader, which key attribute — still
the one definition of each join) and the SQL files they name; nothing is joined across departments (a code
that points into another department is still looked up through that department's pool, one statement per
level). Rows are split at the marker columns and built by the loaders' own converters, so objects are the
same as the unfused batches build, less the columns not read. Governance is unchanged: the parent field is
checked by its guard before the statement; each fused join is fused only when the consumer may read its dataset
(``Access.allows``, nothing recorded) by a key it sees in clear, and is then checked, recorded, masked and counted
at its own level exactly as unfused (``Executor.render``). ``hub plan --explain FILE.graphql`` prints every statement.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from hub.api import specs
from hub.api.loaders import ByKeyLoader, ScalarByKeyLoader, narrowed_converter
from hub.db.pools import SqlRegistry
from hub.telemetry.tracing import count_batch_rows

_PARAM = re.compile(r"\$(\d+)")
_REGISTRY: SqlRegistry | None = None


def _sql(name: str) -> str:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = SqlRegistry()
    return _REGISTRY[name]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(alias: str, columns: tuple[str, ...] | None) -> str:
    return f"{alias}.*" if columns is None else ", ".join(f"{alias}.{_ident(c)}" for c in columns)


def _register(label: str, sql: str, alone: bool) -> str:
    """Register a generated statement and return its name: ``label`` when it is the only statement of its label,
    else ``label#<digest of the text>`` (counted and traced as ``label``: ``SqlRegistry.label``)."""
    name = label if alone else f"{label}#{hashlib.sha256(sql.encode()).hexdigest()[:12]}"
    SqlRegistry.generated[name] = sql
    return name


def fusable_loader(loader: Any) -> bool:
    """A ByKeyLoader (an object per key) or a ScalarByKeyLoader (a value per key) whose statement takes exactly
    one parameter, ``$1`` (the array of keys)."""
    if not (isinstance(loader, type) and issubclass(loader, (ByKeyLoader, ScalarByKeyLoader))):
        return False
    return {m for m in _PARAM.findall(_sql(loader.query))} == {"1"}


@dataclass(frozen=True)
class FusedChild:
    key: str  # response key of the join's field plan (where its values go)
    attr: str  # the parent's attribute holding the join key (the spec's ``key``)
    loader: type  # the join's ByKeyLoader
    dataset: str | None  # the dataset the join reads (checked with Access.allows before fusing)
    plan: Any = field(default=None, compare=False, repr=False)  # the join's FieldPlan (hub.api.fastpath)


@dataclass(frozen=True)
class PageSource:
    """A root page (``hub.api.specs.RootPage``) as the parent of a fused statement: its SQL file keeps its own
    parameters (``$1`` after id, ``$2`` rows, then its filters), its rows are keyed and ordered by ``id``."""

    page: Any  # the RootPage spec
    key_column: str = "id"

    @property
    def query(self) -> str:
        return self.page.query

    @property
    def dept(self) -> str:
        return self.page.dept

    @property
    def convert(self) -> Any:
        return self.page.convert

    @property
    def __name__(self) -> str:  # the batch's name in metrics and spans, as a loader's class name
        return f"{self.page.field[:1].upper()}{self.page.field[1:]}Page"  # e.g. JobPostingsPage


def selected_columns(plan: Any, convert: Any, *keys: str) -> tuple[str, ...] | None:
    """The columns the objects of ``plan`` (a ``hub.api.fastpath.SelectionPlan``) are read through: their selected
    scalar fields, the keys of their joins and ``keys``, in the converter's field order. None (every column)
    unless the objects are of a plain type (``hub.api.loaders.row_converter``) and the plan reads them only so: a
    computed field or a custom join may read any attribute. An object lacks the attributes of the columns left out:
    reading one would fail the plan, and the general path would answer."""
    fields = getattr(convert, "plain_fields", None)
    if fields is None:
        return None
    needed = set(keys)
    for fp in plan.fields:
        if fp.kind == "scalar" or (fp.kind == "attr" and fp.method is None):
            needed.add(fp.attr)
        elif fp.kind == "join" and type(fp.join) in (specs.ByKey, specs.Many, specs.Page):
            needed.add(fp.join.key)
        elif fp.kind != "typename":
            return None
    if not needed <= set(fields) or len(needed) == len(fields):
        return None  # a column the type does not hold (read by name: its error), or every column
    return tuple(f for f in fields if f in needed)


@dataclass
class Fused:
    """One generated statement: a key lookup or a root page (``parent``) and its same-department key joins
    (``children``)."""

    parent: Any  # the field's ByKeyLoader, or a PageSource
    children: list[FusedChild]
    # the columns read of the parent and of each child (``selected_columns``; None: all of them)
    columns: list[tuple[str, ...] | None] = field(default_factory=list)
    dataset: str | None = None  # the dataset of the parent's objects (its PERSONAL fields: ``allowed``)
    name: str = ""
    sql: str = ""
    _splitter: Any = field(default=None, repr=False)  # built from the first rows' columns (``_build_splitter``)

    def __post_init__(self) -> None:
        # each join once (aliases of a join are fused once each): labels stay as few as the join shapes
        parts = [self.parent.query, *(f"{c.attr}:{c.loader.query}" for c in self.children)]
        label = "fused/" + "+".join(dict.fromkeys(parts)) if self.children else self.parent.query  # alone: narrowed
        read = self.columns or [None] * (1 + len(self.children))
        columns, joins = [_select("p", read[0])], []
        for i, child in enumerate(self.children):
            inner = _PARAM.sub(lambda m: f"array[p.{_ident(child.attr)}]", _sql(child.loader.query))
            columns += [f'null::int as "__fused_{i}"', _select(f"c{i}", read[i + 1])]
            # ``offset 0`` keeps the join's statement a subquery run per parent row, through its own index, also in a
            # generic plan (hub.db.pools.optional_filters): flattened, PostgreSQL may scan the joined table instead
            joins.append(f"left join lateral (select * from (\n{inner}\n) f offset 0) c{i} on true")
        self.sql = f"select {', '.join(columns)}\nfrom (\n{_sql(self.parent.query)}\n) p\n" + "\n".join(joins)
        if isinstance(self.parent, PageSource):  # a page keeps its keyset order
            self.sql += '\norder by p."id"'
        # Statements of other selections differ in their columns: each its own name, under one label in metrics
        # and spans (``SqlRegistry.label``).
        alone = not any(read) and len(set(parts)) == len(parts)  # the only statement of its label
        self.name = _register(label, self.sql, alone)

    @property
    def loader_name(self) -> str:
        """The batch's name in metrics and spans: its loaders', e.g. EnterpriseByUsccLoader+IndustryByCodeLoader."""
        return "+".join(dict.fromkeys(loader.__name__ for loader in (self.parent, *(c.loader for c in self.children))))

    async def fetch(self, ctx: Any, keys: Sequence[Any]) -> tuple[dict[Any, Any], list[dict[Any, Any]]]:
        """Parents by key, and for each child the child object by parent key (None when not found)."""
        keys = list(keys)
        return await self._fetch(ctx, keys, [keys])

    async def fetch_page(self, ctx: Any, parameters: Sequence[Any]) -> tuple[dict[Any, Any], list[dict[Any, Any]]]:
        """A page (``PageSource``: its SQL file's parameters) with its fused joins: the page's objects by id, in
        the page's order, and for each child the child object by parent id."""
        return await self._fetch(ctx, [parameters[0]], parameters)  # one page: one key of its batch

    async def _fetch(self, ctx: Any, batch: list[Any],
                     parameters: Sequence[Any]) -> tuple[dict[Any, Any], list[dict[Any, Any]]]:
        """The statement with ``parameters``, split. One batch as the loaders' are (``batch``: its keys): its
        metric and span (``Telemetry.loader_batch``), the statement's span under it."""
        async def rows(_: Any) -> list[Any]:
            SqlRegistry.generated[self.name] = self.sql  # again: others may have pushed it out (GeneratedStatements)
            found = await ctx.db.departments[self.parent.dept].fetch(self.name, *parameters)
            count_batch_rows(len(found))
            return found

        telemetry = getattr(ctx.db, "telemetry", None)
        if telemetry is None:
            return self._split(await rows(batch))
        return self._split(await telemetry.loader_batch(self.loader_name, batch, rows))

    def _split(self, rows: list[Any]) -> tuple[dict[Any, Any], list[dict[Any, Any]]]:
        found: dict[Any, Any] = {}
        children: list[dict[Any, Any]] = [{} for _ in self.children]
        if not rows:
            return found, children
        split = self._splitter
        if split is None:
            split = self._splitter = self._build_splitter(list(rows[0].keys()))
        split(rows, found, *children)
        return found, children

    def _build_splitter(self, names: list[str]) -> Any:
        """The function that splits this statement's rows at the marker columns: objects built straight from the
        record's positions (a join's columns may share names with the parent's) when every type has the plain
        generated converter (``hub.api.loaders.row_converter``), else through the converters from a dict per
        part. Generated once per statement (its columns are known from the first rows): building objects row by
        row was a sixth of the time of 50 postings with their enterprise and industry."""
        cuts = (*(names.index(f"__fused_{i}") for i in range(len(self.children))), len(names))
        parts = [(self.parent, 0, cuts[0]), *((c.loader, cuts[i] + 1, cuts[i + 1]) for i, c in enumerate(self.children))]
        namespace: dict[str, Any] = {"_new": object.__new__}
        lines = [f"def split(rows, found, {', '.join(f'ch{i}' for i in range(len(self.children)))}):",
                 "    for r in rows:"]
        for index, (loader, start, end) in enumerate(parts):
            columns = names[start:end]
            key = f"r[{start + columns.index(loader.key_column)}]"
            if isinstance(loader, type) and issubclass(loader, ScalarByKeyLoader):  # a value, its default if no row
                namespace[f"_d{index}"] = loader.default
                value = f"r[{start + columns.index(loader.value_column)}]"
                lines += [f"        ch{index - 1}[k] = _d{index} if {key} is None else {value}"]
                continue
            convert = loader.convert
            fields = getattr(convert, "plain_fields", None)
            read = self.columns[index] if self.columns else None
            if fields is not None and read is not None:  # the columns read (``selected_columns``)
                fields = [f for f in fields if f in read]
            namespace[f"_c{index}"], namespace[f"_k{index}"] = convert, tuple(columns)
            if fields is not None and all(f in columns for f in fields):
                namespace[f"_t{index}"] = convert.built_class
                build = [f"o = _new(_t{index})", "d = o.__dict__",
                         *(f"d[{f!r}] = r[{start + columns.index(f)}]" for f in fields)]
            else:  # by name, as the loaders build them (a dict per part: a join's columns may share names)
                build = [f"o = _c{index}(dict(zip(_k{index}, tuple(r.values())[{start}:{end}])))"]
            if index == 0:
                lines += [f"        {line}" for line in build] + [f"        k = {key}", "        found[k] = o"]
            else:
                lines += [f"        if {key} is None:", f"            ch{index - 1}[k] = None", "        else:"]
                lines += [f"            {line}" for line in build] + [f"            ch{index - 1}[k] = o"]
        exec(compile("\n".join(lines), f"<split {self.name}>", "exec"), namespace)  # noqa: S102 - our own source
        return namespace["split"]

    def allowed(self, access: Any) -> bool:
        """May this consumer read every fused join's dataset, by a key it sees in clear? (Else the joins are fetched
        level by level: their guards refuse them, or they look up the masked key, as on the general path.)"""
        datasets = access.catalog.datasets
        parent = datasets.get(self.dataset) if self.dataset is not None else None
        masked = access.maskers(parent) if parent is not None else {}
        for child in self.children:
            if child.attr in masked:  # a PERSONAL key: the general path joins by its masked value
                return False
            if child.dataset is not None:
                dataset = datasets.get(child.dataset)
                if dataset is None or not access.allows(dataset):
                    return False
        return True


def page_nodes(connection: Any) -> tuple[Any, bool]:
    """The field plan of a connection plan's ``nodes``, and whether its nodes are read only through it (and
    ``pageInfo``): ``edges`` reads them too, with a selection of its own."""
    nodes = next((c for c in connection.nested if c.kind == "attr" and c.attr == "nodes" and c.method is None
                  and c.child is not None), None)
    alone = all(c is nodes or (c.kind == "attr" and c.attr == "page_info") for c in connection.nested)
    return nodes, alone


def narrowed_page(fp: Any) -> tuple[type, Any] | None:
    """A page per parent (``specs.Page``, a ``PageByKeyLoader``) reading only the columns its nodes' plan reads: its
    loader's subclass that runs the narrowed statement (``<query>#digest``, counted as the SQL file), and the
    converter of such rows. None when every column is read or the nodes are read otherwise."""
    join = fp.join
    if type(join) is not specs.Page or fp.child is None:
        return None
    nodes, alone = page_nodes(fp.child)
    loader = join.loader
    columns = selected_columns(nodes.child, join.convert, "id", loader.key_column) if nodes and alone else None
    if columns is None:
        return None
    sql = f"select {_select('p', columns)}\nfrom (\n{_sql(loader.query)}\n) p"
    name = _register(loader.query, sql, alone=False)

    class Narrowed(loader):  # type: ignore[misc, valid-type]
        query = name

        async def fetch(self, *args: Any) -> list[Any]:
            SqlRegistry.generated[name] = sql  # again: others may have pushed it out (GeneratedStatements)
            return await super().fetch(*args)

    Narrowed.__name__ = Narrowed.__qualname__ = loader.__name__  # the batch's name in metrics and spans
    return Narrowed, narrowed_converter(join.convert, columns)


def fuse(fp: Any) -> "Fused | None":
    """The fused statement of a plan's field (``hub.api.fastpath.FieldPlan``), or None: a key lookup (root or join),
    or a root page, whose objects have argument-less key joins answered by the same department."""
    join = fp.join
    narrow = True
    if isinstance(join, specs.RootPage):  # a root page and its nodes' joins (``{ nodes { ... } }``)
        nodes, narrow = page_nodes(fp.child)
        parent, objects, dept = (PageSource(join), nodes.child, join.dept) if nodes is not None else (None, None, "")
    elif (isinstance(join, specs.RootByKey) or type(join) is specs.ByKey) and fusable_loader(join.loader):
        parent, objects, dept = join.loader, fp.child, join.loader.dept
    else:
        return None
    if parent is None:
        return None
    children = [FusedChild(c.key, c.join.key, c.join.loader, c.dataset, c) for c in objects.nested
                if c.kind == "join" and type(c.join) is specs.ByKey and not c.field_def.args
                and fusable_loader(c.join.loader) and c.join.loader.dept == dept]
    columns = [selected_columns(objects, parent.convert, parent.key_column) if narrow else None]
    if not children:  # no join to fuse: the field's statement alone, if it can read fewer columns
        return Fused(parent, [], columns) if columns[0] is not None else None
    for child in children:
        loader = child.loader
        if issubclass(loader, ScalarByKeyLoader):
            columns.append((loader.key_column, loader.value_column))
        else:
            columns.append(selected_columns(child.plan.child, loader.convert, loader.key_column))
    return Fused(parent, children, columns, fp.dataset)


__all__ = ["Fused", "FusedChild", "PageSource", "fusable_loader", "fuse", "narrowed_page", "page_nodes"]
