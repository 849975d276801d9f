"""How a compiled plan (``hub.api.fastpath``) turns objects into response values: scalars serialized as graphql-core
serializes them, and a generated builder per selection ("objects -> response dicts"). Hand-written: no library
compiles GraphQL for strawberry."""
from __future__ import annotations

import math
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from graphql import GraphQLEnumType, get_named_type

if TYPE_CHECKING:
    from hub.api.fastpath import SelectionPlan


class NotCompilable(Exception):
    """The document uses something the compiled path does not answer; the general path will."""


def _finite(value: Any) -> float:
    """A Float's JSON value; NaN and infinities (numeric columns hold them) are refused as graphql-core's Float
    refuses them, so the general path answers with its error (orjson would write them as null)."""
    number = float(value)
    if not math.isfinite(number):
        raise NotCompilable(f"Float cannot represent {value!r}")
    return number


def serializer(gql_type: Any) -> Callable[[Any], Any] | None:
    named = get_named_type(gql_type)
    if isinstance(named, GraphQLEnumType):
        return lambda v: None if v is None else (v.name if isinstance(v, Enum) else v)
    name = named.name
    if name == "Float":
        return lambda v: None if v is None else _finite(v)
    if name in ("Date", "DateTime", "Time"):
        return lambda v: None if v is None else v.isoformat()
    if name == "ID":
        return lambda v: None if v is None else str(v)
    if name in ("String", "Int", "Boolean", "JSON"):
        return None  # the attribute's value is already its JSON value
    raise NotCompilable(f"scalar {name} has no compiled serializer")


_INLINE = {
    "Float": "(_finite(v) if (v := o.{a}) is not None else None)",
    "Date": "(v.isoformat() if (v := o.{a}) is not None else None)",
    "DateTime": "(v.isoformat() if (v := o.{a}) is not None else None)",
    "ID": "(str(v) if (v := o.{a}) is not None else None)",
}


def generate_builder(plan: "SelectionPlan") -> Callable[[list[Any], dict[str, list[Any]]], list[dict[str, Any]]]:
    """Python source for "objects -> response dicts" of one selection, compiled once: a dict display per
    object instead of a generic loop over field plans (the hot loop of wide lists)."""
    namespace: dict[str, Any] = {"_finite": _finite}
    lines = ["def build(objects, nested):"]
    items = []
    for index, fp in enumerate(plan.fields):
        if fp.kind == "typename":
            items.append(f"{fp.key!r}: {fp.typename!r}")
        elif fp.kind == "scalar":
            scalar = getattr(fp, "scalar_name", "")
            if scalar in _INLINE:
                items.append(f"{fp.key!r}: " + _INLINE[scalar].format(a=fp.attr))
            elif fp.serialize is not None:
                namespace[f"_s{index}"] = fp.serialize
                items.append(f"{fp.key!r}: _s{index}(o.{fp.attr})")
            else:
                items.append(f"{fp.key!r}: o.{fp.attr}")
        else:
            lines.append(f"    n{index} = nested[{fp.key!r}]")
            items.append(f"{fp.key!r}: n{index}[i]")
    lines.append("    return [{" + ", ".join(items) + "} for i, o in enumerate(objects)]")
    exec(compile("\n".join(lines), f"<plan {plan.type_name}>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["build"]


__all__ = ["NotCompilable", "generate_builder", "serializer"]
