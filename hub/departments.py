"""The department registry: the one list of departments every other module reads.

A department is a name (what consumers, settings and the catalog call it), the PostgreSQL schema and the
``sql/queries/`` folder that hold its data, the migration that creates that schema, and its package under
``resolvers/``. The four *data* departments own data that the hub joins (their own database pool, demo data,
change feed, a demo consumer each); ``bigdata`` (the big-data bureau) is the hub's own: its tables are in the
``hub`` schema and its queries in ``sql/queries/hub/``. Adding a department starts here
(docs/contributing.md); ``tests/test_departments.py`` checks that every registered department has
its migration, its queries folder, its catalog rows and its resolver package. Code reaches a department's pool as
``db.<schema>`` (``hub.db.pools.Databases``), from this registry too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub import SQL_DIR


@dataclass(frozen=True)
class Department:
    name: str
    schema: str  # the PostgreSQL schema of its tables, and the folder of its queries
    migration: str  # the migration (sql/migrations/) that creates the schema
    holds_data: bool = True  # False: the hub's own (bigdata), not a source of joined data

    @property
    def queries_dir(self) -> Path:
        return SQL_DIR / "queries" / self.schema

    @property
    def resolvers(self) -> str:
        """Its package under resolvers/."""
        return f"resolvers.{self.name}"


DEPARTMENTS: tuple[Department, ...] = (
    Department("commerce", "commerce", "0002_commerce.sql"),
    Department("labor", "labor", "0003_labor.sql"),
    Department("science", "science", "0004_science.sql"),
    Department("education", "education", "0005_education.sql"),
    Department("bigdata", "hub", "0001_hub.sql", holds_data=False),
)
BY_NAME: dict[str, Department] = {d.name: d for d in DEPARTMENTS}
BY_SCHEMA: dict[str, Department] = {d.schema: d for d in DEPARTMENTS}  # ``db.<schema>`` (hub.db.pools.Databases)
NAMES: tuple[str, ...] = tuple(BY_NAME)
# the departments whose data the hub joins (pools of their own, demo data, the change feed)
DATA: tuple[str, ...] = tuple(d.name for d in DEPARTMENTS if d.holds_data)
HUB = "bigdata"  # the department of the hub's own tables (schema "hub")
