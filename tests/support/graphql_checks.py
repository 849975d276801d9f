"""Checks of a GraphQL response against its document and the schema, shared by the in-suite fuzz tests
(tests/http/test_fuzz.py) and ``make fuzz`` (tests/fuzz/hooks.py):

* ``error_problems``: every error carries a known ``extensions.code``; INTERNAL_SERVER_ERROR (an
  unexpected exception, masked) is a finding too;
* ``null_problems``: no ``null`` where the schema says non-null, and every selected field is present.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
    is_composite_type,
)

from hub.api.errors import KNOWN_CODES


def error_problems(body: Any) -> list[str]:
    """Errors without a known code, and unexpected (INTERNAL_SERVER_ERROR) ones."""
    problems = []
    for error in (body.get("errors") or []) if isinstance(body, dict) else []:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if code not in KNOWN_CODES:
            problems.append(f"error without a known code: {error}")
        elif code == "INTERNAL_SERVER_ERROR":
            problems.append(f"unexpected error: {error}")
    return problems


def null_problems(schema: GraphQLSchema, document: DocumentNode, data: Any,
                  operation_name: str | None = None) -> list[str]:
    """Paths where ``data`` holds null for a non-null field, or lacks a selected field."""
    if data is None:
        return []
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)),
                     None)
    if operation is None:
        return []
    root = schema.get_root_type(operation.operation)
    problems: list[str] = []
    _walk(schema, fragments, root, operation.selection_set, data, [], problems)
    return problems


def _walk(schema: GraphQLSchema, fragments: dict, parent: Any, selection_set: SelectionSetNode, value: Any,
          path: list, problems: list[str], strict: bool = True) -> None:
    """Check ``value`` (an object) against ``selection_set`` of type ``parent``. ``strict``: every selected field
    must be present (False when the runtime type is unknown, so that only the fields present are checked)."""
    if not isinstance(value, dict):
        problems.append(f"{_path(path)}: expected an object, got {type(value).__name__}")
        return
    runtime = parent if isinstance(parent, GraphQLObjectType) else None
    if runtime is None and isinstance(value.get("__typename"), str):
        runtime = schema.get_type(value["__typename"])
    fields = getattr(runtime or parent, "fields", None) or {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            if key not in value:
                if strict and runtime is not None and not selection.directives:
                    problems.append(f"{_path(path + [key])}: selected field missing")
                continue
            if selection.name.value == "__typename":
                field_type: Any = GraphQLNonNull(schema.get_type("String"))
            elif selection.name.value in fields:
                field_type = fields[selection.name.value].type
            else:
                continue  # introspection fields
            _value(schema, fragments, field_type, selection.selection_set, value[key], path + [key], problems)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner, condition = selection.selection_set, selection.type_condition
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            definition = fragments[selection.name.value]
            inner, condition = definition.selection_set, definition.type_condition
        else:
            continue
        target = schema.get_type(condition.name.value) if condition is not None else (runtime or parent)
        if runtime is None:  # unknown runtime type: check what is there
            _walk(schema, fragments, target, inner, value, path, problems, strict=False)
        elif target is runtime or (is_abstract_type(target) and schema.is_sub_type(target, runtime)):
            _walk(schema, fragments, runtime, inner, value, path, problems, strict=strict)


def _value(schema: GraphQLSchema, fragments: dict, type_: Any, selection_set: SelectionSetNode | None, value: Any,
           path: list, problems: list[str]) -> None:
    if isinstance(type_, GraphQLNonNull):
        if value is None:
            problems.append(f"{_path(path)}: null in a non-null field ({type_})")
            return
        type_ = type_.of_type
    if value is None:
        return
    if isinstance(type_, GraphQLList):
        if not isinstance(value, list):
            problems.append(f"{_path(path)}: expected a list")
            return
        for i, item in enumerate(value):
            _value(schema, fragments, type_.of_type, selection_set, item, path + [i], problems)
        return
    if is_composite_type(type_) and selection_set is not None:
        _walk(schema, fragments, type_, selection_set, value, path, problems)


def _path(path: list) -> str:
    return ".".join(str(p) for p in path) or "<root>"
