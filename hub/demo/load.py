"""Loading the demo data (``hub seed``): COPY each department's generated rows in through its own pool."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Mapping

from hub.demo.scales import COLUMNS, SCALES
from hub.demo.seed import Progress, generate
from hub.departments import DATA, HUB

# --- loading -------------------------------------------------------------------------------------------

_CHUNK = 50_000


def _qualified(schema: str, table: str) -> str:
    return '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'


async def _copy(conn, table: str, rows: list[tuple], progress: Progress | None) -> None:
    schema, name = table.split(".")
    total = len(rows)
    if progress:
        progress(table, 0, total)
    for start in range(0, total, _CHUNK):
        await conn.copy_records_to_table(name, schema_name=schema, columns=list(COLUMNS[table]),
                                         records=rows[start:start + _CHUNK])
        if progress:
            progress(table, min(total, start + _CHUNK), total)


async def _load_department(pool, schema: str, data: dict[str, list[tuple]], progress: Progress | None) -> None:
    tables = [t for t in COLUMNS if t.startswith(schema + ".")]
    async with pool.acquire() as conn:
        async with conn.transaction():
            existing = await conn.fetch("select tablename from pg_tables where schemaname = $1 order by tablename",
                                        schema)
            names = [_qualified(schema, r["tablename"]) for r in existing]
            if names:
                await conn.execute(f"truncate {', '.join(names)} restart identity cascade")
            for table in tables:
                await _copy(conn, table, data[table], progress)
            for table in tables:
                if COLUMNS[table][0] == "id":
                    await conn.execute(f"select setval(pg_get_serial_sequence('{table}', 'id'), max(id)) from {table}")
        # VACUUM sets the visibility map, so counts and "first N per parent" can be index-only scans.
        await conn.execute(f"vacuum (analyze) {', '.join(tables)}")


async def _load_districts(pool, rows: list[tuple], progress: Progress | None) -> None:
    # Upsert through a temporary table (COPY), so that no other hub table is touched even if it refers
    # to hub.districts; the result is the same as truncate + load.
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("create temporary table _seed_districts (code text, name text, parent_code text) "
                               "on commit drop")
            await conn.copy_records_to_table("_seed_districts", columns=list(COLUMNS["hub.districts"]), records=rows)
            await conn.execute("""
                insert into hub.districts (code, name, parent_code)
                select code, name, parent_code from _seed_districts order by parent_code nulls first, code
                on conflict (code) do update set name = excluded.name, parent_code = excluded.parent_code""")
            await conn.execute("delete from hub.districts d where not exists "
                               "(select from _seed_districts s where s.code = d.code)")
        await conn.execute("analyze hub.districts")
    if progress:
        progress("hub.districts", len(rows), len(rows))


def pools_of(db: Any) -> dict[str, Any]:
    """The pools ``load_demo`` writes through, from a ``hub.db.pools.Databases``: ``hub`` (bigdata's schema) and
    every data department's."""
    return {"hub": db.pools[HUB], **{d: db.pools[d] for d in DATA}}


async def load_demo(pools: Mapping[str, object], scale: str = "small", seed: int = 42,
                    progress: Progress | None = None) -> dict[str, int]:
    """Replace every department's data with the demo data of ``scale`` and ``seed``; returns row counts."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    missing = [k for k in ("hub", *DATA) if k not in pools]
    if missing:
        raise ValueError(f"pools missing for {', '.join(missing)}")
    await pools["hub"].execute("delete from hub.meta where key = 'demo_data'")
    data = generate(scale, seed, progress)
    await _load_districts(pools["hub"], data["hub.districts"], progress)
    await asyncio.gather(*(_load_department(pools[d], d, data, progress) for d in DATA))
    counts = {t: len(rows) for t, rows in data.items()}
    await pools["hub"].execute(
        """insert into hub.meta (key, value) values ('demo_data', $1::jsonb)
           on conflict (key) do update set value = excluded.value, updated_at = now()""",
        json.dumps({"scale": scale, "seed": seed, "counts": counts}, sort_keys=True))
    return counts
