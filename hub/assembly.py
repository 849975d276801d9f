"""The assembly point: the one place hub/ loads resolvers/ (everything else in hub/ is department-neutral).

Each package under ``resolvers/`` — one per department (``hub.departments``) and ``analytics`` — says what it adds
to the hub in ``resolvers/<package>/register.py``: a ``Contribution`` named ``CONTRIBUTION``. The hub reads them
through ``contributions()``: the schema's root types (``hub.api.schema``), the batch specs of the compiled path
(registered as the packages load), HTTP routes and background tasks (``hub.app``), the datasets ingest accepts
(``hub.sync.specs``) and what runs after data was loaded (``hub seed``, ``/ingest``: the statistics refresh).
``commands()`` reads the ``hub`` sub-commands from ``resolvers/<package>/cli.py`` alone (the CLI starts fast).
The packages are loaded by name (``importlib``), as plugins are: resolvers/ imports hub, so hub cannot import
resolvers at module level, and this keeps the import-linter layers of docs/contributing.md one-way.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.departments import NAMES

# The packages under resolvers/, in the order their root fields are merged into the schema.
PACKAGES: tuple[str, ...] = (*NAMES, "analytics")

Refresh = Callable[..., Awaitable[Any]]  # (db, progress=None)


@dataclass(frozen=True)
class Contribution:
    """What a resolvers package adds to the hub (every part optional)."""

    query: tuple[type, ...] = ()  # merged into Query, Mutation, Subscription
    mutation: tuple[type, ...] = ()
    subscription: tuple[type, ...] = ()
    dataset_types: Mapping[str, str] = field(default_factory=dict)  # GraphQL type -> catalog dataset it exposes
    routes: Callable[[], list[Any]] | None = None  # Starlette routes of the app
    background: tuple[Callable[[Any, Any], Awaitable[None]], ...] = ()  # (db, settings): tasks of the app's lifespan
    ingest: tuple[Any, ...] = ()  # hub.sync.specs.Spec of each dataset ingest accepts
    refresh: Refresh | None = None  # after data was loaded or ingested (derived tables)
    refresh_if_missing: Callable[[Any], Awaitable[Any]] | None = None  # at `hub serve --demo` on loaded data


@functools.cache
def contributions() -> tuple[Contribution, ...]:
    """Every package's contribution, in ``PACKAGES`` order (loaded once per process)."""
    return tuple(importlib.import_module(f"resolvers.{name}.register").CONTRIBUTION for name in PACKAGES)


@functools.cache
def commands() -> tuple[tuple[str, Any], ...]:
    """The ``hub`` sub-commands of the resolvers packages: ``COMMANDS`` ((name, typer app), ...) of
    ``resolvers/<package>/cli.py`` where it exists. Loaded apart from ``contributions()`` so that the CLI starts
    without importing every package's GraphQL types."""
    found: list[tuple[str, Any]] = []
    for name in PACKAGES:
        try:
            module = importlib.import_module(f"resolvers.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"resolvers.{name}.cli":
                raise
            continue
        found.extend(module.COMMANDS)
    return tuple(found)


def dataset_types() -> dict[str, str]:
    """Every GraphQL type that exposes a catalog dataset (guarded by the sharing rules), and its dataset."""
    return {t: d for c in contributions() for t, d in c.dataset_types.items()}
