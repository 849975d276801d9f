"""The catalog (datasets, their fields, the arguments that read them) and grants, as the sharing rules read them
(``hub.governance.access``: ``PolicyStore`` loads them from ``hub.datasets``, ``hub.dataset_fields``,
``hub.dataset_arguments`` and ``hub.grants``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Dataset:
    name: str
    department: str
    graphql_type: str
    title: str
    sharing_class: str
    update_cycle: str
    description: str
    fields: tuple["DatasetField", ...] = ()

    @cached_property  # read several times per request; a frozen dataclass's fields do not change
    def personal(self) -> Mapping[str, str]:
        """GraphQL field name -> mask kind, for the PERSONAL fields (read-only: it is shared)."""
        return MappingProxyType({f.field: f.mask for f in self.fields if f.sensitivity == "PERSONAL" and f.mask})


@dataclass(frozen=True)
class DatasetField:
    dataset: str
    field: str
    sensitivity: str
    mask: str | None
    description: str


@dataclass(frozen=True)
class DatasetArgument:
    """An argument of a dataset-reading GraphQL field and the dataset fields it filters or orders on."""

    parent_type: str
    field: str
    argument: str
    dataset: str
    fields: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Grant:
    """A department's grants in force on one dataset, taken together: their ids (all of them are used by a read, and
    named in its audit entry) and the union of the PERSONAL fields they unmask."""

    ids: frozenset[int]
    dataset: str
    fields: frozenset[str]


@dataclass(frozen=True)
class Catalog:
    datasets: dict[str, Dataset]
    # (parent type, field) -> argument name -> what it filters or orders on
    arguments: dict[tuple[str, str], dict[str, DatasetArgument]] = field(default_factory=dict)

    @property
    def by_type(self) -> dict[str, Dataset]:
        return {d.graphql_type: d for d in self.datasets.values()}
