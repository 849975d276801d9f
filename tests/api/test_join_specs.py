"""Each join is defined once, as its batch spec (``hub.api.specs``): the general path's resolver of every join (and
root) field is a one-line call of the spec registered for it, a list of parents costs the same statements as one
(the spec's batch runs once per nesting level on both paths), and the two paths answer alike — the custom
joins (``Industry.majors``, ``Major.industries``, ``Major.occupations``) included."""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from hub.api import specs
from hub.api.schema import build_schema
from hub.app import create_app
from hub.assembly import contributions

CUSTOM = [("Industry", "majors"), ("Major", "industries"), ("Major", "occupations")]
# Industries of a level with the majors mapped to them, and the majors' own mappings back to industries and to
# occupations: all three custom joins, one nesting level each.
INDUSTRIES = """query Industries($first: Int, $level: Int) { industries(first: $first, level: $level) { nodes {
    code level children { code }
    majors { code name schoolCode industries { code level } occupations { code name } } } } }"""


@pytest.fixture(scope="module")
def apps(settings):
    with TestClient(create_app(replace(settings, compiled_queries=True, max_cost=10**8))) as planned, \
            TestClient(create_app(replace(settings, compiled_queries=False, max_cost=10**8))) as general:
        yield planned, general


def _called_by(resolver, key: tuple[str, str]) -> tuple[str, object] | str:
    """What a resolver's body calls, when it is one ``return await <call>`` after imports: ("join_value", the spec
    it looks up), (method name, the object whose method it calls) or ("function", the function); else why not."""
    function = resolver.wrapped_func
    [definition] = ast.parse(textwrap.dedent(inspect.getsource(function))).body
    body = [s for s in definition.body if not isinstance(s, ast.ImportFrom)
            and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or not isinstance(body[0].value, ast.Await) \
            or not isinstance(body[0].value.value, ast.Call):
        return "its body is not one `return await <call>`"
    call = body[0].value.value
    arguments = [ast.unparse(a) for a in call.args]
    imported = {alias.asname or alias.name: (s.module, alias.name) for s in definition.body
                if isinstance(s, ast.ImportFrom) for alias in s.names}

    def named(name: str) -> object:
        if name in imported:
            module, attribute = imported[name]
            return getattr(sys.modules[module], attribute)
        return function.__globals__[name]

    if arguments[:1] != ["info.context"] and arguments != ["info", "self"]:
        return f"{ast.unparse(call)}: not called with the request's context"
    if isinstance(call.func, ast.Name) and call.func.id == "join_value":
        if arguments != ["info", "self"] or named("join_value") is not specs.join_value:
            return ast.unparse(call)
        return "join_value", specs.JOINS.get(key)  # join_value looks the spec up by the parent type and field name
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        return call.func.attr, named(call.func.value.id)
    if isinstance(call.func, ast.Name):
        return "function", named(call.func.id)
    return f"it calls {ast.unparse(call.func)}"


def _calls(called: tuple[str, object] | str, how: tuple[str, ...], target: object) -> bool:
    return isinstance(called, tuple) and called[0] in how and target is not None and called[1] is target


def _resolver(schema, type_name: str, field_name: str):
    definition = schema.get_type_by_name(type_name)
    assert definition is not None, type_name
    names = schema.config.name_converter
    [strawberry_field] = [f for f in definition.fields if names.from_field(f) == field_name]
    assert strawberry_field.base_resolver is not None, f"{type_name}.{field_name} has a spec but no resolver"
    return strawberry_field.base_resolver


def test_every_join_and_root_resolver_is_a_one_line_call_of_its_spec() -> None:
    """A resolver that restates a join or a root field (its own loaders, its own rule) could disagree with the
    compiled path, which answers the field through its spec."""
    contributions()
    schema = build_schema()
    wrong = {}
    for (type_name, field_name), join in specs.JOINS.items():
        called = _called_by(_resolver(schema, type_name, field_name), (type_name, field_name))
        if not _calls(called, ("join_value", "one"), join):
            wrong[f"{type_name}.{field_name}"] = called
    for field_name, root in specs.ROOTS.items():
        called = _called_by(_resolver(schema, "Query", field_name), ("Query", field_name))
        if not (_calls(called, ("fetch",), root) or _calls(called, ("function",), getattr(root, "resolve", None))):
            wrong[f"Query.{field_name}"] = called
    assert not wrong, wrong
    assert set(CUSTOM) <= set(specs.JOINS)


@pytest.mark.parametrize("who", ["education", "commerce", "labor", "science"])
@pytest.mark.parametrize("level", [1, 2, 4])
def test_the_custom_joins_answer_alike_on_both_paths(apps, tokens, who: str, level: int) -> None:
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    headers = {"Authorization": f"Bearer {tokens[who]}"}
    body = {"query": INDUSTRIES, "variables": {"first": 30, "level": level}}
    before = compiled.answered
    a = planned.post("/graphql", json=body, headers=headers)
    b = general.post("/graphql", json=body, headers=headers)
    assert a.status_code == b.status_code == 200
    assert "errors" not in b.json(), b.json()
    assert compiled.answered == before + 1, "the compiled plan should have answered"
    strip = lambda r: r.content.split(b',"extensions":{"traceId":')[0]  # noqa: E731 - trace ids differ
    assert strip(a) == strip(b)
    nodes = b.json()["data"]["industries"]["nodes"]
    majors = [m for n in nodes for m in n["majors"]]
    assert majors and all(m["industries"] for m in majors)  # the data exercises every custom join
    assert any(m["occupations"] for m in majors)


def test_a_section_has_the_majors_of_its_divisions(apps, tokens) -> None:
    """The branch rule of ``Industry.majors`` (a section letter is not a prefix of its divisions' codes), as
    both paths answer it."""
    headers = {"Authorization": f"Bearer {tokens['education']}"}
    for app in apps:
        def level(n: int) -> list[dict]:
            body = {"query": INDUSTRIES, "variables": {"first": 100, "level": n}}
            return app.post("/graphql", headers=headers, json=body).json()["data"]["industries"]["nodes"]

        sections, divisions = level(1), {d["code"]: d for d in level(2)}
        covered = 0
        for section in sections:
            expected = {(m["code"], m["schoolCode"]) for c in section["children"]
                        for m in divisions[c["code"]]["majors"]}
            assert {(m["code"], m["schoolCode"]) for m in section["majors"]} == expected, section["code"]
            assert len(section["majors"]) == len(expected)  # each major once
            covered += bool(expected)
        assert covered >= 2


def test_a_level_of_custom_joins_costs_the_same_statements_for_many_parents(apps, tokens) -> None:
    """No N+1 on the general path: one statement per loader and level, whether 3 industries or all of a level
    (``industries_by_parent`` twice at the sections: ``children``, and ``majors`` through the divisions)."""
    _, general = apps
    stats = general.app.state.db.stats
    headers = {"Authorization": f"Bearer {tokens['education']}"}

    def ran(first: int, level: int) -> tuple[dict[str, int], int, int]:
        before = dict(stats.by_name)
        response = general.post("/graphql", headers=headers,
                                json={"query": INDUSTRIES, "variables": {"first": first, "level": level}})
        assert "errors" not in response.json()
        nodes = response.json()["data"]["industries"]["nodes"]
        return ({k: v - before.get(k, 0) for k, v in stats.by_name.items()
                 if v != before.get(k, 0) and not k.startswith("hub/")},
                len(nodes), sum(len(n["majors"]) for n in nodes))

    for level in (1, 2, 4):
        few, few_industries, few_majors = ran(3, level)
        many, many_industries, many_majors = ran(100, level)
        assert many_industries > few_industries == 3 and many_majors > few_majors > 0
        assert few == many, level
        twice = {"commerce/industries_by_parent"} if level == 1 else set()
        assert {k for k, n in many.items() if n != 1} == twice, many
        assert set(many) >= {"commerce/industries_page", "education/majors_by_industry",
                             "education/industry_codes_by_major", "commerce/industries_by_code",
                             "education/occupation_codes_by_major", "labor/occupations_by_code"}
