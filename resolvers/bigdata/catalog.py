"""The resource catalog: every dataset the API exposes, its sharing class and its fields."""

from __future__ import annotations

from enum import Enum

import strawberry

from hub.errors import Unauthenticated


@strawberry.enum(description="Government-data sharing class.")
class SharingClass(Enum):
    UNCONDITIONAL = "UNCONDITIONAL"
    CONDITIONAL = "CONDITIONAL"
    NOT_SHARED = "NOT_SHARED"


@strawberry.enum
class Sensitivity(Enum):
    PUBLIC = "PUBLIC"
    PERSONAL = "PERSONAL"


@strawberry.type(description="A field of a catalog dataset.")
class DatasetField:
    field: str
    sensitivity: Sensitivity
    mask: str | None = strawberry.field(description="How the field is masked for readers without a grant naming it.")
    description: str


@strawberry.type(description="A dataset of the resource catalog.")
class Dataset:
    name: str
    department: str
    graphql_type: str
    title: str
    sharing_class: SharingClass
    update_cycle: str
    description: str
    fields: list[DatasetField]
    readable: bool = strawberry.field(description="Whether the asking consumer may read it now.")


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="The resource catalog (any authenticated consumer).")
    async def catalog(self, info: strawberry.Info, department: str | None = None) -> list[Dataset]:
        ctx = info.context
        if ctx.consumer is None:
            raise Unauthenticated("authentication required")
        access = ctx.access
        out = []
        for d in access.catalog.datasets.values():
            if department is not None and d.department != department:
                continue
            readable = (d.department == ctx.consumer.department or d.sharing_class == "UNCONDITIONAL"
                        or (d.sharing_class == "CONDITIONAL" and d.name in access.grants))
            out.append(Dataset(
                name=d.name, department=d.department, graphql_type=d.graphql_type, title=d.title,
                sharing_class=SharingClass(d.sharing_class), update_cycle=d.update_cycle, description=d.description,
                fields=[DatasetField(field=f.field, sensitivity=Sensitivity(f.sensitivity), mask=f.mask,
                                     description=f.description) for f in d.fields],
                readable=readable))
        return out
