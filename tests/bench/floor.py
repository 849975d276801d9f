"""The floor: the bench operations' data fetched by ONE hand-written SQL statement each through asyncpg,
served by a minimal starlette endpoint as ``{"data": ...}`` JSON via orjson, in the same shape as the
hub's answer (the bench checks both answers are equal).

No authentication, audit, limits, GraphQL or DataLoaders: what is left is HTTP + one round trip to
PostgreSQL + building JSON, i.e. the best a Python server on this machine can do for the same rows.
Run by the bench as ``uvicorn tests.bench.floor:create_app --factory --workers N`` with
``DATABASE_URL`` pointing at the bench database.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Awaitable, Callable

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[asyncpg.Connection, dict[str, Any]], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}


def handler(operation_name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[operation_name] = fn
        return fn

    return register


ENTERPRISE_SQL = """
select e.uscc, e.name, e.district_code, e.size, e.founded_on, i.code as i_code, i.name as i_name
from commerce.enterprises e
left join commerce.industries i on i.code = e.industry_code
where e.uscc = $1
"""


@handler("BenchEnterpriseByUscc")
async def enterprise_by_uscc(conn: asyncpg.Connection, v: dict[str, Any]) -> Any:
    r = await conn.fetchrow(ENTERPRISE_SQL, v.get("uscc", "914401056551347472"))
    if r is None:
        return {"enterprise": None}
    return {"enterprise": {
        "uscc": r[0], "name": r[1], "districtCode": r[2], "size": r[3], "foundedOn": r[4],
        "industry": {"code": r[5], "name": r[6]} if r[5] is not None else None}}


POSTINGS_NESTED_SQL = """
select p.id, p.title, e.name as e_name, e.uscc is not null as has_e, i.name as i_name, i.code is not null as has_i,
       o.code as o_code, o.name as o_name
from (select id, title, enterprise_uscc, occupation_code from labor.job_postings order by id limit $1) p
left join commerce.enterprises e on e.uscc = p.enterprise_uscc
left join commerce.industries i on i.code = e.industry_code
left join labor.occupations o on o.code = p.occupation_code
order by p.id
"""


@handler("BenchPostingsNested")
async def postings_nested(conn: asyncpg.Connection, v: dict[str, Any]) -> Any:
    rows = await conn.fetch(POSTINGS_NESTED_SQL, v.get("first", 50))
    return {"jobPostings": {"nodes": [{
        "id": r[0], "title": r[1],
        "enterprise": {"name": r[2], "industry": {"name": r[4]} if r[5] else None} if r[3] else None,
        "occupation": {"code": r[6], "name": r[7]} if r[6] is not None else None,
    } for r in rows]}}


OCCUPATIONS_POSTINGS_SQL = """
select o.code, o.name, p.id, p.title, e.name as e_name, e.uscc is not null as has_e
from (select id, code, name from labor.occupations order by id limit $1) o
left join lateral (
    select id, title, enterprise_uscc from labor.job_postings
    where occupation_code = o.code order by id limit $2
) p on true
left join commerce.enterprises e on e.uscc = p.enterprise_uscc
order by o.id, p.id
"""


def occupations_with_postings(rows: list[asyncpg.Record], posting: Any) -> Any:
    """Rows ordered by (occupation, posting) -> occupations{nodes{code, name, postings{nodes}}}; a row whose
    posting id (r[2]) is null is an occupation without postings; ``posting(r)`` builds one posting node."""
    nodes: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for r in rows:
        if current is None or current["code"] != r[0]:
            current = {"code": r[0], "name": r[1], "postings": {"nodes": []}}
            nodes.append(current)
        if r[2] is not None:
            current["postings"]["nodes"].append(posting(r))
    return {"occupations": {"nodes": nodes}}


@handler("BenchOccupationsPostings")
async def occupations_postings(conn: asyncpg.Connection, v: dict[str, Any]) -> Any:
    rows = await conn.fetch(OCCUPATIONS_POSTINGS_SQL, v.get("first", 20), v.get("postings", 20))
    return occupations_with_postings(
        rows, lambda r: {"id": r[2], "title": r[3], "enterprise": {"name": r[4]} if r[5] else None})


# The majors of an industry: mapped to its code, a class below it or above it (numeric GB/T 4754 codes
# are prefix-hierarchical), one per (major code, school), in major-code then school-code order: the
# same rule as the hub's MajorsByIndustryLoader for a non-section industry (enterprises are classified
# in 4-digit classes). Aggregated to JSON in the database and embedded as is (orjson.Fragment).
DEEP_SQL = """
select o.code, o.name, p.id, p.title, e.name as e_name, e.uscc is not null as has_e,
       i.code as i_code, i.name as i_name,
       case when i.code is null then null else (
           select coalesce(json_agg(json_build_object('code', m.code, 'name', m.name, 'schoolCode', m.school_code)
                                    order by m.code, m.school_code), '[]')
           from (select distinct m.code, m.name, m.school_code
                 from education.major_industries mi
                 join education.majors m on m.code = mi.major_code
                 where mi.industry_code like i.code || '%' or i.code like mi.industry_code || '%') m
       ) end as majors
