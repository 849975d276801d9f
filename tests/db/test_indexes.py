"""Every foreign key and every cross-department code column has an index leading with it."""

from __future__ import annotations

from hub.settings import Settings
from tests.support.helpers import sql

SCHEMAS = ["commerce", "labor", "science", "education", "hub"]

# Columns holding another department's national code (no foreign key possible across departments).
CROSS_DEPARTMENT_CODES = [
    ("labor", "job_postings", "enterprise_uscc"), ("labor", "training_programs", "provider_uscc"),
    ("labor", "apprenticeships", "enterprise_uscc"), ("labor", "apprenticeships", "school_code"),
    ("science", "research_projects", "lead_enterprise_uscc"), ("science", "research_projects", "partner_school_code"),
    ("science", "research_projects", "industry_code"), ("science", "tech_transfers", "buyer_uscc"),
    ("science", "innovation_platforms", "host_uscc"), ("science", "innovation_platforms", "host_school_code"),
    ("education", "major_industries", "industry_code"), ("education", "major_occupations", "occupation_code"),
]


def leading_index_columns(settings: Settings) -> set[tuple[str, str, str]]:
    rows = sql(settings.database_url, """
        select n.nspname as schema, t.relname as table, a.attname as column
        from pg_index i
        join pg_class t on t.oid = i.indrelid
        join pg_namespace n on n.oid = t.relnamespace
        join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0]
        where n.nspname = any($1::text[])""", SCHEMAS)
    return {(r["schema"], r["table"], r["column"]) for r in rows}


def test_every_foreign_key_is_indexed(settings: Settings) -> None:
    fks = sql(settings.database_url, """
        select n.nspname as schema, t.relname as table, a.attname as column
        from pg_constraint c
        join pg_class t on t.oid = c.conrelid
        join pg_namespace n on n.oid = t.relnamespace
        join pg_attribute a on a.attrelid = t.oid and a.attnum = c.conkey[1]
        where c.contype = 'f' and n.nspname = any($1::text[])""", SCHEMAS)
    assert fks, "the data model has foreign keys"
    indexed = leading_index_columns(settings)
    missing = [(r["schema"], r["table"], r["column"]) for r in fks
               if (r["schema"], r["table"], r["column"]) not in indexed]
    assert not missing, f"foreign keys without an index: {missing}"


def test_every_cross_department_code_is_indexed(settings: Settings) -> None:
    indexed = leading_index_columns(settings)
    missing = [c for c in CROSS_DEPARTMENT_CODES if c not in indexed]
    assert not missing, f"cross-department codes without an index: {missing}"


def test_no_foreign_key_crosses_departments(settings: Settings) -> None:
    crossing = sql(settings.database_url, """
        select c.conname from pg_constraint c
        join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
        join pg_class f on f.oid = c.confrelid join pg_namespace fn on fn.oid = f.relnamespace
        where c.contype = 'f' and n.nspname <> fn.nspname""")
    assert [r["conname"] for r in crossing] == []
