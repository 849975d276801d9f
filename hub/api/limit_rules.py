"""The validation rules and strawberry extensions that enforce the document limits (``hub.api.document_limits``
describes the limits and measures a document; this module refuses one that exceeds them, with LIMIT_EXCEEDED)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, ValidationRule
from graphql.language import SKIP
from graphql.validation import MaxIntrospectionDepthRule
from hub.api.document_limits import DocumentAnalysis, limit_error, limit_extensions


def _per_operation_rule(limit: str, maximum: int, measure: str, says: str) -> type[ValidationRule]:
    """A validation rule refusing each operation whose ``DocumentAnalysis`` summary ``measure`` (``depth``,
    ``aliases``) exceeds ``maximum``: LIMIT_EXCEEDED ``limit``, the message "operation 'X' <says>"."""

    class PerOperationRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            analysis = DocumentAnalysis(node)
            for op in analysis.operations:
                value = getattr(analysis.operation(op), measure)
                if value > maximum:
                    name = op.name.value if op.name else "anonymous"
                    self.report_error(limit_error(f"operation '{name}' {says.format(value)}; the limit is {maximum}",
                                                  limit, maximum, [op], **{measure: value}))
            return SKIP

    return PerOperationRule


@functools.lru_cache(maxsize=None)
def depth_rule(max_depth: int) -> type[ValidationRule]:
    """The hub's depth rule for ``max_depth`` (one class per value, so validation caching works)."""
    return _per_operation_rule("maxDepth", max_depth, "depth", "is {} levels deep")


@functools.lru_cache(maxsize=None)
def alias_rule(max_aliases: int) -> type[ValidationRule]:
    """The hub's alias rule for ``max_aliases`` (one class per value, as ``depth_rule``)."""
    return _per_operation_rule("maxAliases", max_aliases, "aliases", "uses {} aliases")


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
    """The limit extensions, in order, as zero-argument factories (see ``hub.api.schema``).

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
