"""Filters never reveal a masked value (issue 12, item 2).

An argument that filters or orders on a PERSONAL field is accepted only from readers who see that field in
clear (the owner, or a grant naming it); any other reader gets FORBIDDEN naming the field before any SQL runs,
on the general and on the compiled path. The catalog (``hub.dataset_arguments``) records what every argument
of every dataset-reading field filters or orders on; the tests below keep it complete and true to the SQL.
"""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from hub import SQL_DIR
from hub.api import specs
from hub.api.context import Context
from hub.api.fastpath import Executor, coerce_variables
from hub.assembly import contributions
from hub.errors import Forbidden
from hub.governance.access import Access
from hub.governance.catalog import Catalog, Dataset, DatasetArgument, DatasetField, Grant
from hub.governance.consumers import Consumer, hash_token
from hub.governance.masking import mask_person_name
from hub.settings import Settings
from tests.support.helpers import approved_grant, sql, sql_value

SEARCH = "query($s: String) { jobSeekers(first: 5, search: $s) { nodes { id name idNumber } } }"
MASKED_READER = "education"  # granted labor.job_seekers with only `phone` in clear (name and idNumber masked)
CLEAR_READER = "science"     # granted labor.job_seekers with `name` in clear


def _grant(url: str, department: str, fields: list[str], dataset: str = "labor.job_seekers") -> int:
    return approved_grant(url, department, dataset, fields)


TEACHERS = "education.specialty_teachers"
TEACHERS_MASKED_READER = "commerce"  # granted education.specialty_teachers with no personal field in clear


@pytest.fixture(scope="module")
def grants(settings: Settings) -> Iterator[None]:
    """Module-long grants (revoked afterwards, so other modules see the demo's sharing table unchanged), and the same
    for education's teachers: commerce with their names masked, the clear reader with names in clear."""
    url = settings.database_url
    ids = [_grant(url, MASKED_READER, ["phone"]), _grant(url, CLEAR_READER, ["name"]),
           _grant(url, TEACHERS_MASKED_READER, [], TEACHERS), _grant(url, CLEAR_READER, ["name"], TEACHERS)]
    yield
    sql(url, "update hub.grants set revoked_at = now() where id = any($1::bigint[])", ids)


def _unique_name(settings: Settings, table: str, columns: str) -> dict:
    """The first row of ``table`` whose 3-character name no other row has (demo data)."""
    return dict(sql(settings.database_url, f"select {columns} from {table} s where length(name) = 3 and "
                                           f"(select count(*) from {table} t where t.name = s.name) = 1 "
                                           "order by id limit 1")[0])


@pytest.fixture(scope="module")
def person(settings: Settings) -> dict:
    """A job seeker whose full name is unique in the demo data."""
    return _unique_name(settings, "labor.job_seekers", "id, name, district_code")


def _seekers_statements(client) -> int:
    return client.app.state.db.stats.by_name.get("labor/seekers_page", 0)


