"""The national vocational major catalog (``education.major_catalog``, issue 16): every major code with its name
and category, so majors no school teaches yet have names. UNCONDITIONAL: everyone reads it."""

from __future__ import annotations

import strawberry

from hub.api.loaders import row_converter
from hub.api.pagination import Connection, like_contains, like_prefix
from hub.api.specs import RootPage


@strawberry.type(description="A major of the national vocational major catalog (职业教育专业目录).")
class MajorCatalogEntry:
    id: strawberry.Private[int]
    code: str = strawberry.field(description="6-digit vocational major catalog code.")
    name: str
    category: str = strawberry.field(description="The catalog's category (专业大类), e.g. 电子与信息大类.")


@strawberry.type
class MajorCatalogEntryConnection(Connection[MajorCatalogEntry]):
    pass


MAJOR_CATALOG = RootPage("majorCatalog", dept="education", query="education/major_catalog_page",
                         params=(("code_prefix", like_prefix), ("category", None), ("search", like_contains)),
                         connection=MajorCatalogEntryConnection, convert=row_converter(MajorCatalogEntry))


@strawberry.type
class MajorCatalogQuery:
    @strawberry.field(description="The national vocational major catalog, filtered by code prefix, category or name.")
    async def major_catalog(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                            code_prefix: str | None = None, category: str | None = None,
                            search: str | None = None) -> MajorCatalogEntryConnection | None:
        return await MAJOR_CATALOG.fetch(info.context, locals())
