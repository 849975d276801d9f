"""Query limits of a GraphQL document: depth, aliases, tokens and cost.

Every violation is an error with ``extensions.code`` LIMIT_EXCEEDED naming the limit and its value,
e.g. ``{"code": "LIMIT_EXCEEDED", "limit": "maxDepth", "value": 12, "depth": 14}``. Checked before
execution:

* **maxTokens** (parse): strawberry's ``MaxTokensLimiter`` sets graphql-core's token limit;
  ``LimitedParserCache`` turns the parser's "more than N tokens" and "nested too deeply" errors
  (graphql-core aborts a document nested ~150 levels deep cleanly, it does not hit the recursion
  limit) into LIMIT_EXCEEDED maxTokens / maxDepth.
* **maxDepth**, **maxAliases** (validation): strawberry's ``QueryDepthLimiter`` and
  ``MaxAliasesLimiter`` with the hub's own rules. Strawberry's rules re-walk a fragment at every
  spread, which is exponential for a "fragment bomb" (``fragment F1 { ...F2 ...F2 }`` 20 levels deep
  takes seconds and grows 2x per level); the hub's rules summarise each fragment once, so they are
  linear in the document's size. Same depth semantics as strawberry: a root field with only scalar
  children has depth 1; introspection fields (``__schema``...) are not counted, and
  graphql-core's ``MaxIntrospectionDepthRule`` bounds them instead (limit "introspectionDepth").
* **maxCost** (``QueryCost``, before validation and execution, so that a fragment bomb is refused
  in linear time): the sum over the document's fields of the product of the page sizes of their
  enclosing list fields. A field with a ``first``
  argument multiplies everything below it by ``first`` (literal or variable; the default page size
  when absent; clamped to [0, max page size] so that an oversized ``first`` is left to the
  resolver's BAD_USER_INPUT); any other list field multiplies by the default page size, except the
  ``edges``/``nodes`` lists of a connection (already counted by ``first``). Fragments and inline
  fragments count where they are spread; fragment cycles count once and are reported by
  graphql-core's ``NoFragmentCycles``. Introspection fields cost nothing. Costs are capped at
  10**15. The cost is stored in ``context.cost`` (for the operation span and audit).

This module measures a document (``DocumentAnalysis``); the rules and extensions above are in ``hub.api.limit_rules``.
The HTTP limits (body size, per-consumer rate) are ASGI middleware: ``hub.http.limits``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
# Counts are capped while summing: far above any configured limit, and exact in JSON/JavaScript.
_CAP = 10**15


def limit_extensions(limit: str, value: Any, **details: Any) -> dict[str, Any]:
    return {"code": LIMIT_EXCEEDED, "limit": limit, "value": value, **details}


def limit_error(message: str, limit: str, value: Any, nodes: Any = None, **details: Any) -> GraphQLError:
    return GraphQLError(message, nodes=nodes, extensions=limit_extensions(limit, value, **details))


# --------------------------------------------------------------------------------------------------
# Document analysis: depth, aliases and cost, each fragment summarised once.


class _Summary:
    __slots__ = ("aliases", "cost", "depth")

    def __init__(self, depth: int = 0, aliases: int = 0, cost: int = 0):
        self.depth = depth
        self.aliases = aliases
        self.cost = cost


class DocumentAnalysis:
    """Depth, alias count and cost of each operation of a (parsed, not necessarily valid) document.

    Each fragment is summarised once, in dependency order (an explicit stack, so long fragment
    chains cannot exceed the recursion limit): the work is linear in the document's size however
    often fragments are spread. A fragment spread that closes a cycle counts as empty.
    ``schema`` None: costs are not computed (depth and aliases only).
    """

    def __init__(self, document: DocumentNode, schema: GraphQLSchema | None = None, *,
                 variables: Mapping[str, Any] | None = None, default_page_size: int = 20,
                 max_page_size: int = 500):
        self.document = document
        self.schema = schema
        self.variables = variables if isinstance(variables, Mapping) else {}
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        self._summaries: dict[str, _Summary] = {}
        self._variable_defaults: dict[str, Any] = {}
        for op in self.operations:
            for var in op.variable_definitions or ():
                if isinstance(var.default_value, IntValueNode):
                    # Operations may give one variable different defaults; fragments are costed once per document
                    # and cannot know which operation spreads them: the largest default counts (never less).
                    name, value = var.variable.name.value, int(var.default_value.value)
                    self._variable_defaults[name] = max(value, self._variable_defaults.get(name, value))
        self._summarise_fragments()

    # -- public -------------------------------------------------------------------------------------

    def operation(self, op: OperationDefinitionNode) -> _Summary:
        root = self.schema.get_root_type(op.operation) if self.schema is not None else None
        return self._selection_set(op.selection_set, root)

    def depth(self, op: OperationDefinitionNode) -> int:
        return self.operation(op).depth

    def cost(self, operation_name: str | None = None) -> int:
        """Cost of the operation that will run (the named one, else the largest of them)."""
        ops = self.operations
        if operation_name:
            ops = [op for op in ops if op.name is not None and op.name.value == operation_name] or ops
        return max((self.operation(op).cost for op in ops), default=0)

    # -- fragments ----------------------------------------------------------------------------------

    def _spreads(self, selection_set: SelectionSetNode | None) -> Iterator[str]:
        stack = [selection_set]
        while stack:
            current = stack.pop()
            if current is None:
                continue
            for selection in current.selections:
                if isinstance(selection, FragmentSpreadNode):
                    yield selection.name.value
                else:
                    stack.append(selection.selection_set)

    def _summarise_fragments(self) -> None:
        # Iterative post-order DFS over the spread graph: a fragment is summarised after every
        # fragment it spreads (those still in progress, i.e. cycles, count as empty).
        state: dict[str, int] = {}  # 1 = in progress, 2 = done
        for start in self.fragments:
            if start in state:
                continue
            state[start] = 1
            stack: list[tuple[str, Iterator[str]]] = [(start, self._spreads(self.fragments[start].selection_set))]
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    fragment = self.fragments[name]
                    parent = None
                    if self.schema is not None:
                        parent = self.schema.get_type(fragment.type_condition.name.value)
                    self._summaries[name] = self._selection_set(fragment.selection_set, parent)
                    state[name] = 2
                elif child in self.fragments and child not in state:
                    state[child] = 1
                    stack.append((child, self._spreads(self.fragments[child].selection_set)))

    # -- selection sets -----------------------------------------------------------------------------

    def _selection_set(self, selection_set: SelectionSetNode | None, parent: Any) -> _Summary:
        result = _Summary()
        if selection_set is None:
            return result
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                part = self._field(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                part = self._summaries.get(selection.name.value) or _Summary()
            elif isinstance(selection, InlineFragmentNode):
                inner = parent
                if selection.type_condition is not None and self.schema is not None:
                    inner = self.schema.get_type(selection.type_condition.name.value)
                part = self._selection_set(selection.selection_set, inner)
            else:  # pragma: no cover - no other selection kinds
                continue
            result.depth = max(result.depth, part.depth)
            result.aliases = min(result.aliases + part.aliases, _CAP)
            result.cost = min(result.cost + part.cost, _CAP)
        return result

    def _field(self, node: FieldNode, parent: Any) -> _Summary:
        name = node.name.value
        field_def = None
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            field_def = parent.fields.get(name)
        child_type = get_named_type(field_def.type) if field_def is not None else None
        sub = self._selection_set(node.selection_set, child_type)
        aliases = (1 if node.alias is not None else 0) + sub.aliases
        if name.startswith("__"):
            # Introspection: not counted for depth or cost (MaxIntrospectionDepthRule bounds it).
            return _Summary(0, aliases, 0)
        depth = 1 + sub.depth if node.selection_set is not None and node.selection_set.selections else 0
        cost = 0
        if self.schema is not None:
            cost = min(1 + self._multiplier(node, field_def, parent) * sub.cost, _CAP)
        return _Summary(depth, aliases, cost)

    def _multiplier(self, node: FieldNode, field_def: Any, parent: Any) -> int:
        if field_def is None:
            return 1
        if "first" in field_def.args:
            return self._page_size(node, field_def)
        if is_list_type(get_nullable_type(field_def.type)):
            if isinstance(parent, GraphQLObjectType) and "pageInfo" in parent.fields:
                return 1  # edges / nodes of a connection: counted by the connection's `first`
            return self.default_page_size
        return 1

    def _page_size(self, node: FieldNode, field_def: Any) -> int:
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value == "first":
                if isinstance(argument.value, IntValueNode):
                    value = int(argument.value.value)
                elif isinstance(argument.value, VariableNode):
                    var = argument.value.name.value
                    value = self.variables.get(var, self._variable_defaults.get(var))
                break
        if value is None:
            default = field_def.args["first"].default_value
            value = default if isinstance(default, int) else None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # graphql-core coerces 20.0 to the Int 20: the page fetched is 20 rows
        if not isinstance(value, int) or isinstance(value, bool):
            return self.default_page_size
        return max(0, min(value, self.max_page_size))
