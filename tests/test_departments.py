"""The department registry (hub.departments) is complete: every registered department has its migration, its
queries folder, its catalog rows and its resolver package, and nothing outside the registry is a department."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from hub import SQL_DIR
from hub.assembly import PACKAGES, contributions, dataset_types
from hub.departments import DATA, DEPARTMENTS, NAMES
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
