"""The compiled execution path for query documents.

graphql-core resolves every field of every object through its generic machinery (an Info object, a
resolver call and a completion step per field, a coroutine per async resolver); for wide lists that is
most of the hub's CPU. Every query document is compiled the first time it is seen (``hub.api.plan_cache``,
cached by its hash), each of its query operations into a plan:

* scalar fields read the object's attribute and serialize it as the scalar would;
* plain object attributes (a connection's ``edges``/``nodes``/``pageInfo``) are walked directly;
* fields that fetch data use their batch spec (``hub.api.specs``): ONE call per field per nesting level
  for all parents, through the same loader classes and SQL files as the general path.

The executor walks the plan level by level and builds the response dicts in document order; the
response is byte-identical to the general path's (tests compare them for every registered operation
and for generated documents over the whole schema). The sharing rules apply the same way: a
dataset-reading field is checked like its guard when it is read for at least one parent — the
sharing rule, then its arguments (``Access.check_arguments``) before its SQL — so the audit entry
lists what was read; objects are masked and counted as the guards do, and one audit entry is written.
Anything the plan cannot answer exactly — a denied dataset, an argument error, a limit, a database
error, a directive, a field without a spec — falls back to the general path, which produces the
errors. Compilation and execution are hand-written: no library compiles GraphQL for strawberry.
"""
from __future__ import annotations

import inspect
import logging
from operator import itemgetter
from dataclasses import dataclass, field
from typing import Any, Callable

from graphql import (
    DocumentNode, FieldNode, GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, OperationDefinitionNode,
    OperationType, get_named_type,
)
from graphql.execution.collect_fields import FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import DirectiveNode, Visitor, visit

from hub.api import codes, specs
from hub.api.pagination import build_connection
from hub.api.fused import Fused, PageSource, fuse, narrowed_page
from hub.api.plan_builders import NotCompilable, generate_builder, serializer
from hub.assembly import contributions

log = logging.getLogger("hub.fastpath")


@dataclass
class FieldPlan:
    key: str  # response key (alias or name)
    kind: str  # "scalar" | "typename" | "attr" | "join"
    attr: str = ""  # python attribute (scalar, attr)
    method: Callable[[Any], Any] | None = None  # attr computed by a sync resolver taking only self
    serialize: Callable[[Any], Any] | None = None
    typename: str = ""
    join: specs.Join | None = None
    dataset: str | None = None  # guarded dataset read by this field
    where: tuple[str, str] = ("", "")  # (GraphQL parent type, field name), as the guards and hub.codes name it
    node: FieldNode | None = None
    field_def: Any = None
    arg_names: dict[str, str] = field(default_factory=dict)  # GraphQL -> python argument name
    child: "SelectionPlan | None" = None  # object results; None for scalar results
    child_serialize: Callable[[Any], Any] | None = None  # scalar results of a join (e.g. postingCount)
    fused: Fused | None = None  # this key lookup and its objects' same-department key joins in one statement
    narrowed: tuple[type, Any] | None = None  # a page per parent reading fewer columns (hub.api.fused.narrowed_page)
    scalar_name: str = ""


@dataclass
class SelectionPlan:
    type_name: str
    fields: list[FieldPlan]
    nested: list[FieldPlan] = field(default_factory=list)  # attr and join fields, resolved per level
    build: Callable[[list[Any], dict[str, list[Any]]], list[dict[str, Any]]] | None = None


@dataclass
class CompiledOperation:
    name: str | None
    document: DocumentNode
    operation: OperationDefinitionNode
    root: SelectionPlan
    datasets: set[str]
    # The variables' values when a request sends none (their defaults, coerced once: a persisted or GET query
    # usually sends none); ``coerce_variables`` fills it on first use. None: not computed yet.
    defaults: tuple[Any] | None = None
    # With those defaults, every field's argument values are known too (``Executor.graphql_arguments``): by
    # id(field plan), filled on first use; and whether their code formats passed (``Executor.check_codes``).
    default_arguments: dict[int, dict[str, Any]] = field(default_factory=dict)
    default_codes_valid: bool = False


