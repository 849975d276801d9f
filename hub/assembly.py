"""The assembly point: the one place hub/ loads resolvers/ (everything else in hub/ is department-neutral).

Each package under ``resolvers/`` — one per department (``hub.departments``) and ``analytics`` — says what it adds
to the hub in ``resolvers/<package>/register.py``: a ``Contribution`` named ``CONTRIBUTION``. The hub reads them
through ``contributions()``: the schema's root types (``hub.api.schema``), the batch specs of the compiled path
(registered as the packages load), HTTP routes and background tasks (``hub.app``), ``hub`` sub-commands
(``hub.cli.main``) and what runs after data was loaded (``hub seed``, ``/ingest``: the statistics refresh).
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
    commands: tuple[tuple[str, Any], ...] = ()  # (name, typer app): `hub <name> ...`
    background: tuple[Callable[[Any, Any], Awaitable[None]], ...] = ()  # (db, settings): tasks of the app's lifespan
    ingest: tuple[Any, ...] = ()  # hub.sync.specs.Spec of each dataset ingest accepts
    refresh: Refresh | None = None  # after data was loaded or ingested (derived tables)
    refresh_if_missing: Callable[[Any], Awaitable[Any]] | None = None  # at `hub serve --demo` on loaded data


@functools.cache
def contributions() -> tuple[Contribution, ...]:
    """Every package's contribution, in ``PACKAGES`` order (loaded once per process)."""
    return tuple(importlib.import_module(f"resolvers.{name}.register").CONTRIBUTION for name in PACKAGES)


def dataset_types() -> dict[str, str]:
    """Every GraphQL type that exposes a catalog dataset (guarded by the sharing rules), and its dataset."""
    return {t: d for c in contributions() for t, d in c.dataset_types.items()}
