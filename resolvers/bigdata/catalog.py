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


@strawberry.type(description="An argument of a field that reads the dataset, and the dataset fields it filters or "
                             "orders on. One touching a PERSONAL field is accepted only from readers who see that "
                             "field in clear (the owner, or a grant naming it); others get FORBIDDEN.")
class DatasetArgument:
    parent_type: str = strawberry.field(description="The GraphQL type holding the field (Query for root fields).")
    field: str
    argument: str
    fields: list[str] = strawberry.field(description="The dataset fields it filters or orders on.")
    personal_fields: list[str] = strawberry.field(description="The PERSONAL ones among them.")
    usable: bool = strawberry.field(description="Whether the asking consumer sees every personal field it touches "
                                                "in clear, so may give it a value.")


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
    arguments: list[DatasetArgument] = strawberry.field(description="Every argument of every field reading it.")
    readable: bool = strawberry.field(description="Whether the asking consumer may read it now.")


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="The resource catalog (any authenticated consumer).")
    async def catalog(self, info: strawberry.Info, department: str | None = None) -> list[Dataset]:
        ctx = info.context
        if ctx.consumer is None:
            raise Unauthenticated("authentication required")
        access = ctx.access
        arguments: dict[str, list] = {}
        for by_name in access.catalog.arguments.values():
            for a in by_name.values():
                arguments.setdefault(a.dataset, []).append(a)
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
                arguments=[_argument(a, d, access) for a in arguments.get(d.name, [])],
                readable=readable))
        return out


def _argument(a, dataset, access) -> DatasetArgument:
    personal = [f for f in a.fields if f in dataset.personal]
    return DatasetArgument(parent_type=a.parent_type, field=a.field, argument=a.argument, fields=list(a.fields),
                           personal_fields=personal, usable=not access.masked_fields(dataset).intersection(personal))