class _NoDirectives(Visitor):
    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        raise NotCompilable(f"directive @{node.name.value}")


class Compiler:
    """Compiles the query operations of documents against the built schema and the registered specs."""

    def __init__(self, schema: Any, guarded: dict[tuple[str, str], str]):
        contributions()  # the resolvers packages register their batch specs as they load
        self.strawberry_schema = schema
        self.schema = schema._schema
        self.guarded = guarded

    def compile(self, document: DocumentNode) -> dict[str | None, CompiledOperation]:
        """Plans of the query operations of a parsed document that validates (``hub.api.plan_cache`` checks)."""
        visit(document, _NoDirectives())
        fragments = {d.name.value: FragmentDetails(d) for d in document.definitions
                     if d.kind == "fragment_definition"}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        compiled: dict[str | None, CompiledOperation] = {}
        for op in operations:
            if op.operation is not OperationType.QUERY:
                continue
            self._fragments, self._operation, self._datasets = fragments, op, set()
            collected = collect_fields(self.schema, fragments, {}, self.schema.query_type, op)
            root = self._selection(self.schema.query_type, collected.grouped_field_set)
            name = op.name.value if op.name else None
            compiled[name] = CompiledOperation(name, document, op, root, self._datasets)
            if len(operations) == 1:
                compiled[None] = compiled[name]
        return compiled

    def _python_names(self, type_name: str) -> dict[str, Any]:
        definition = self.strawberry_schema.get_type_by_name(type_name)
        names = self.strawberry_schema.config.name_converter
        return {names.from_field(f): f for f in definition.fields}

    def _selection(self, parent: GraphQLObjectType, grouped: dict[str, list]) -> SelectionPlan:
        python_fields = self._python_names(parent.name)
        plan = SelectionPlan(parent.name, [])
        for key, details in grouped.items():
            node = details[0].node
            name = node.name.value
            if name == "__typename":
                plan.fields.append(FieldPlan(key, "typename", typename=parent.name))
                continue
            if name.startswith("__"):
                raise NotCompilable(f"introspection field {name}")
            field_def = parent.fields[name]
            strawberry_field = python_fields[name]
            named = get_named_type(field_def.type)
            dataset = self.guarded.get((parent.name, name))
            if dataset:
                self._datasets.add(dataset)
            join = specs.ROOTS.get(name) if parent is self.schema.query_type else specs.JOINS.get((parent.name, name))
            resolver = strawberry_field.base_resolver
            method = None
            if resolver is not None and join is None and _plain_method(resolver):
                method, resolver = resolver.wrapped_func, None
            if resolver is None:
                if node.arguments:
                    raise NotCompilable(f"{parent.name}.{name} has arguments but no resolver")
                if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
                    if method is not None:
                        raise NotCompilable(f"{parent.name}.{name} is a computed scalar")
                    plan.fields.append(FieldPlan(key, "scalar", attr=strawberry_field.python_name,
                                                 serialize=serializer(field_def.type), scalar_name=named.name))
                    continue
                fp = FieldPlan(key, "attr", attr=strawberry_field.python_name, dataset=dataset, method=method,
                               where=(parent.name, name))
            else:
                if join is None:
                    raise NotCompilable(f"{parent.name}.{name} has no batch spec")
                fp = FieldPlan(key, "join", join=join, dataset=dataset, node=node, field_def=field_def,
                               where=(parent.name, name),
                               arg_names={self.strawberry_schema.config.name_converter.from_argument(a): a.python_name
                                          for a in strawberry_field.arguments})
            if isinstance(named, GraphQLObjectType):
                sub = collect_subfields(self.schema, self._fragments, {}, self._operation, named, details)
                fp.child = self._selection(named, sub.grouped_field_set)
                if fp.kind == "join":
                    fp.fused, fp.narrowed = fuse(fp), narrowed_page(fp)
            else:
                fp.child_serialize = serializer(field_def.type)
            plan.fields.append(fp)
            plan.nested.append(fp)
        plan.build = generate_builder(plan)
        return plan


