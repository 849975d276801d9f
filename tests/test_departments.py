"""The department registry (hub.departments) is complete: every registered department has its migration, its
queries folder, its catalog rows and its resolver package, and nothing outside the registry is a department."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest

from hub import SQL_DIR, departments
from hub.assembly import PACKAGES, contributions, dataset_types
from hub.db.pools import Databases
from hub.departments import DATA, DEPARTMENTS, NAMES, Department
from hub.settings import Settings
from tests.support.helpers import sql, sql_value

RESOLVERS = Path(importlib.import_module("resolvers").__file__).parent


@pytest.mark.parametrize("department", DEPARTMENTS, ids=lambda d: d.name)
def test_a_department_has_its_migration_and_queries(department) -> None:
    migration = SQL_DIR / "migrations" / department.migration
    assert f"create schema if not exists {department.schema};" in migration.read_text(encoding="utf-8")
    assert sorted(department.queries_dir.glob("*.sql")), f"no statements in {department.queries_dir}"


@pytest.mark.parametrize("department", DEPARTMENTS, ids=lambda d: d.name)
def test_a_department_has_its_resolver_package(department) -> None:
    contribution = importlib.import_module(f"{department.resolvers}.register").CONTRIBUTION
    assert contribution.query, f"{department.name} adds no root fields"
    for dataset in contribution.dataset_types.values():  # a department exposes only its own datasets
        assert dataset.split(".")[0] == department.schema, dataset
    assert {s.dataset for s in contribution.ingest} == set(contribution.dataset_types.values())  # and ingests them


def test_every_resolver_package_is_registered() -> None:
    packages = {p.parent.name for p in RESOLVERS.glob("*/__init__.py")}
    assert packages == set(PACKAGES)
    assert len(contributions()) == len(PACKAGES)


def test_the_catalog_lists_the_data_departments_datasets(settings: Settings) -> None:
    rows = sql(settings.database_url, "select name, department from hub.datasets")
    by_department = {d: {r["name"] for r in rows if r["department"] == d} for d in NAMES}
    for name in DATA:
        assert by_department[name], f"no catalog rows for {name}"
    assert not by_department["bigdata"]  # the hub's own tables are not datasets
    assert {r["name"] for r in rows} == set(dataset_types().values())


def test_the_database_knows_the_same_departments(settings: Settings) -> None:
    check = sql_value(settings.database_url, "select pg_get_constraintdef(oid) from pg_constraint "
                                             "where conrelid = 'hub.datasets'::regclass and contype = 'c' "
                                             "and pg_get_constraintdef(oid) like '%department%'")
    assert all(f"'{name}'" in check for name in NAMES), check
    assert check.count("'::text") == len(NAMES), check


def test_a_new_department_is_reached_by_its_schema_with_no_change_in_hub_db(settings: Settings, monkeypatch) -> None:
    """``db.<schema>`` comes from the registry: a department added there (a fake "health") gets its pool and its
    accessor from ``Databases`` as it is; the existing accessors stay (``db.hub`` is bigdata's, schema hub)."""
    health = Department("health", "health", "0099_health.sql")
    registered = (*DEPARTMENTS, health)
    monkeypatch.setattr(departments, "DEPARTMENTS", registered)
    monkeypatch.setattr(departments, "BY_NAME", {d.name: d for d in registered})
    monkeypatch.setattr(departments, "BY_SCHEMA", {d.schema: d for d in registered})
    monkeypatch.setattr(departments, "NAMES", tuple(d.name for d in registered))

    async def check() -> None:
        db = await Databases(settings, settings.database_url).open()
        try:
            assert set(db.departments) == {*NAMES, "health"}
            assert db.health is db.departments["health"] and db.health.name == "health"
            assert await db.health.pool.fetchval("select 1") == 1  # its pool is open (here the default database's)
            assert [getattr(db, d.schema).name for d in DEPARTMENTS] == list(NAMES)
            assert db.hub.name == "bigdata" and db.labor.name == "labor"
            with pytest.raises(AttributeError, match="dentistry"):
                db.dentistry  # noqa: B018 - not a department: an AttributeError, not a KeyError
        finally:
            await db.close()

    asyncio.run(check())
