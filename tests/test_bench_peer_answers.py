"""The side-by-side bench's answer comparison (tests/bench/peer/answers.py): pure logic, no node, no server.

The bench refuses to measure a shape whose hub and PostGraphile answers differ, so the comparison must see every
kind of difference, and must not be fooled by PostGraphile's field names or its strings for bigints."""

from __future__ import annotations

import copy
from pathlib import Path

from graphql import parse

from tests.bench.operations import BENCH_OPERATIONS_DIR
from tests.bench.peer.answers import compare
from tests.bench.peer.run import SHAPES

HUB = {"data": {"jobPostings": {"nodes": [
    {"id": 22, "title": "钳工", "enterprise": {"name": "甲", "industry": {"name": "制造"}},
     "occupation": {"code": "6-18-01-01", "name": "钳工"}},
    {"id": 23, "title": "焊工", "enterprise": None, "occupation": {"code": "6-18-02-01", "name": "焊工"}},
]}}}
PGL = {"data": {"allJobPostings": {"nodes": [
    {"id": "22", "title": "钳工", "enterpriseByEnterpriseUscc": {"name": "甲", "industryByIndustryCode": {"name": "制造"}},
     "occupationByOccupationCode": {"code": "6-18-01-01", "name": "钳工"}},
    {"id": "23", "title": "焊工", "enterpriseByEnterpriseUscc": None,
     "occupationByOccupationCode": {"code": "6-18-02-01", "name": "焊工"}},
]}}}


def _pgl(**change) -> dict:
    out = copy.deepcopy(PGL)
    nodes = out["data"]["allJobPostings"]["nodes"]
    for path, value in change.items():
        *keys, last = path.split("__")
        target = nodes
        for k in keys:
            target = target[int(k)] if k.isdigit() else target[k]
        if value is ...:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return out


def test_the_same_data_under_postgraphile_names_and_bigint_strings_is_the_same() -> None:
    c = compare(HUB, PGL)
    assert c.same, c.difference
    assert c.items == {"jobPostings.nodes": 2}


def test_a_changed_value_a_missing_item_a_missing_field_or_another_order_is_different() -> None:
    for changed, where in (
        (_pgl(**{"0__title": "车工"}), "data.jobPostings.nodes[0].title"),
        (_pgl(**{"1": ...}), "data.jobPostings.nodes: 2 items on the hub side, 1 on the PostGraphile side"),
        (_pgl(**{"0__occupationByOccupationCode": ...}), "data.jobPostings.nodes[0].occupation: only on the hub"),
        (_pgl(**{"1__enterpriseByEnterpriseUscc": {"name": "乙", "industryByIndustryCode": None}}),
         "data.jobPostings.nodes[1].enterprise"),
    ):
        c = compare(HUB, changed)
        assert not c.same and c.difference.startswith(where), c.difference
    reordered = _pgl()
    reordered["data"]["allJobPostings"]["nodes"].reverse()
    assert not compare(HUB, reordered).same


def test_an_error_answer_or_only_empty_lists_is_never_the_same() -> None:
    assert not compare(HUB, {"errors": [{"message": "boom"}], "data": None}).same
    assert not compare({"data": None}, PGL).same
    empty_hub = {"data": {"jobPostings": {"nodes": []}}}
    c = compare(empty_hub, {"data": {"allJobPostings": {"nodes": []}}})
    assert not c.same and "nothing was compared" in c.difference


def test_a_count_from_totalcount_maps_to_posting_count() -> None:
    hub = {"data": {"occupations": {"nodes": [{"code": "1", "postingCount": 7}]}}}
    pgl = {"data": {"allOccupations": {"nodes": [{"code": "1", "jobPostingsByOccupationCode": {"totalCount": 7}}]}}}
    assert compare(hub, pgl).same
    pgl["data"]["allOccupations"]["nodes"][0]["jobPostingsByOccupationCode"]["totalCount"] = 8
    assert not compare(hub, pgl).same


def test_every_postgraphile_query_pairs_with_a_bench_operation_and_parses() -> None:
    shapes = sorted(SHAPES.glob("*.graphql"))
    assert {p.stem for p in shapes} >= {"enterprise_by_uscc", "enterprises_of_district", "schools_majors_outcomes"}
    for path in shapes:
        assert (BENCH_OPERATIONS_DIR / path.name).exists(), f"{path.name}: no hub bench operation of that name"
        parse(Path(path).read_text(encoding="utf-8"))