from (select id, code, name from labor.occupations order by id limit $1) o
left join lateral (
    select id, title, enterprise_uscc from labor.job_postings
    where occupation_code = o.code order by id limit $2
) p on true
left join commerce.enterprises e on e.uscc = p.enterprise_uscc
left join commerce.industries i on i.code = e.industry_code
order by o.id, p.id
"""


@handler("BenchDeepCrossDepartment")
async def deep_cross_department(conn: asyncpg.Connection, v: dict[str, Any]) -> Any:
    rows = await conn.fetch(DEEP_SQL, v.get("first", 10), v.get("postings", 10))

    def posting(r: asyncpg.Record) -> dict[str, Any]:
        enterprise = None
        if r[5]:
            industry = None
            if r[6] is not None:
                industry = {"code": r[6], "name": r[7], "majors": orjson.Fragment(r[8])}
            enterprise = {"name": r[4], "industry": industry}
        return {"id": r[2], "title": r[3], "enterprise": enterprise}

    return occupations_with_postings(rows, posting)


# The hub's summary rows of the year for the (occupation, district) grouping (dimension mask 1 | 2), largest
# gap first. The bench reads as labor, which owns the seekers: no small cell is withheld from it.
SUPPLY_DEMAND_SQL = """
select s.occupation_code, o.name, s.district_code, d.name, s.demand, s.supply,
       (s.demand::numeric / nullif(s.supply, 0))::float8, s.demand - s.supply
from hub.stat_supply_demand s
left join hub.stat_occupations o on o.code = s.occupation_code
left join hub.districts d on d.code = s.district_code
where s.year = $1 and s.dims = 3
order by s.demand - s.supply desc nulls last, s.occupation_code, s.district_code, s.skill_level nulls last,
         s.section nulls last, s.quarter
limit $2
"""


@handler("BenchSupplyDemand")
async def supply_demand(conn: asyncpg.Connection, v: dict[str, Any]) -> Any:
    rows = await conn.fetch(SUPPLY_DEMAND_SQL, v.get("year", 2025), v.get("first", 50))
    return {"supplyDemand": {"nodes": [{
        "occupationCode": r[0], "occupationName": r[1], "districtCode": r[2], "districtName": r[3],
        "demand": r[4], "supply": r[5], "ratio": r[6], "gap": r[7], "suppressed": False} for r in rows]}}


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


def create_app() -> Starlette:
    url = os.environ["DATABASE_URL"]
    pool_size = int(os.environ.get("HUB_POOL_MAX_SIZE", "10"))
    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        # reset=_no_reset: the floor never changes session state, so it skips asyncpg's default reset
        # query (one more round trip) when a connection goes back to the pool.
        state["pool"] = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, reset=_no_reset,
                                                  server_settings={"jit": "off", "application_name": "bench-floor"})
        try:
            yield
        finally:
            await state["pool"].close()

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        fn = HANDLERS.get(body.get("operationName") or "")
        if fn is None:
            return Response(orjson.dumps({"errors": [{"message": "unknown operation"}]}), status_code=400,
                            media_type="application/json")
        async with state["pool"].acquire() as conn:
            data = await fn(conn, body.get("variables") or {})
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)],
                     lifespan=lifespan)
