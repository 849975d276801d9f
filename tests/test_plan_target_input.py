"""setPlanTarget (issue 16) with hostile numbers: a count target must be a count the API can carry back exactly (a
GraphQL Int), not any float; the refusal is BAD_USER_INPUT naming targetValue, and nothing changes."""

from __future__ import annotations

import pytest

from tests.test_plan_indicators import SET, env, gql, indicators, target  # noqa: F401 - the hand-made dataset's app
from tests.test_statistics import stats_settings  # noqa: F401


@pytest.mark.parametrize("value", [1e300, 2.0 ** 53 + 2, 2.0 ** 31])
def test_a_count_target_beyond_any_count_is_refused(env, target, value: float) -> None:  # noqa: F811
    """(``target`` puts the plan's values back should one be accepted.)"""
    body = gql(env, "admin", SET, {"i": "DOUBLE_BASES", "v": value, "b": 2020, "t": 2022})
    assert [(e["extensions"]["code"], e["extensions"].get("argument")) for e in body.get("errors", [])] == [
        ("BAD_USER_INPUT", "targetValue")], body
    assert indicators(env, 2022)["DOUBLE_BASES"]["targetValue"] == 12.0  # nothing changed
