"""The one GraphQL schema: every department's root fields merged into Query (and Mutation)."""

from __future__ import annotations

import weakref
from typing import Any, Iterable

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, StrawberryGraphQLCoreExecutionContext
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from graphql import GraphQLError, GraphQLResolveInfoHelpers
from hub import GRAPHQL_DIR
from hub.api.audit import AuditExtension
from hub.api.codes import install_code_checks
from hub.api.errors import ErrorCodes
from hub.api.limit_rules import schema_extensions
from hub.api.telemetry import OperationSpan, ResolverSpans
from hub.api.ws_auth import watch_subscriptions
from hub.assembly import contributions, dataset_types
from hub.db.replicas import ReadRouting
from hub.governance.guards import install_guards
from hub.settings import Settings

CACHE_SIZE = 512


class HubExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context without graphql-core 3.3's reference cycle.

    graphql-core's executor keeps bound methods of itself in ``async_helpers`` (handed to resolvers), so
    every operation's executor — with its results, futures and the objects of every resolved field — is
    cyclic garbage that only the garbage collector frees, and a collection of tens of thousands of objects
    pauses every request in flight. Here the helpers reach the executor through a weak reference (it is
    alive while it executes), so reference counting frees an operation when it ends
    (tests/api/test_garbage.py).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gather, track = weakref.WeakMethod(self.gather_async_work), weakref.WeakMethod(self.track_async_work)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=lambda values: gather()(values), track=lambda values: track()(values))


class HubSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Errors are shaped and unexpected ones logged once, with a reference id, by ErrorCodes.
        return None

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, root_value: Any | None = None,
                      operation_name: str | None = None, allowed_operation_types: Iterable[OperationType] | None = None,
                      operation_extensions: dict[str, Any] | None = None) -> ExecutionResult:
        """strawberry's, except that it never runs a subscription: only ``subscribe`` (the websocket) can. strawberry
        lets HTTP POST and GET execute one (for its multipart transport, which the hub does not offer): it failed as an
        unexpected error. Refused instead like a mutation over GET (OPERATION_NOT_ALLOWED, audited, hub.api.view)."""
        allowed = DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types
        return await super().execute(query, variable_values, context_value, root_value, operation_name,
                                     {t for t in allowed if t is not OperationType.SUBSCRIPTION}, operation_extensions)


def _merged(name: str, part: str) -> type:
    """The root type ``name``: every resolvers package's ``part`` types merged (``hub.assembly``)."""
    return merge_types(name, tuple(t for c in contributions() for t in getattr(c, part)))


def query_type() -> type:
    return _merged("Query", "query")


def mutation_type() -> type:
    return _merged("Mutation", "mutation")


def subscription_type() -> type:
    return _merged("Subscription", "subscription")


def build_schema(settings: Settings | None = None) -> HubSchema:
    settings = settings or Settings()
    extensions: list[Any] = [
        # The operation span (hub.api.telemetry) is FIRST: current while everything below runs, including
        # the audit entry's write, and it sees the errors as finally shaped.
        OperationSpan,
        AuditExtension,  # then the audit: its after-yield runs after ErrorCodes shaped the errors
        # Limits from settings (hub.api.document_limits): tokens, cached parse, depth, aliases, introspection depth,
        # cost (before validation), then the validation cache.
        *schema_extensions(settings, CACHE_SIZE),
    ]
    if settings.replica_urls:
        extensions.append(ReadRouting)  # queries to a replica, mutations to the primary (hub.db.replicas)
    if settings.trace_resolvers:
        extensions.append(ResolverSpans)  # one span per resolved field: costly, off by default
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    extensions.append(ErrorCodes)
    schema = HubSchema(
        query=query_type(),
        mutation=mutation_type(),
        subscription=subscription_type(),
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=HubExecutionContext,
    )
    schema.guarded_fields = install_guards(schema._schema, dataset_types())
    install_code_checks(schema._schema)  # outside the guards: a malformed code is BAD_USER_INPUT (hub.api.codes)
    watch_subscriptions(schema._schema)  # a running subscription ends when its access does (hub.api.ws_auth)
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"


SCHEMA_FILE = GRAPHQL_DIR / "schema.graphql"