def _plain_method(resolver: Any) -> bool:
    """A synchronous resolver that takes only ``self`` (e.g. Connection.edges)."""
    if resolver.is_async:
        return False
    params = list(inspect.signature(resolver.wrapped_func).parameters)
    return params == ["self"]


class Executor:
    """Runs a compiled operation for one request (``ctx`` is the request's hub Context)."""

    def __init__(self, ctx: Any, operation: CompiledOperation, schema: Any, variables: dict[str, Any]):
        self.ctx = ctx
        self.operation = operation
        self.schema = schema
        self.variables = variables
        # argument values by id(field plan): the plan's own when the request sent no variables (they depend on
        # the document alone), else this request's (``check_codes`` and ``render`` both read them)
        self.defaults = operation.defaults is not None and variables is operation.defaults[0]
        self.arguments: dict[int, dict[str, Any]] = operation.default_arguments if self.defaults else {}
        # values of fused joins fetched with their parents (hub.api.fused): id(field plan) -> {id(parent): value}
        self.prefetched: dict[int, dict[int, Any]] = {}

    def graphql_arguments(self, fp: FieldPlan) -> dict[str, Any]:
        """A join field's argument values by GraphQL name (graphql-core's coercion, defaults included), computed
        once per request, or once per plan when the request sends no variables. Callers do not change them."""
        found = self.arguments.get(id(fp))
        if found is None:
            found = get_argument_values(fp.field_def, fp.node, self.variables) \
                if fp.node.arguments or fp.field_def.args else {}
            self.arguments[id(fp)] = found
        return found

    async def run(self) -> dict[str, Any]:
        if not (self.defaults and self.operation.default_codes_valid):
            self.check_codes(self.operation.root)  # BAD_USER_INPUT -> the general path answers (hub.api.codes)
            self.operation.default_codes_valid = self.defaults  # the same arguments pass every time
        [data] = await self.render([None], self.operation.root, root=True)
        return data

    def check_codes(self, plan: SelectionPlan) -> None:
        """The code formats of filter arguments (``hub.api.codes``), for every field of the plan at every level."""
        for fp in plan.nested:
            if fp.node is not None and fp.where in codes.ARGUMENTS:
                codes.check_arguments(fp.where, self.graphql_arguments(fp))
            if fp.child is not None:
                self.check_codes(fp.child)

    def check_access(self, fp: FieldPlan, arguments: dict[str, Any]) -> Any:
        """The guard of a dataset-reading field (``hub.governance.access``), when the field is about to be read for at
        least one parent, as on the general path: the sharing rule, then its arguments (GraphQL names) before
        any SQL; the dataset (and a grant) is recorded as read. FORBIDDEN -> the general path answers."""
        access = self.ctx.access
        dataset = access.catalog.datasets.get(fp.dataset)
        if dataset is None:
            raise NotCompilable(f"dataset {fp.dataset} is not in the catalog")
        access.check(dataset, fp.where, arguments)
        return dataset

    async def fetch_fused(self, fp: FieldPlan, objects: list[Any], args: dict[str, Any], root: bool) -> list[Any]:
        """A key lookup and its fused joins in one statement: the lookup's values; the joins' values are kept
        for their own level (``prefetched``), where they are checked, masked and counted as unfused."""
        fused = fp.fused
        keys = [args[fp.join.argument]] if root else [getattr(o, fp.join.key) for o in objects]
        unique = list(dict.fromkeys(k for k in keys if k is not None))
        found, children = await fused.fetch(self.ctx, unique) if unique else ({}, [{} for _ in fused.children])
        for child, by_key in zip(fused.children, children):
            self.prefetched[id(child.plan)] = {id(found[k]): by_key.get(k) for k in found}
        return [found.get(k) if k is not None else None for k in keys]

    async def fetch_fused_page(self, fp: FieldPlan, args: dict[str, Any]) -> Any:
        """A root page and its nodes' fused joins in one statement: the page's connection, built as
        ``RootPage.fetch`` builds it; the joins' values are kept for the nodes' level (``prefetched``)."""
        spec = fp.join
        page, values = spec.parameters(self.ctx, args)
        found, children = await fp.fused.fetch_page(self.ctx, [page.after_id, page.fetch, *values])
        for child, by_key in zip(fp.fused.children, children):
            self.prefetched[id(child.plan)] = {id(node): by_key.get(key) for key, node in found.items()}
        return build_connection(spec.connection, list(found.items()), page, itemgetter(1), itemgetter(0))  # (id, node)

    async def render(self, objects: list[Any], plan: SelectionPlan, root: bool = False) -> list[dict[str, Any]]:
        nested_values: dict[str, list[Any]] = {}
        access = self.ctx.access
        for fp in plan.nested:
            graphql_args = self.graphql_arguments(fp) if fp.kind == "join" else {}
            dataset = self.check_access(fp, graphql_args) if fp.dataset is not None else None
            if fp.kind == "attr":
                if fp.method is not None:
                    values = [fp.method(o) for o in objects]
                else:
                    values = [getattr(o, fp.attr) for o in objects]
                dataset = None  # its objects were masked and counted with the field that read them
            else:
                args = {fp.arg_names.get(k, k): v for k, v in graphql_args.items()}
                prefetched = self.prefetched.pop(id(fp), None)
                if prefetched is not None:
                    values = [prefetched.get(id(o)) for o in objects]
                elif fp.fused is not None and fp.fused.allowed(access):
                    if isinstance(fp.fused.parent, PageSource):
                        values = [await self.fetch_fused_page(fp, args)]
                    else:
                        values = await self.fetch_fused(fp, objects, args, root)
                elif root:
                    values = [await fp.join.fetch(self.ctx, args)]
                elif fp.narrowed is not None:
                    values = await fp.join.batch(self.ctx, objects, args, fp.narrowed)
                else:
                    values = await fp.join.batch(self.ctx, objects, args)
            if fp.child is None:
                ser = fp.child_serialize
                nested_values[fp.key] = [ser(v) for v in values] if ser else values
                continue
            nested_values[fp.key] = await self.render_values(values, fp.child, dataset)
        return plan.build(objects, nested_values)

    async def render_values(self, values: list[Any], plan: SelectionPlan, dataset: Any) -> list[Any]:
        """One field's values for every parent (an object, a list of objects or None each: a field is either a list
        or not), rendered by ``plan`` in one call for all parents. ``dataset``: the guarded dataset the field read,
        whose objects (a connection's nodes) are masked and counted first (``Access.mask_and_count``)."""
        first = next((v for v in values if v is not None), None)
        if first is None:
            return values  # every value is None
        if isinstance(first, list):
            flat = [o for v in values if v is not None for o in v]
        else:
            flat = values if len(values) == 1 else [v for v in values if v is not None]
        if dataset is not None:
            nodes = [n for c in flat for n in c.nodes] if hasattr(first, "nodes") else flat
            if nodes:
                self.ctx.access.mask_and_count(dataset, nodes)
        rendered = await self.render(flat, plan) if flat else []
        if not isinstance(first, list):
            if len(rendered) == len(values):
                return rendered
            produced = iter(rendered)
            return [None if v is None else next(produced) for v in values]
        out: list[Any] = []
        i = 0
        for v in values:
            if v is None:
                out.append(None)
            else:
                out.append(rendered[i:i + len(v)])
                i += len(v)
        return out
        return plan.build(objects, nested_values)


def coerce_variables(schema: Any, operation: CompiledOperation, raw: dict[str, Any] | None) -> Any:
    """graphql-core's variable coercion (its variable values, read only); None when the variables are invalid (the
    general path reports it). Without variables the result depends on the document alone: coerced once per plan."""
    if not raw:
        if operation.defaults is None:
            operation.defaults = (_coerce(schema, operation, {}),)
        return operation.defaults[0]
    return _coerce(schema, operation, raw)


def _coerce(schema: Any, operation: CompiledOperation, raw: dict[str, Any]) -> Any:
    coerced = get_variable_values(schema, operation.operation.variable_definitions or [], raw)
    return None if isinstance(coerced, list) else coerced


__all__ = ["Compiler", "Executor", "NotCompilable", "CompiledOperation", "coerce_variables"]
