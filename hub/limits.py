"""Query limits: depth, aliases, tokens, cost, request body size and a per-consumer rate limit.

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

HTTP (pure-ASGI middleware, see ``hub.app``):

* ``BodySizeLimitMiddleware``: 413 when Content-Length exceeds ``max_body_bytes`` or a streamed
  (chunked) body grows past it; the body is never buffered beyond the limit.
* ``RateLimitMiddleware``: a token bucket per authenticated consumer (``scope["hub.consumer"]``,
  set by the authentication middleware that runs before it); 429 with ``Retry-After``. The buckets
  (``TokenBuckets``, ``app.state.rate_limiter``) are shared by the worker processes of one host
  (``hub.rate_table``); each GraphQL operation on a websocket takes a token from the same buckets
  (``hub.ws_auth.operation_access``).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.language import SKIP
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.rate_table import DEFAULT_SLOTS, RateTable

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
                    self._variable_defaults.setdefault(var.variable.name.value, int(var.default_value.value))
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
        if not isinstance(value, int) or isinstance(value, bool):
            return self.default_page_size
        return max(0, min(value, self.max_page_size))


# --------------------------------------------------------------------------------------------------
# Validation rules and the strawberry extensions that install them.


@functools.lru_cache(maxsize=None)
def depth_rule(max_depth: int) -> type[ValidationRule]:
    """The hub's depth rule for ``max_depth`` (one class per value, so validation caching works)."""

    class MaxDepthRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            analysis = DocumentAnalysis(node)
            for op in analysis.operations:
                depth = analysis.depth(op)
                if depth > max_depth:
                    name = op.name.value if op.name else "anonymous"
                    self.report_error(limit_error(
                        f"operation '{name}' is {depth} levels deep; the limit is {max_depth}",
                        "maxDepth", max_depth, [op], depth=depth))
            return SKIP

    return MaxDepthRule


@functools.lru_cache(maxsize=None)
def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliasesRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            analysis = DocumentAnalysis(node)
            for op in analysis.operations:
                aliases = analysis.operation(op).aliases
                if aliases > max_aliases:
                    name = op.name.value if op.name else "anonymous"
                    self.report_error(limit_error(
                        f"operation '{name}' uses {aliases} aliases; the limit is {max_aliases}",
                        "maxAliases", max_aliases, [op], aliases=aliases))
            return SKIP

    return MaxAliasesRule


class IntrospectionDepthRule(MaxIntrospectionDepthRule):
    """graphql-core's recommended bound on nested introspection lists, with the hub's error code."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(GraphQLError(
            "introspection query nested too deeply", nodes=error.nodes,
            extensions=limit_extensions("introspectionDepth", 3)))


class HubQueryDepthLimiter(QueryDepthLimiter):
    """strawberry's QueryDepthLimiter with the hub's linear rule and LIMIT_EXCEEDED errors."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        AddValidationRules.__init__(self, [depth_rule(max_depth)])


class HubMaxAliasesLimiter(MaxAliasesLimiter):
    """strawberry's MaxAliasesLimiter with the hub's linear rule and LIMIT_EXCEEDED errors."""

    def __init__(self, max_alias_count: int) -> None:
        self.max_alias_count = max_alias_count
        AddValidationRules.__init__(self, [alias_rule(max_alias_count)])


class IntrospectionDepthLimiter(SchemaExtension):
    """Swaps graphql-core's MaxIntrospectionDepthRule (one of its specified rules) for the coded one."""

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.validation_rules = tuple(IntrospectionDepthRule if rule is MaxIntrospectionDepthRule else rule
                                    for rule in ec.validation_rules)
        yield


