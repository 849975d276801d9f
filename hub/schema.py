"""The one GraphQL schema: every department's root fields merged into Query (and Mutation)."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from hub import GRAPHQL_DIR
from hub.graphql_errors import ErrorCodes
from hub.settings import Settings

CACHE_SIZE = 512
MAX_DEPTH = 12


class HubSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Errors are shaped and unexpected ones logged once, with a reference id, by ErrorCodes.
        return None


def query_type() -> type:
    from resolvers.commerce.queries import CommerceQuery
    from resolvers.education.queries import EducationQuery
    from resolvers.labor.queries import LaborQuery
    from resolvers.science.queries import ScienceQuery

    return merge_types("Query", (CommerceQuery, LaborQuery, ScienceQuery, EducationQuery))


def build_schema(settings: Settings | None = None) -> HubSchema:
    settings = settings or Settings()
    extensions: list[Any] = [
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(ParserCache, maxsize=CACHE_SIZE),
        partial(ValidationCache, maxsize=CACHE_SIZE),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    extensions.append(ErrorCodes)
    return HubSchema(
        query=query_type(),
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"


SCHEMA_FILE = GRAPHQL_DIR / "schema.graphql"
