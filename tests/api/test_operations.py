"""Every saved operation under graphql/operations/ (registered as trusted documents by hub.api.trusted, and
run by the benchmarks in tests/bench) is valid against the built schema (test_schema_contract keeps the
committed SDL equal to it).

The bench operations (graphql/operations/bench/) are also POSTed as fixed bodies by wrk, so each file
holds one named operation whose variables all have defaults, within the production query limits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse, validate

from hub.api.document_limits import DocumentAnalysis
from hub.api.limit_rules import alias_rule, depth_rule
from hub.api.schema import build_schema
from hub.settings import Settings
from hub.api.trusted import OPERATIONS_DIR

FILES = sorted(OPERATIONS_DIR.rglob("*.graphql"))
BENCH_FILES = sorted((OPERATIONS_DIR / "bench").glob("*.graphql"))
PRODUCTION = Settings.from_env({"HUB_ENV": "production"})


@pytest.fixture(scope="module")
def schema():
    return build_schema(PRODUCTION)._schema


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _rel(path: Path) -> str:
    return path.relative_to(OPERATIONS_DIR).as_posix()


def test_there_are_saved_operations() -> None:
    assert FILES, f"no .graphql file under {OPERATIONS_DIR}"


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_operation_validates_against_the_built_schema(path: Path, schema) -> None:
    document = parse(path.read_text(encoding="utf-8"))
    ops = _operations(document)
    assert ops and all(op.name is not None for op in ops), "every operation must be named (audit, tracing)"
    assert [e.message for e in validate(schema, document)] == []
    assert validate(schema, document, [depth_rule(PRODUCTION.max_depth), alias_rule(PRODUCTION.max_aliases)]) == []


def test_operation_names_are_unique() -> None:
    names = Counter(op.name.value for path in FILES for op in _operations(parse(path.read_text(encoding="utf-8")))
                    if op.name is not None)
    assert [n for n, c in names.items() if c > 1] == []


@pytest.mark.parametrize("path", BENCH_FILES, ids=_rel)
def test_bench_operation_runs_from_a_fixed_body(path: Path, schema) -> None:
    document = parse(path.read_text(encoding="utf-8"))
    ops = _operations(document)
    assert len(ops) == 1, "one operation per bench file"
    op = ops[0]
    assert op.name is not None and op.name.value.startswith("Bench")
    assert op.operation.value == "query"
    missing = [v.variable.name.value for v in op.variable_definitions or () if v.default_value is None]
    assert missing == [], f"variables without a default (wrk posts a fixed body): {missing}"
    cost = DocumentAnalysis(document, schema, default_page_size=PRODUCTION.default_page_size,
                            max_page_size=PRODUCTION.max_page_size).cost()
    assert 0 < cost <= PRODUCTION.max_cost


def test_the_bench_covers_the_issue_shapes() -> None:
    names = {op.name.value for path in BENCH_FILES for op in _operations(parse(path.read_text(encoding="utf-8")))}
    assert {"BenchEnterpriseByUscc", "BenchPostingsNested", "BenchOccupationsPostings", "BenchPostingsFlat",
            "BenchOccupationCounts", "BenchDeepCrossDepartment"} <= names