class LimitedParserCache(ParserCache):
    """strawberry's ParserCache whose parse-time limit errors carry LIMIT_EXCEEDED.

    Parsing here happens while the extensions are entered, so an error raised here skips the other
    extensions' error handling; it leaves as a GraphQL error that is already coded.
    """

    def __init__(self, maxsize: int | None, max_tokens: int, max_depth: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens
        self.max_depth = max_depth

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        try:
            ec.graphql_document = self.cached_parse_document(ec.query, **ec.parse_options)
        except GraphQLSyntaxError as error:
            coded = self.coded(error)
            if coded is None:
                raise
            raise coded from None
        yield

    def coded(self, error: GraphQLSyntaxError) -> GraphQLError | None:
        if "Document contains more than" in error.message:
            return GraphQLError(f"the document has more than {self.max_tokens} tokens",
                                source=error.source, positions=error.positions,
                                extensions=limit_extensions("maxTokens", self.max_tokens))
        if "nested too deeply" in error.message:
            return GraphQLError(f"the document is nested too deeply; the depth limit is {self.max_depth}",
                                source=error.source, positions=error.positions,
                                extensions=limit_extensions("maxDepth", self.max_depth))
        return None


class QueryCost(SchemaExtension):
    """Refuses an operation whose cost exceeds ``max_cost`` before it is validated and executed.

    Runs first in the validation step, before graphql-core's rules (the costing tolerates invalid
    documents: unknown fields count 1, unknown fragments 0), so that a fragment bomb is refused as
    too costly in linear time. Put it BEFORE ``CheckedValidationCache``, which then skips
    validating a refused document. The cost is stored in ``context.cost`` for tracing and audit.
    """

    def __init__(self, max_cost: int, default_page_size: int, max_page_size: int) -> None:
        self.max_cost = max_cost
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.pre_execution_errors is None and ec.graphql_document is not None:
            analysis = DocumentAnalysis(ec.graphql_document, ec.schema._schema, variables=ec.variables,
                                        default_page_size=self.default_page_size,
                                        max_page_size=self.max_page_size)
            cost = analysis.cost(ec.operation_name)
            if ec.context is not None:
                try:
                    ec.context.cost = cost
                except AttributeError:  # a context that takes no attributes
                    pass
            if cost > self.max_cost:
                # Set before validation: strawberry then skips validating (and executing) the document.
                ec.pre_execution_errors = [limit_error(
                    f"the operation's cost is {cost}; the limit is {self.max_cost} (the cost is the sum over "
                    f"fields of the product of the page sizes of their enclosing lists)",
                    "maxCost", self.max_cost, cost=cost)]
        yield


class CheckedValidationCache(ValidationCache):
    """strawberry's ValidationCache, except that it keeps errors set before it (a refused cost)."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()


def schema_extensions(settings: Any, cache_size: int) -> list[Any]:
    """The limit extensions, in order, as zero-argument factories (see ``hub.schema``).

    Order matters: the token limit is set in on_operation before parsing; QueryCost refuses a costly
    document before CheckedValidationCache validates (with the depth and alias rules) and caches.
    """
    return [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        functools.partial(LimitedParserCache, maxsize=cache_size, max_tokens=settings.max_tokens,
                          max_depth=settings.max_depth),
        functools.partial(HubQueryDepthLimiter, max_depth=settings.max_depth),
        functools.partial(HubMaxAliasesLimiter, max_alias_count=settings.max_aliases),
        IntrospectionDepthLimiter,
        functools.partial(QueryCost, max_cost=settings.max_cost, default_page_size=settings.default_page_size,
                          max_page_size=settings.max_page_size),
        functools.partial(CheckedValidationCache, maxsize=cache_size),
    ]


# --------------------------------------------------------------------------------------------------
# HTTP: body size and rate limit (pure ASGI).


def _error_body(message: str, limit: str, value: Any) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": limit_extensions(limit, value)}]})


async def _send_error(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """HTTP 413 (LIMIT_EXCEEDED maxBodyBytes) for a body larger than ``max_bytes``.

    A declared Content-Length over the limit is refused before the app runs; a body without one
    (chunked) is counted while the app reads it and refused as soon as it passes the limit.
    ``path_limits`` gives paths under a prefix their own limit instead (``/ingest``: bulk bodies that the
    endpoint streams, never holding them in memory).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    def _limit(self, path: str) -> int:
        for prefix, limit in self.path_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    def _too_large(self, limit: int | None = None) -> bytes:
        limit = self.max_bytes if limit is None else limit
        return _error_body(f"request body larger than {limit} bytes", "maxBodyBytes", limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > max_bytes:
                    await _send_error(send, 413, self._too_large(max_bytes), [(b"connection", b"close")])
                    return
                break
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:  # the app answered before reading its body; nothing more can be sent
                return
            await _send_error(send, 413, self._too_large(max_bytes), [(b"connection", b"close")])

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A socket message is a request too: one larger than the body limit closes the socket with 1009 (message
        too big) before the app reads it; the app is told the client went away."""
        max_bytes = self._limit(scope["path"])
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive":
                data = message.get("bytes") or message.get("text") or b""
                size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
                if size > max_bytes:
                    closed = True
                    await send({"type": "websocket.close", "code": 1009,
                                "reason": f"message larger than {max_bytes} bytes"})
                    return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def guarded_send(message: Message) -> None:
            if not closed:  # nothing after our close
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


class TokenBuckets:
    """The per-consumer rate limiter: a token bucket per key, ``burst`` capacity, ``rate`` tokens per second.

    The one entry point for every kind of request (HTTP here, websocket operations too): ``take(key)``.
    The buckets live in a ``hub.rate_table.RateTable``: by default one private to this process
    (``max_keys`` slots); ``table`` the table shared by the workers of ``hub serve`` (``for_settings``),
    so that the rate holds for the host whatever the number of workers. ``rate`` 0: no limit.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = DEFAULT_SLOTS, table: RateTable | None = None):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.table = table if table is not None else RateTable.memory(max_keys)

    @classmethod
    def for_settings(cls, settings: Any) -> "TokenBuckets":
        """The limiter of an app: on the table ``hub serve`` shares between its workers
        (``settings.rate_limit_table``), else on one of its own."""
        path = getattr(settings, "rate_limit_table", None)
        table = RateTable.open(path) if path is not None and settings.rate_limit_per_second > 0 else None
        return cls(settings.rate_limit_per_second, settings.rate_limit_burst, table=table)

    def take(self, key: Any) -> float:
        """Take one token: 0.0 when allowed, else the seconds until a token is available."""
        if self.rate <= 0:
            return 0.0
        return self.table.take(key, self.rate, self.burst, self.clock)

    def refusal(self, wait: float) -> tuple[str, dict[str, Any], int]:
        """What a refused request is told: message, error extensions and Retry-After seconds."""
        retry_after = max(1, math.ceil(wait))
        message = (f"rate limit exceeded: at most {self.rate:g} requests per second "
                   f"(bursts of {self.burst}); retry after {retry_after} s")
        return message, limit_extensions("rateLimit", self.rate), retry_after

    def __len__(self) -> int:
        return self.table.used()


# Paths never rate limited (no consumer is authenticated there anyway).
_UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/static/")


class RateLimitMiddleware:
    """HTTP 429 (LIMIT_EXCEEDED rateLimit) when a consumer exceeds its token bucket.

    Must run after authentication: it limits requests that carry ``scope["hub.consumer"]`` and lets
    the others through (refusing them is authentication's business). ``rate`` 0 disables it.
    ``limiter``: the app's ``TokenBuckets`` (``app.state.rate_limiter``); by default one of its own.
    """

    def __init__(self, app: ASGIApp, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 limiter: TokenBuckets | None = None):
        self.app = app
        self.rate = rate
        self.buckets = limiter if limiter is not None else TokenBuckets(rate, burst, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        consumer = scope.get("hub.consumer") if scope["type"] == "http" else None
        if consumer is None or self.rate <= 0 or scope["path"].startswith(_UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(getattr(consumer, "id", consumer))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        message, extensions, retry_after = self.buckets.refusal(wait)
        body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
        await _send_error(send, 429, body, [(b"retry-after", str(retry_after).encode())])
