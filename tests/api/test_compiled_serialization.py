"""Scalars the compiled path serializes itself (hub.api.plan_builders.serializer, _INLINE) must answer like graphql-core's
serializers on the general path, for every value the database can hold — not only the demo data's."""

from __future__ import annotations

from dataclasses import replace

from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support.helpers import sql, sql_value

QUERY = "query Projects($uscc: String!) { enterprise(uscc: $uscc) { investmentProjects { code amountWan } } }"


def test_a_nan_amount_is_an_error_on_both_paths(settings: Settings, tokens) -> None:
    """numeric columns hold 'NaN' and their checks let it in ('NaN' > 0 in PostgreSQL). graphql-core's Float refuses
    it (an error at the field's path, the non-null field's parent nulled); the plan wrote float('nan'), which orjson
    encodes as null: a Float! answered null, without an error, by the compiled path only."""
    url = settings.database_url
    uscc = sql_value(url, "select uscc from commerce.enterprises order by uscc limit 1")
    sql(url, "insert into commerce.investment_projects (code, name, enterprise_uscc, amount_wan, starts_on) "
             "values ('IP999999', 'NaN probe', $1, 'NaN', current_date)", uscc)
    try:
        answers = []
        for compiled in (True, False):
            with TestClient(create_app(replace(settings, compiled_queries=compiled))) as client:
                response = client.post("/graphql", json={"query": QUERY, "variables": {"uscc": uscc}},
                                       headers={"Authorization": f"Bearer {tokens['commerce']}"})
                body = response.json()
                body.pop("extensions", None)
                answers.append((response.status_code, body))
        assert answers[0] == answers[1]
        assert answers[1][1]["errors"], answers[1]
    finally:
        sql(url, "delete from commerce.investment_projects where code = 'IP999999'")
