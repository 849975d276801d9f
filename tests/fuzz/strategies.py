"""Hypothesis strategies for the hub's custom scalars, as GraphQL value nodes (the form hypothesis-graphql's
``custom_scalars`` and ``schemathesis.graphql.scalar`` take): mostly valid values, some malformed ones."""

from __future__ import annotations

import datetime as dt

import graphql
from hypothesis import strategies as st

_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
_SHORT_TEXT = st.text(max_size=20)


def _string(value: object) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=str(value))


def _json_node(value: object) -> graphql.ValueNode:
    """A GraphQL literal for a JSON value (objects' keys are GraphQL names)."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(_json_node(v) for v in value))
    assert isinstance(value, dict)
    return graphql.ObjectValueNode(fields=tuple(
        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_json_node(v)) for k, v in value.items()))


_JSON_LEAVES = st.none() | st.booleans() | st.integers(-10**6, 10**6) | _SHORT_TEXT | \
    st.floats(allow_nan=False, allow_infinity=False, width=32)
JSON_VALUES = st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(_NAMES, inner, max_size=4), max_leaves=8)

DATES = st.dates(dt.date(1990, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat)
DATETIMES = st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2035, 12, 31),
                         timezones=st.just(dt.timezone.utc)).map(dt.datetime.isoformat)

SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": st.one_of(DATES, DATES, DATES, _SHORT_TEXT).map(_string),
    "DateTime": st.one_of(DATETIMES, DATETIMES, _SHORT_TEXT).map(_string),
    "JSON": st.one_of(st.dictionaries(_NAMES, _JSON_LEAVES, max_size=6), JSON_VALUES).map(_json_node),
}