def test_search_on_a_masked_name_is_forbidden_before_any_sql(grants, gql_as, client, person) -> None:
    reader = gql_as(MASKED_READER)
    answers = []
    for name in (person["name"], person["name"][0] + "X" + person["name"][2]):  # a true name and a wrong one
        before = _seekers_statements(client)
        data = reader(SEARCH, {"s": name})
        assert _seekers_statements(client) == before, "no SQL may run for a refused filter"
        assert data["data"] == {"jobSeekers": None}
        [error] = data["errors"]
        assert error["path"] == ["jobSeekers"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert (error["extensions"]["dataset"], error["extensions"]["field"], error["extensions"]["argument"]) \
            == ("labor.job_seekers", "name", "search")
        assert "labor.job_seekers.name" in error["message"] and "PERSONAL" in error["message"]
        answers.append(data)
    assert answers[0] == answers[1], "a true and a wrong name must be indistinguishable"


def test_the_masked_reader_still_filters_on_public_fields(grants, gql_as, person) -> None:
    data = gql_as(MASKED_READER)("query($d: String) { jobSeekers(first: 50, district: $d, search: null) { nodes { "
                                 "id name districtCode } } }", {"d": person["district_code"]})
    assert "errors" not in data, data
    nodes = data["data"]["jobSeekers"]["nodes"]
    assert nodes and all(n["districtCode"] == person["district_code"] and "*" in n["name"] for n in nodes)


@pytest.mark.parametrize("who", ["labor", CLEAR_READER])
def test_readers_who_see_the_name_in_clear_may_search(grants, gql_as, person, who: str) -> None:
    data = gql_as(who)(SEARCH, {"s": person["name"]})
    assert "errors" not in data, data
    assert [n["id"] for n in data["data"]["jobSeekers"]["nodes"]] == [person["id"]]
    [node] = data["data"]["jobSeekers"]["nodes"]
    assert node["name"] == person["name"]
    assert "*" in node["idNumber"] or who == "labor"  # the grant names `name` only


# --- education's specialty teachers (issue 16): the same rule for their names -----------------------------------

TEACHER_SEARCH = "query($s: String) { specialtyTeachers(first: 5, search: $s) { nodes { staffNo name } } }"


@pytest.fixture(scope="module")
def teacher(settings: Settings) -> dict:
    """A specialty teacher whose full name is unique in the demo data."""
    return _unique_name(settings, "education.specialty_teachers", "staff_no, name, school_code")


def test_teachers_names_are_masked_and_unusable_as_filters(grants, gql_as, client, teacher) -> None:
    reader = gql_as(TEACHERS_MASKED_READER)
    statements = client.app.state.db.stats.by_name
    before = statements.get("education/specialty_teachers_page", 0)
    answers = []
    for name in (teacher["name"], teacher["name"][0] + "X" + teacher["name"][2]):
        data = reader(TEACHER_SEARCH, {"s": name})
        assert data["data"] == {"specialtyTeachers": None}
        [error] = data["errors"]
        assert (error["extensions"]["code"], error["extensions"]["dataset"], error["extensions"]["field"],
                error["extensions"]["argument"]) == ("FORBIDDEN", TEACHERS, "name", "search")
        answers.append(data)
    assert answers[0] == answers[1] and statements.get("education/specialty_teachers_page", 0) == before
    # the same reader lists them (and filters on public fields) with every name masked, on roots and joins alike
    listed = reader("query($c: String!) { specialtyTeachers(first: 50, schoolCode: $c, dualQualified: true) { nodes { "
                    "name schoolCode dualQualified } } school(code: $c) { specialtyTeachers(first: 50) { nodes { "
                    "name } } } }", {"c": teacher["school_code"]})
    assert "errors" not in listed, listed
    nodes = listed["data"]["specialtyTeachers"]["nodes"] + listed["data"]["school"]["specialtyTeachers"]["nodes"]
    assert nodes and all(n["name"] == mask_person_name(n["name"]) and "*" in n["name"] for n in nodes)
    assert {n["schoolCode"] for n in listed["data"]["specialtyTeachers"]["nodes"]} == {teacher["school_code"]}


@pytest.mark.parametrize("who", ["education", CLEAR_READER])
def test_readers_who_see_teachers_names_in_clear_may_search(grants, gql_as, teacher, who: str) -> None:
    data = gql_as(who)(TEACHER_SEARCH, {"s": teacher["name"]})
    assert "errors" not in data, data
    assert data["data"]["specialtyTeachers"]["nodes"] == [{"staffNo": teacher["staff_no"], "name": teacher["name"]}]


def test_teachers_without_a_grant_are_forbidden(gql_as) -> None:
    data = gql_as("admin")("{ specialtyTeachers(first: 1) { nodes { name } } }")
    assert data["errors"][0]["extensions"]["code"] == "FORBIDDEN" and data["data"] == {"specialtyTeachers": None}


def test_the_refusal_is_audited_as_denied(grants, gql_as, settings: Settings, person) -> None:
    url = settings.database_url
    before = sql_value(url, "select coalesce(max(id), 0) from hub.audit_log")
    gql_as(MASKED_READER)("query Probe($s: String) { jobSeekers(search: $s) { nodes { id } } }", {"s": person["name"]})
    [entry] = sql(url, "select outcome, error_codes, denied, rows from hub.audit_log where id > $1 "
                       "and operation_name = 'Probe'", before)
    assert entry["outcome"] == "DENIED" and list(entry["error_codes"]) == ["FORBIDDEN"]
    assert list(entry["denied"]) == ["labor.job_seekers"]


def test_the_catalog_names_the_arguments_a_reader_may_not_use(grants, gql_as) -> None:
    query = "{ catalog(department: \"labor\") { name arguments { parentType field argument fields personalFields usable } } }"
    for who, usable in ((MASKED_READER, False), (CLEAR_READER, True), ("labor", True)):
        datasets = {d["name"]: d for d in gql_as(who)(query)["data"]["catalog"]}
        arguments = {(a["parentType"], a["field"], a["argument"]): a for a in datasets["labor.job_seekers"]["arguments"]}
        search = arguments[("Query", "jobSeekers", "search")]
        assert search["fields"] == ["name"] and search["personalFields"] == ["name"] and search["usable"] is usable
        district = arguments[("Occupation", "seekers", "district")]
        assert district["personalFields"] == [] and district["usable"] is True


def test_an_argument_missing_from_the_catalog_counts_as_touching_every_personal_field() -> None:
    """Fail closed: until the catalog classifies an argument, a reader who sees any personal field of the dataset
    masked may not use it; the owner, or a grant unmasking every personal field, still may."""
    seekers = Dataset("labor.job_seekers", "labor", "JobSeeker", "t", "CONDITIONAL", "DAILY", "", fields=(
        DatasetField("labor.job_seekers", "name", "PERSONAL", "PERSON_NAME", ""),
        DatasetField("labor.job_seekers", "phone", "PERSONAL", "PHONE", ""),
        DatasetField("labor.job_seekers", "districtCode", "PUBLIC", None, "")))
    where = ("Occupation", "seekers")
    catalog = Catalog({seekers.name: seekers}, {where: {"district": DatasetArgument(
        *where, "district", seekers.name, ("districtCode",), "")}})
    reader = Consumer(1, "commerce", "commerce system", "consumer")
    access = Access(reader, catalog, {seekers.name: Grant(frozenset({7}), seekers.name, frozenset({"name"}))})
    access.check(seekers, where, {"district": "440106", "first": None})  # classified, public: allowed
    with pytest.raises(Forbidden) as refused:
        access.check(seekers, where, {"nickname": "x"})
    assert refused.value.extensions == {"dataset": "labor.job_seekers", "field": "phone", "argument": "nickname"}
    assert "not in the catalog" in str(refused.value)
    assert access.denied == {"labor.job_seekers"}
    clear = Access(reader, catalog, {seekers.name: Grant(frozenset({7}), seekers.name, frozenset({"name", "phone"}))})
    clear.check(seekers, where, {"nickname": "x"})
    owner = Access(Consumer(2, "labor", "labor system", "consumer"), catalog, {})
    owner.check(seekers, where, {"nickname": "x"})


# --- the compiled path ---------------------------------------------------------------------------------

def _registered(client, path_end: str):
    endpoint = client.app.router.routes[0].endpoint
    assert endpoint.compiled is not None, "the test app answers registered documents with compiled plans"
    doc = next(d for d in endpoint.trusted if d.path.endswith(path_end))
    assert endpoint.compiled.planned(doc.hash).plans
    return doc, endpoint.compiled


def test_the_compiled_path_refuses_the_same_filter_before_any_sql(grants, client, tokens, person) -> None:
    doc, compiled = _registered(client, "examples/seeker_search.graphql")
    headers = {"Authorization": f"Bearer {tokens[MASKED_READER]}"}
    before, statements = compiled.answered, _seekers_statements(client)
    body = client.post("/graphql", json={"query": doc.text, "variables": {"search": person["name"]}},
                       headers=headers).json()
    assert compiled.answered == before, "the plan must not answer a refused filter"
    assert _seekers_statements(client) == statements, "no SQL may run for a refused filter"
    assert body["data"] == {"jobSeekers": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and error["extensions"]["field"] == "name"

    # The same plan answers the reader's public filters, and the owner's search.
    public = client.post("/graphql", json={"query": doc.text, "variables": {"district": person["district_code"]}},
                         headers=headers).json()
    assert compiled.answered == before + 1 and "errors" not in public
    assert all(n["name"] == mask_person_name(n["name"]) for n in public["data"]["jobSeekers"]["nodes"])
    owner = client.post("/graphql", json={"query": doc.text, "variables": {"search": person["name"]}},
                        headers={"Authorization": f"Bearer {tokens['labor']}"}).json()
    assert compiled.answered == before + 2
    assert [n["id"] for n in owner["data"]["jobSeekers"]["nodes"]] == [person["id"]]


def test_the_compiled_path_refuses_a_search_on_masked_teachers_names(grants, client, tokens, teacher) -> None:
    doc, compiled = _registered(client, "examples/teacher_search.graphql")
    statements = client.app.state.db.stats.by_name
    before, sql_before = compiled.answered, statements.get("education/specialty_teachers_page", 0)
    refused = client.post("/graphql", json={"query": doc.text, "variables": {"search": teacher["name"]}},
                          headers={"Authorization": f"Bearer {tokens[TEACHERS_MASKED_READER]}"}).json()
    assert refused["data"] == {"specialtyTeachers": None} and refused["errors"][0]["extensions"]["field"] == "name"
    assert compiled.answered == before and statements.get("education/specialty_teachers_page", 0) == sql_before
    listed = client.post("/graphql", json={"query": doc.text, "variables": {"schoolCode": teacher["school_code"]}},
                         headers={"Authorization": f"Bearer {tokens[TEACHERS_MASKED_READER]}"}).json()
    assert compiled.answered == before + 1 and "errors" not in listed
    assert all("*" in n["name"] for n in listed["data"]["specialtyTeachers"]["nodes"])


def test_the_compiled_executor_checks_arguments_itself(grants, client, tokens, person) -> None:
    """The plan's own check (not only the general path's after a fallback) refuses, before any SQL."""
    doc, compiled = _registered(client, "examples/seeker_search.graphql")
    operation = compiled.planned(doc.hash).plans["SeekerSearch"]
    state = client.app.state

    async def run() -> Forbidden:
        consumer = await state.consumers.lookup(state.db, hash_token(tokens[MASKED_READER]))
        access = Access(consumer, await state.policy.catalog(), await state.policy.grants(consumer.department))
        variables = coerce_variables(state.schema._schema, operation, {"search": person["name"]})
        try:
            await Executor(Context(state.settings, state.db, access), operation, state.schema, variables).run()
        except Forbidden as exc:
            return exc
        raise AssertionError("the compiled executor ran a filter on a masked field")

    before = _seekers_statements(client)
    refused = client.portal.call(run)  # on the app's event loop, where its pools live
    assert refused.extensions["field"] == "name" and refused.extensions["argument"] == "search"
    assert _seekers_statements(client) == before


# --- the catalog of arguments is complete and true to the SQL ------------------------------------------

def _catalog_arguments(settings: Settings) -> dict[tuple[str, str, str], tuple[str, tuple[str, ...]]]:
    return {(r["parent_type"], r["field"], r["argument"]): (r["dataset"], tuple(r["fields"]))
            for r in sql(settings.database_url, "select * from hub.dataset_arguments")}


def test_every_argument_of_every_guarded_field_is_classified(client, settings: Settings) -> None:
    """A new argument on a field that reads a dataset (root or join) fails here until the catalog says which
    dataset fields it filters or orders on ('{}' for none)."""
    schema = client.app.state.schema
    guarded = schema.guarded_fields
    assert ("Query", "jobSeekers") in guarded and ("Occupation", "seekers") in guarded
    expected = {(parent, name, arg): dataset for (parent, name), dataset in guarded.items()
                for arg in schema._schema.type_map[parent].fields[name].args}
    recorded = _catalog_arguments(settings)
    missing = sorted(set(expected) - set(recorded))
    assert not missing, f"arguments not classified in hub.dataset_arguments: {missing}"
    stale = sorted(set(recorded) - set(expected))
    assert not stale, f"hub.dataset_arguments rows for arguments that do not exist: {stale}"
    assert {k: d for k, (d, _) in recorded.items()} == expected
    fields = {(r["dataset"], r["field"]): r["sensitivity"]
              for r in sql(settings.database_url, "select dataset, field, sensitivity from hub.dataset_fields")}
    unknown = [(k, f) for k, (d, touched) in recorded.items() for f in touched if (d, f) not in fields]
    assert not unknown
    personal = {k: [f for f in touched if fields[(d, f)] == "PERSONAL"] for k, (d, touched) in recorded.items()}
    assert {k: v for k, v in personal.items() if v} == {("Query", "jobSeekers", "search"): ["name"],
                                                        ("Query", "specialtyTeachers", "search"): ["name"]}


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(p.title() for p in rest)


def _columns_of(query: str, parameter: int) -> set[str]:
    """The columns a statement compares with ``$parameter`` (filters and keyset positions)."""
    text = (SQL_DIR / "queries" / f"{query}.sql").read_text(encoding="utf-8")
    text = "\n".join(line.split("--")[0] for line in text.splitlines())
    found = re.findall(rf"(?:\w+\.)?(\w+)\s*(?:=|<>|>=|<=|>|<|like|ilike)\s*(?:any\s*\(\s*)?\${parameter}\b", text,
                       flags=re.IGNORECASE)
    return set(found)


def test_the_catalog_matches_what_the_sql_filters_on(client, settings: Settings) -> None:
    """For every root page, join page and lookup, the columns its SQL compares each argument with are the
    fields the catalog records for it (the keyset ``id`` counts when the dataset exposes it)."""
    contributions()  # every package's specs registered
    recorded = _catalog_arguments(settings)
    exposed = {(r["dataset"], r["field"]) for r in sql(settings.database_url,
                                                         "select dataset, field from hub.dataset_fields")}
    checked = []

    def compare(where: tuple[str, str], argument: str, columns: set[str]) -> None:
        dataset, touched = recorded[(*where, argument)]
        derived = {_camel(c) for c in columns}
        if argument == "after":  # the keyset position: a dataset field only where `id` is exposed
            derived = {f for f in derived if (dataset, f) in exposed}
        assert derived == set(touched), (where, argument, derived, touched)
        checked.append((*where, argument))

    for field_name, root in specs.ROOTS.items():
        if isinstance(root, specs.RootPage):
            compare(("Query", field_name), "after", _columns_of(root.query, 1))
            compare(("Query", field_name), "first", _columns_of(root.query, 2))
            for i, (python_name, _) in enumerate(root.params):
                compare(("Query", field_name), _camel(python_name), _columns_of(root.query, i + 3))
        elif isinstance(root, specs.RootByKey):
            compare(("Query", field_name), root.argument, {root.loader.key_column})
    for where, join in specs.JOINS.items():
        if isinstance(join, specs.Page):
            compare(where, "after", _columns_of(join.loader.query, 2))
            compare(where, "first", _columns_of(join.loader.query, 3))
            for i, python_name in enumerate(join.filters):
                compare(where, _camel(python_name), _columns_of(join.loader.query, i + 4))
    assert ("Query", "jobSeekers", "search") in checked and ("Occupation", "seekers", "district") in checked
    assert len(checked) > 0.9 * len(recorded), "the SQL check should cover nearly every recorded argument"
