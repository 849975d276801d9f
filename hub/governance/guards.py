"""Enforcement of the sharing rules on every field (docs/design.md, "Sharing rules").

It is installed once on the built GraphQL schema (``install_guards``): every field whose type is a catalog dataset
(an object, a list of them, or a connection of them) — on Query and on every join — gets a guard that checks access
(``hub.governance.access.Access``) before resolving, then masks personal fields and counts rows for the audit. A
field added later is guarded without anyone remembering to. A denied field resolves to null with a FORBIDDEN error
naming the dataset at its path; the rest of the response is returned.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, default_field_resolver, get_named_type
from hub.errors import Forbidden
from hub.governance.access import Access
from hub.governance.catalog import Dataset

# Scalar fields that read another dataset than their parent type's.
EXTRA_GUARDS: dict[tuple[str, str], str] = {("Occupation", "postingCount"): "labor.job_postings"}


def _dataset_type_name(gql_type: Any) -> str | None:
    """The object type a field returns: X, [X], or XConnection (whose nodes are X)."""
    named = get_named_type(gql_type)
    if not isinstance(named, GraphQLObjectType):
        return None
    if named.name.endswith("Connection") and "nodes" in named.fields:
        inner = get_named_type(named.fields["nodes"].type)
        return inner.name
    return named.name


def guarded_fields(schema: GraphQLSchema, type_names: set[str]) -> dict[tuple[str, str], str]:
    """(parent type, field) -> dataset GraphQL type, for every field that reads a dataset."""
    found: dict[tuple[str, str], str] = {}
    for parent in schema.type_map.values():
        if not isinstance(parent, GraphQLObjectType) or parent.name.startswith("__"):
            continue
        if parent.name.endswith(("Connection", "Edge")):
            continue  # their node lists belong to the field that returned the connection
        for fname, fdef in parent.fields.items():
            target = _dataset_type_name(fdef.type)
            if target in type_names:
                found[(parent.name, fname)] = target
    return found


def install_guards(schema: GraphQLSchema, type_to_dataset: dict[str, str]) -> dict[tuple[str, str], str]:
    """Wrap the resolver of every dataset-reading field. Returns (type, field) -> dataset name."""
    installed: dict[tuple[str, str], str] = {}
    targets = guarded_fields(schema, set(type_to_dataset))
    for (parent, fname), type_name in targets.items():
        installed[(parent, fname)] = type_to_dataset[type_name]
    for key, dataset in EXTRA_GUARDS.items():
        if key[0] in schema.type_map and key[1] in schema.type_map[key[0]].fields:
            installed[key] = dataset
    for (parent, fname), dataset_name in installed.items():
        fdef = schema.type_map[parent].fields[fname]
        if isinstance(fdef.type, GraphQLNonNull):
            raise RuntimeError(f"{parent}.{fname} reads dataset {dataset_name} and must be nullable, so that "
                               "a denied read returns null with a FORBIDDEN error instead of nulling its parent")
        fdef.resolve = _guard(fdef.resolve, dataset_name, (parent, fname), counts=(parent, fname) not in EXTRA_GUARDS)
    return installed


def _guard(resolve: Callable[..., Any] | None, dataset_name: str, where: tuple[str, str],
           counts: bool) -> Callable[..., Any]:
    inner = resolve or default_field_resolver

    async def finish(access: Access, dataset: Dataset, pending: Any) -> Any:
        return access.after_resolve(dataset, await pending)

    def guarded(source: Any, info: Any, **kwargs: Any) -> Any:
        access: Access = info.context.access
        dataset = access.catalog.datasets.get(dataset_name)
        if dataset is None:
            raise Forbidden(f"dataset {dataset_name} is not in the catalog, so it is not shared",
                            dataset=dataset_name)
        access.check(dataset, where, kwargs)  # the dataset, then the arguments (GraphQL names): before any SQL
        result = inner(source, info, **kwargs)
        if not counts:
            return result
        if inspect.isawaitable(result):
            return finish(access, dataset, result)
        return access.after_resolve(dataset, result)

    return guarded

