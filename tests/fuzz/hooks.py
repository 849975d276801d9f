"""schemathesis hooks for ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

* strategies for the custom scalars Date, DateTime and JSON (tests/fuzz/strategies.py);
* the ``hub_contract`` check, which replaces schemathesis' GraphQL heuristics (``not_a_server_error`` counts
  every resolver error as a server failure, ``positive_data_acceptance`` every coded refusal of a
  schema-valid query): by design (docs/design.md, "Errors and tests") the hub returns expected failures —
  FORBIDDEN, NOT_FOUND, BAD_USER_INPUT for ``first: -5`` or an unknown code — as coded GraphQL errors. A
  finding is an HTTP 5xx, a response that is not JSON, an error without a known code or an unexpected
  one (INTERNAL_SERVER_ERROR), or null in a non-null field.
"""

from __future__ import annotations

import functools
from typing import Any

import schemathesis
from graphql import GraphQLError, parse

from tests.fuzz.strategies import SCALARS
from tests.support.graphql_checks import error_problems, null_problems

for _name, _strategy in SCALARS.items():
    schemathesis.graphql.scalar(_name, _strategy)


@functools.lru_cache(maxsize=1)
def _schema() -> Any:
    from hub.api.schema import build_schema

    return build_schema()._schema


def _document(case: Any) -> str | None:
    body = getattr(case, "body", None)
    if isinstance(body, dict):
        body = body.get("query")
    return body if isinstance(body, str) else None


@schemathesis.check
def hub_contract(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, JSON bodies, known and expected error codes, no null in a non-null field."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"not JSON (HTTP {response.status_code}): {response.text[:200]}") from None
    problems = error_problems(body)
    document = _document(case)
    if document is not None and isinstance(body, dict):
        try:
            problems += null_problems(_schema(), parse(document), body.get("data"))
        except GraphQLError:
            pass  # an unparsable document has no data to check
    if problems:
        raise AssertionError("; ".join(problems[:5]))
    return None
