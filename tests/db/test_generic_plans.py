"""A page run with its optional filters null goes to the generic-plan pool (``hub.db.pools.optional_filters``),
where PostgreSQL plans it once instead of on every run. That generic plan must read no more of the database than
the plan PostgreSQL makes for the run's own values: shown with EXPLAIN ANALYZE (blocks read) for the pages of the
SQL files and for the statements the compiled path generates from them (a page fused with its nodes' key joins,
``hub.api.fused``) for every registered document. (On the bench's data, a fused join without its ``offset 0`` had a
generic plan that read the whole occupations table once per posting; the test data's statistics do not lead
PostgreSQL there, so this guards the plans of the data the suite has.)"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson

from hub.api.plan_cache import PlanCache
from hub.api.schema import build_schema
from hub.api.trusted import TrustedDocuments
from hub.db.pools import SqlRegistry, optional_filters

PAGE = 50  # rows per page, as the bench's pages


def _pages(settings) -> dict[str, str]:
    cache = PlanCache(build_schema(settings), settings, 1024)
    for doc in TrustedDocuments.load():  # generates the fused statements of the registered documents
        cache.get(doc.hash, doc.text, None)
    registry = SqlRegistry()
    statements = {name: registry[name] for name in registry.names()}
    statements.update(SqlRegistry.generated)
    return {name: sql for name, sql in statements.items() if optional_filters(sql) is not None}


def _blocks(plan: dict[str, Any]) -> tuple[int, int]:
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"], plan["Actual Rows"]


def _blocks_read(url: str, pages: dict[str, str], mode: str) -> dict[str, tuple[int, int]]:
    """Blocks read and rows returned by each page's run, all optional filters null, with ``plan_cache_mode = mode``."""
    async def go() -> dict[str, tuple[int, int]]:
        conn = await asyncpg.connect(url, server_settings={"plan_cache_mode": mode})
        try:
            found = {}
            for i, (name, sql) in enumerate(sorted(pages.items())):
                await conn.execute(f"prepare page_{i} as {sql}")
                nulls = ", ".join(["null"] * len(optional_filters(sql)))
                args = f"0, {PAGE + 1}" + (f", {nulls}" if nulls else "")
                await conn.execute(f"execute page_{i}({args})")  # warm: both modes then read cached blocks
                [plan] = orjson.loads(await conn.fetchval(
                    f"explain (analyze, buffers, format json) execute page_{i}({args})"))
                found[name] = _blocks(plan["Plan"])
            return found
        finally:
            await conn.close()

    return asyncio.run(go())


def test_unfiltered_pages_read_no_more_with_their_generic_plan(settings) -> None:
    pages = _pages(settings)
    assert "labor/postings_page" in pages and "fused/labor/postings_page+occupation_code:labor/occupations_by_code" \
        in {SqlRegistry.label(name) for name in pages}
    generic = _blocks_read(settings.database_url, pages, "force_generic_plan")
    custom = _blocks_read(settings.database_url, pages, "force_custom_plan")
    # At most what the custom plan reads, or a few blocks per row of the page: a key join probes its index once per
    # row where the custom plan for a small table may hash it whole; never a table read per row.
    worse = {name: (generic[name], custom[name]) for name in pages
             if generic[name][0] > max(1.5 * custom[name][0] + 10, 4 * (generic[name][1] + 1))}
    assert not worse, f"generic plans reading more than the custom ones ((blocks, rows) generic, custom): {worse}"
