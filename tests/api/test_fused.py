"""Fewer round trips (hub.api.fused): a key lookup and its same-department key joins are one generated statement,
answered byte for byte like the general path, with the same audit entry; a join the consumer may not read
is not fused; ``hub plan --explain`` prints the generated statement."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from starlette.testclient import TestClient
from stdnum.cn import uscc
from typer.testing import CliRunner

from hub.api.trusted import OPERATIONS_DIR
from hub.app import create_app
from hub.cli.main import app
from hub.db.pools import SqlRegistry
from hub.governance.access import Access
from hub.governance.catalog import Catalog, Dataset
from hub.governance.consumers import Consumer
from tests.support.helpers import sql, sql_value

LOOKUP = (OPERATIONS_DIR / "bench" / "enterprise_by_uscc.graphql").read_text(encoding="utf-8") + "\n# ad hoc\n"
FUSED = "fused/commerce/enterprises_by_uscc+industry_code:commerce/industries_by_code"


@pytest.fixture(scope="module")
def apps(settings, tokens):
    with TestClient(create_app(replace(settings, compiled_queries=True))) as planned, \
            TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        yield planned, general


def _ran(client, request) -> tuple[object, dict[str, int]]:
    stats = client.app.state.db.stats
    before = dict(stats.by_name)
    response = request()
    return response, {k: v - before.get(k, 0) for k, v in stats.by_name.items()
                      if v != before.get(k, 0) and not k.startswith("hub/")}


@pytest.mark.parametrize("who", ["labor", "commerce", "education"])
def test_the_single_lookup_is_one_statement(apps, tokens, settings, who: str) -> None:
    planned, general = apps
    uscc = sql_value(settings.database_url, "select uscc from commerce.enterprises order by id limit 1")
    body = {"query": LOOKUP, "variables": {"uscc": uscc}}
    headers = {"Authorization": f"Bearer {tokens[who]}"}
    a, ran = _ran(planned, lambda: planned.post("/graphql", json=body, headers=headers))
    assert ran == {FUSED: 1}
    entry_a = dict(sql(settings.database_url, "select datasets, rows, grants, masked_fields from hub.audit_log "
                                              "order by id desc limit 1")[0])
    b, ran_general = _ran(general, lambda: general.post("/graphql", json=body, headers=headers))
    assert ran_general == {"commerce/enterprises_by_uscc": 1, "commerce/industries_by_code": 1}
    entry_b = dict(sql(settings.database_url, "select datasets, rows, grants, masked_fields from hub.audit_log "
                                              "order by id desc limit 1")[0])
    assert a.json()["data"]["enterprise"]["industry"]["code"]
    assert a.json()["data"] == b.json()["data"] and entry_a == entry_b
    assert set(entry_a["datasets"]) == {"commerce.enterprises", "commerce.industries"}


def test_an_unknown_key_reads_nothing_more(apps, tokens, settings) -> None:
    """No enterprise: the fused statement returns no row, and the industry is not recorded as read (the
    general path never resolves it)."""
    planned, general = apps
    headers = {"Authorization": f"Bearer {tokens['labor']}"}

    unknown = "91440101MA59Q1234" + uscc.calc_check_digit("91440101MA59Q1234")
    assert not sql(settings.database_url, "select 1 from commerce.enterprises where uscc = $1", unknown)
    body = {"query": LOOKUP, "variables": {"uscc": unknown}}
    answers, entries = [], []
    for client in (planned, general):
        answers.append(client.post("/graphql", json=body, headers=headers).content.split(b',"extensions"')[0])
        entries.append(list(sql(settings.database_url, "select datasets from hub.audit_log order by id desc limit 1")
                            [0]["datasets"]))
    assert answers[0] == answers[1] == b'{"data":{"enterprise":null}'
    assert entries[0] == entries[1] == ["commerce.enterprises"]


def test_columns_of_the_same_name_in_parent_and_join(apps, tokens, settings) -> None:
    """A posting and its occupation (both labor) both have an ``id``: the rows are split by position."""
    planned, general = apps
    posting = sql_value(settings.database_url, "select min(id) from labor.job_postings")
    text = "query($id: Int!) { jobPosting(id: $id) { id title occupation { code name } } }"
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    body = {"query": text, "variables": {"id": posting}}
    a, ran = _ran(planned, lambda: planned.post("/graphql", json=body, headers=headers))
    assert list(ran) == ["fused/labor/postings_by_id+occupation_code:labor/occupations_by_code"]
    b = general.post("/graphql", json=body, headers=headers)
    assert a.json()["data"]["jobPosting"]["id"] == posting and a.json()["data"]["jobPosting"]["occupation"]["code"]
    assert a.content.split(b',"extensions"')[0] == b.content.split(b',"extensions"')[0]


PAGE = """query($first: Int, $after: String, $district: String) {
  jobPostings(first: $first, after: $after, district: $district) {
    nodes { id title occupation { code name } }
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
PAGE_FUSED = "fused/labor/postings_page+occupation_code:labor/occupations_by_code"


@pytest.mark.parametrize("who", ["labor", "commerce", "education", "admin"])
def test_a_page_and_its_nodes_joins_are_one_statement(apps, tokens, settings, who: str) -> None:
    """A root page whose nodes have same-department key joins (postings and their occupations, both labor) is
    one statement, ordered as the page, answered and audited byte for byte like the general path: pages after a
    cursor, the last page, a filter, an empty page."""
    planned, general = apps
    district = sql_value(settings.database_url, "select district_code from labor.job_postings group by 1 "
                                                "order by count(*) desc limit 1")
    headers = {"Authorization": f"Bearer {tokens[who]}"}
    after = None
    for variables in ({"first": 7}, {"first": 5, "district": district}, {"first": 3, "district": "110101"}):
        for _ in range(2):
            body = {"query": PAGE, "variables": {**variables, "after": after}}
            a, ran = _ran(planned, lambda: planned.post("/graphql", json=body, headers=headers))
            entry_a = sql(settings.database_url, "select datasets, rows, masked_fields, outcome from hub.audit_log "
                                                 "order by id desc limit 1")[0]
            b = general.post("/graphql", json=body, headers=headers)
            entry_b = sql(settings.database_url, "select datasets, rows, masked_fields, outcome from hub.audit_log "
                                                 "order by id desc limit 1")[0]
            assert a.content.split(b',"extensions"')[0] == b.content.split(b',"extensions"')[0]
            assert dict(entry_a) == dict(entry_b)
            page = a.json()["data"]["jobPostings"]
            assert ran == ({PAGE_FUSED: 1} if page is not None else {}), ran
            after = page["pageInfo"]["endCursor"] if page else None
            ids = [n["id"] for n in page["nodes"]] if page else []
            assert ids == sorted(ids)
        after = None


def _dataset(name: str, department: str, sharing: str) -> Dataset:
    return Dataset(name, department, name.split(".")[1], name, sharing, "DAILY", "")


def test_a_join_the_consumer_may_not_read_is_not_fused(apps) -> None:
    planned, _ = apps
    compiled = planned.app.router.routes[0].endpoint.compiled

    plans = compiled.cache.get(hashlib.sha256(LOOKUP.encode()).hexdigest(), LOOKUP).plans
    fused = plans["BenchEnterpriseByUscc"].root.nested[0].fused
    assert fused is not None and SqlRegistry.label(fused.name) == FUSED
    catalog = Catalog({"commerce.enterprises": _dataset("commerce.enterprises", "commerce", "UNCONDITIONAL"),
                       "commerce.industries": _dataset("commerce.industries", "commerce", "NOT_SHARED")})
    reader = Access(Consumer(1, "labor", "labor system", "consumer"), catalog, {})
    owner = Access(Consumer(2, "commerce", "commerce system", "consumer"), catalog, {})
    assert not fused.allowed(reader) and fused.allowed(owner)
    assert reader.datasets_read == set() and reader.denied == set()  # asking records nothing


def test_hub_plan_explain_prints_every_generated_statement(tmp_path) -> None:
    path = tmp_path / "lookup.graphql"
    path.write_text(LOOKUP, encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    assert FUSED in result.output and "left join lateral" in result.output
    assert "Enterprise.industry" in result.output and "answered by its parent's statement" in result.output
    brief = CliRunner().invoke(app, ["plan", str(path)])
    assert brief.exit_code == 0 and "left join lateral" not in brief.output


class _Row:
    """A row as asyncpg returns it: by position and ``values()`` (names repeat across the fused parts)."""

    def __init__(self, names: list[str], values: list[object]):
        self._names, self._values = names, values

    def __getitem__(self, i: int) -> object:
        return self._values[i]

    def keys(self) -> list[str]:
        return self._names

    def values(self) -> list[object]:
        return self._values


@pytest.mark.parametrize("plain", [True, False], ids=["positional", "by-name"])
def test_split_rows_build_what_the_loaders_build(plain: bool) -> None:
    """The generated splitter (``Fused._build_splitter``) builds the same objects as each loader's converter from
    its part of the row — by position for plain types, through the converter for the others — and a fused join
    that found nothing (its key null) is None; columns named alike in two parts are taken from their own part."""
    from dataclasses import dataclass as plain_dataclass

    from hub.api.fused import Fused, FusedChild
    from hub.api.loaders import row_converter

    @plain_dataclass
    class Parent:
        code: str
        name: str

    @plain_dataclass
    class Child:
        code: str
        name: str

        def __post_init__(self) -> None:  # not a plain type: built by its converter
            self.name = self.name.upper()

    kinds = (Parent, Child) if plain else (Child, Child)
    loaders = [type(f"L{i}", (), {"key_column": "code", "convert": staticmethod(row_converter(k))})
               for i, k in enumerate(kinds)]
    fused = object.__new__(Fused)
    fused.parent, fused.name, fused._splitter, fused.columns = loaders[0], "fused/test", None, []
    fused.children = [FusedChild("child", "child_code", loaders[1], None)]
    names = ["code", "name", "__fused_0", "code", "name"]
    rows = [_Row(names, ["A", "alpha", None, "X", "ex"]), _Row(names, ["B", "beta", None, None, None])]
    found, (children,) = fused._split(rows)
    assert found == {"A": loaders[0].convert({"code": "A", "name": "alpha"}),
                     "B": loaders[0].convert({"code": "B", "name": "beta"})}
    assert children == {"A": loaders[1].convert({"code": "X", "name": "ex"}), "B": None}
    assert type(found["A"]) is kinds[0] and (found["A"].name == "alpha") is plain


def test_split_rows_give_a_scalar_join_its_value_or_its_default() -> None:
    """A fused ScalarByKeyLoader (a count per code): its value column, or the loader's default when the parent
    has no row (as ``ScalarByKeyLoader.load_batch`` answers)."""
    from hub.api.fused import Fused, FusedChild
    from hub.api.loaders import ScalarByKeyLoader

    parent = type("P", (), {"key_column": "code", "convert": staticmethod(lambda row: dict(row))})
    counts = type("Counts", (ScalarByKeyLoader,), {"dept": "labor", "query": "q", "key_column": "occupation_code",
                                                   "value_column": "n", "default": 0})
    fused = object.__new__(Fused)
    fused.parent, fused.name, fused._splitter, fused.columns = parent, "fused/test-scalar", None, []
    fused.children = [FusedChild("postingCount", "code", counts, None)]
    names = ["code", "__fused_0", "occupation_code", "n"]
    found, (children,) = fused._split([_Row(names, ["A", None, "A", 7]), _Row(names, ["B", None, None, None])])
    assert found == {"A": {"code": "A"}, "B": {"code": "B"}} and children == {"A": 7, "B": 0}


def test_rows_are_converted_by_position_as_by_name(settings) -> None:
    """``convert_rows`` builds from records by their column positions (generated once per column order) the same
    objects as the by-name converter; dicts go by name, a record lacking a field fails as by name, and a record
    naming a column twice (a record by name reads the last) is read by name."""
    import asyncio
    from dataclasses import dataclass as plain_dataclass

    import asyncpg

    from hub.api.loaders import convert_rows, row_converter

    @plain_dataclass
    class Thing:
        code: str
        name: str
        size: int

    convert = row_converter(Thing)

    async def fetch() -> list[list]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return [await conn.fetch(f"select {columns} from (values ('A', 'alpha', 1), ('B', 'beta', 2)) "
                                     "v(code, name, size)") for columns in ("code, name, size", "size, name, code",
                                                                           "name, code",
                                                                           "code, name, size, 'Z' as code")]
        finally:
            await conn.close()

    in_order, reordered, lacking, twice = asyncio.run(fetch())
    expected = [Thing("A", "alpha", 1), Thing("B", "beta", 2)]
    assert convert_rows(convert, in_order) == expected and convert_rows(convert, reordered) == expected
    assert convert_rows(convert, reordered) == expected  # the builder generated for this column order, again
    assert convert_rows(convert, [dict(r) for r in reordered]) == expected
    with pytest.raises(KeyError):
        convert_rows(convert, lacking)
    assert convert_rows(convert, twice) == [convert(r) for r in twice] == [Thing("Z", "alpha", 1),
                                                                           Thing("Z", "beta", 2)]


def test_a_fused_statement_reads_only_the_columns_its_plan_reads(apps, tokens) -> None:
    """The parent's and each join's columns are the selected fields, the join keys and the key column
    (``selected_columns``); a join whose objects have a custom join (Industry.majors, read from any attribute)
    reads every column. Each selection is its own statement, under one label."""
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    fused = compiled.cache.get(hashlib.sha256(LOOKUP.encode()).hexdigest(), LOOKUP).plans[
        "BenchEnterpriseByUscc"].root.nested[0].fused
    assert fused.columns == [("uscc", "name", "industry_code", "district_code", "size", "founded_on"),
                             ("code", "name")]
    assert "p.*" not in fused.sql and "c0.*" not in fused.sql and 'p."integration"' not in fused.sql
    wider = LOOKUP.replace("industry { code name }", "industry { code name majors { code } }")
    other = compiled.cache.get(hashlib.sha256(wider.encode()).hexdigest(), wider).plans[
        "BenchEnterpriseByUscc"].root.nested[0].fused
    assert other.columns[1] is None and "c0.*" in other.sql
    assert other.name != fused.name and SqlRegistry.label(other.name) == SqlRegistry.label(fused.name) == FUSED
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    for text in (LOOKUP, wider):  # both answered by their plan, as the general path answers
        before = compiled.answered
        a = planned.post("/graphql", json={"query": text}, headers=headers)
        b = general.post("/graphql", json={"query": text}, headers=headers)
        assert compiled.answered == before + 1 and a.json()["data"] == b.json()["data"] and a.json()["data"]["enterprise"]


def test_a_field_without_joins_to_fuse_is_narrowed_alone(apps, tokens, settings) -> None:
    """A root page whose nodes have no same-department join (500 postings flat) is still one statement of its SQL
    file, counted under its name, reading only the selected columns and the key; the answer is the general path's."""
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    text = (OPERATIONS_DIR / "bench" / "postings_flat.graphql").read_text(encoding="utf-8") + "\n# ad hoc\n"
    fused = compiled.cache.get(hashlib.sha256(text.encode()).hexdigest(), text).plans[
        "BenchPostingsFlat"].root.nested[0].fused
    assert fused.children == [] and SqlRegistry.label(fused.name) == "labor/postings_page"
    assert "id" in fused.columns[0] and "closes_on" not in fused.columns[0] and "p.*" not in fused.sql
    headers = {"Authorization": f"Bearer {tokens['commerce']}"}
    body = {"query": text, "variables": {"first": 20}}
    before = compiled.answered
    (a, statements), b = _ran(planned, lambda: planned.post("/graphql", json=body, headers=headers)), \
        general.post("/graphql", json=body, headers=headers)
    assert compiled.answered == before + 1 and statements == {"labor/postings_page": 1}
    assert a.json()["data"] == b.json()["data"] and len(a.json()["data"]["jobPostings"]["nodes"]) == 20


def test_a_page_per_parent_reads_only_the_columns_its_nodes_read(apps, tokens) -> None:
    """Occupation.postings(first:) runs its SQL file narrowed to the selected columns, the key and the parent key
    (``narrowed_page``), counted under the file's name; selecting ``edges`` too (its nodes read by another
    selection) reads every column. Both are answered by their plan, as the general path answers."""
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    text = (OPERATIONS_DIR / "bench" / "occupations_postings.graphql").read_text(encoding="utf-8") + "\n# ad hoc\n"
    with_edges = text.replace("nodes {\n          id", "edges { node { headcount } }\n        nodes {\n          id")
    assert with_edges != text
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    body = {"variables": {"first": 3, "postings": 4}}
    for document, narrowed in ((text, True), (with_edges, False)):
        plan = compiled.cache.get(hashlib.sha256(document.encode()).hexdigest(), document).plans[
            "BenchOccupationsPostings"]
        postings = next(fp for fp in plan.root.nested[0].child.nested[0].child.nested if fp.where[1] == "postings")
        assert (postings.narrowed is not None) is narrowed
        if narrowed:
            loader, _ = postings.narrowed
            assert SqlRegistry.label(loader.query) == "labor/postings_by_occupation"
            assert 'p."headcount"' not in SqlRegistry.generated[loader.query]
        before = compiled.answered
        (a, statements), b = _ran(planned, lambda: planned.post("/graphql", json={"query": document, **body},
                                                                headers=headers)), \
            general.post("/graphql", json={"query": document, **body}, headers=headers)
        assert compiled.answered == before + 1 and statements["labor/postings_by_occupation"] == 1
        assert a.json()["data"] == b.json()["data"] and a.json()["data"]["occupations"]["nodes"]


def test_generated_statements_are_bounded_and_come_back_when_used(apps, tokens, monkeypatch) -> None:
    """Every selection of an ad hoc document may generate its own statement (the columns it reads): the registry keeps
    the most recent ``MAX`` (memory bounded like the plan cache), and a plan whose statement was pushed out
    registers it again when it runs, still answered by its plan."""
    from hub.db.pools import GeneratedStatements

    monkeypatch.setattr(GeneratedStatements, "MAX", 8)
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    text = LOOKUP + "# bounded\n"
    fused = compiled.cache.get(hashlib.sha256(text.encode()).hexdigest(), text).plans[
        "BenchEnterpriseByUscc"].root.nested[0].fused
    for i in range(20):
        SqlRegistry.generated[f"other#{i}"] = "select 1"
    assert len(SqlRegistry.generated) == 8 and fused.name not in SqlRegistry.generated
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    before = compiled.answered
    a = planned.post("/graphql", json={"query": text}, headers=headers)
    assert compiled.answered == before + 1 and a.json()["data"] == general.post(
        "/graphql", json={"query": text}, headers=headers).json()["data"]
    assert fused.name in SqlRegistry.generated
    for i in range(20):
        SqlRegistry.generated.pop(f"other#{i}", None)


def test_aliases_of_a_join_do_not_multiply_the_statement_labels(apps, tokens) -> None:
    """A join selected under several aliases is fused once per alias, but the statement's label (its metric's and
    span's name, ``SqlRegistry.label``) and its batch's name name each join once: a consumer varying the aliases
    must not mint a metric series per document (a type with two fusable joins, InvestmentProject's enterprise and
    park, would give one per sequence of up to HUB_MAX_ALIASES aliases). Each document is still answered by its plan
    as the general path answers it."""
    planned, general = apps
    compiled = planned.app.router.routes[0].endpoint.compiled
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    labels, loaders = set(), set()
    for n in range(1, 5):
        joins = " ".join(f"o{i}: occupation {{ code }}" for i in range(n))
        text = "{ jobPostings(first: 2) { nodes { id %s } } }" % joins
        before = compiled.answered
        (a, ran), b = _ran(planned, lambda: planned.post("/graphql", json={"query": text}, headers=headers)), \
            general.post("/graphql", json={"query": text}, headers=headers)
        assert compiled.answered == before + 1 and a.json()["data"] == b.json()["data"]
        labels |= set(ran)
        fused = compiled.cache.get(hashlib.sha256(text.encode()).hexdigest(), text).plans[None].root.nested[0].fused
        loaders.add(fused.loader_name)
    assert labels == {PAGE_FUSED} and loaders == {"JobPostingsPage+OccupationByCodeLoader"}, (labels, loaders)
