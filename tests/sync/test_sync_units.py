"""Unit tests of the sync building blocks that need no database: cursors, streaming parsers, field kinds,
and the replica's rule for applying changes."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal

import httpx
import orjson
import pytest

from hub.errors import BadUserInput
from hub.sync.check_chars import id_number_check_char, uscc_check_char
from hub.sync import validate as v
from hub.sync.client import Puller, Replica, SyncError
from hub.sync.cursor import Cursor
from hub.sync.parse import csv_records, ndjson_records
from hub.sync.specs import ingest_specs, validate_row

D = "labor.job_postings"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_cursor_round_trip_and_snapshot_exclusion() -> None:
    c = Cursor(D, 120, 7, "100:130:105,110")
    assert Cursor.decode(c.encode(), D) == c
    assert Cursor.decode(None, D) == Cursor.start(D) == Cursor(D, 0, 0)
    assert c.moved_to(129, 1).snapshot == "100:130:105,110"  # still before the snapshot's xmax
    assert c.moved_to(130, 0).snapshot is None
    assert Cursor.at_snapshot(D, "200:200:") == Cursor(D, 200, 0, None)
    assert Cursor.at_snapshot(D, "200:210:205") == Cursor(D, 200, 0, "200:210:205")


@pytest.mark.parametrize("text", [
    "x", "!!!", _b64("c2|labor.job_postings|1|1"), _b64("c1|labor.job_postings|1"), _b64("c1|labor.job_postings|-1|1"),
    _b64("c1|labor.job_postings|1|1|5:3:"), _b64("c1|labor.job_postings|1|1|100:130:99"),
    _b64("c1|labor.job_postings|1|" + "9" * 25), _b64("c1|labor.occupations|1|1"), "A" * 20_000,
])
def test_malformed_cursors_are_bad_user_input(text: str) -> None:
    with pytest.raises(BadUserInput):
        Cursor.decode(text, D)


async def _chunks(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _collect(gen) -> list:
    async def go():
        return [r for batch in [b async for b in gen] for r in batch]
    return asyncio.run(go())


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_ndjson_records_across_chunk_boundaries(size: int) -> None:
    data = b'\xef\xbb\xbf{"sourceId": "a", "x": 1}\r\n\n{"b": 2}\n[1]\n{broken\n{"c": "\xe4\xb8\xad"}'
    records = _collect(ndjson_records(_chunks(data, size)))
    assert [(r[0], r[1], r[3] is None) for r in records] == [
        (1, {"source_id": "a", "x": 1}, True), (3, {"b": 2}, True), (4, None, False), (5, None, False),
        (6, {"c": "中"}, True)]


@pytest.mark.parametrize("size", [1, 5, 4096])
def test_csv_records_with_quoted_newlines(size: int) -> None:
    data = 'title,headcount\n"a, ""b""",1\n"two\nlines",2\n\nshort\n中,3\n'.encode()
    data += b"\xff,4\n"
    records = _collect(csv_records(_chunks(data, size), ["title", "headcount"], ["title"]))
    assert [(r[0], r[1]) for r in records] == [
        (2, {"title": 'a, "b"', "headcount": "1"}), (3, {"title": "two\nlines", "headcount": "2"}),
        (6, None), (7, {"title": "中", "headcount": "3"}), (8, None)]  # file lines: the header is line 1
    assert "1 fields" in records[2][3] and "UTF-8" in records[4][3]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"), (b"title,colour\n", "unknown column"), (b"headcount\n1\n", "lacks required"),
    (b"title,title\n", "repeats"), (b'title\n"open\n', "inside a quoted field"),
])
def test_csv_request_level_errors(data: bytes, message: str) -> None:
    with pytest.raises(BadUserInput, match=message):
        _collect(csv_records(_chunks(data, 3), ["title", "headcount"], ["title"]))


def test_a_line_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(BadUserInput, match="longer than"):
        _collect(ndjson_records(_chunks(b"x" * 5000, 1000), max_line=4096))


def test_check_characters() -> None:
    first17 = "91440106MA7X9K3P2"
    good = first17 + uscc_check_char(first17)
    v.check_uscc(good)
    wrong = first17 + ("0" if good[-1] != "0" else "1")
    with pytest.raises(v.Invalid, match="check character"):
        v.check_uscc(wrong)
    with pytest.raises(v.Invalid, match="not a unified social credit code"):
        v.check_uscc("91440106MA7X9K3PI" + "0")  # I is not in the GB 32100 set
    id17 = "44010619900101123"
    v.check_id_number(id17 + id_number_check_char(id17))
    with pytest.raises(v.Invalid):
        v.check_id_number(id17 + ("X" if id_number_check_char(id17) != "X" else "0"))


@pytest.mark.parametrize("kind, raw, expected", [
    (v.Integer(low=1, high=5), "3", 3), (v.Integer(), 7.0, 7),
    (v.Numeric(precision=10, scale=2), "12.5", Decimal("12.5")),
    (v.Numeric(), 3, Decimal(3)), (v.DATE, "2024-02-29", None), (v.BOOLEAN, "t", True), (v.BOOLEAN, False, False),
])
def test_kinds_accept(kind, raw, expected) -> None:
    value = kind.convert(raw)
    assert expected is None or value == expected


@pytest.mark.parametrize("kind, raw", [
    (v.Integer(low=1, high=5), "6"), (v.Integer(), True), (v.Integer(), "1.5"), (v.Integer(), 2**40),
    (v.Numeric(precision=10, scale=2), "1.234"), (v.Numeric(precision=10, scale=2), "123456789"),
    (v.Numeric(low_inclusive=False), "0"), (v.Numeric(), "NaN"), (v.DATE, "2023-02-29"), (v.DATE, "1899-12-31"),
    (v.DATE, "20240101"), (v.TEXT, " "), (v.TEXT, "a\x00b"), (v.TEXT, 5), (v.EDUCATION, "PHD"), (v.BOOLEAN, "maybe"),
])
def test_kinds_refuse(kind, raw) -> None:
    with pytest.raises(v.Invalid):
        kind.convert(raw)


def test_validate_row_names_the_field_and_derives_values() -> None:
    spec = ingest_specs()["labor.occupations"]
    assert validate_row(spec, {"code": "6-18-01-01", "name": "车工"}) == ("6-18-01-01", "车工", 6)
    with pytest.raises(v.Invalid) as info:
        validate_row(spec, {"code": "6-18-01-01", "name": "车工", "major_group": 5})
    assert info.value.field == "major_group"
    with pytest.raises(v.Invalid, match="unknown field"):
        validate_row(spec, {"code": "6-18-01-01", "name": "车工", "id": 3})
    industries = ingest_specs()["commerce.industries"]
    assert validate_row(industries, {"code": "391", "name": "x", "parent_code": "39"})[2] == 3
    with pytest.raises(v.Invalid, match="parent"):
        validate_row(industries, {"code": "391", "name": "x", "parent_code": "38"})


def test_validate_row_names_every_problem_of_a_row() -> None:
    spec = ingest_specs()["labor.occupations"]
    with pytest.raises(v.Invalid) as info:
        validate_row(spec, {"code": "6-18", "major_group": "x", "colour": "red"})
    assert info.value.field == "code"
    assert info.value.reason == ("'6-18' is not an occupation code like 6-18-01-01; name: is required; major_group: "
                                 "'x' is not an integer; unknown field(s) colour; labor.occupations has code, name, "
                                 "major_group")
    postings = ingest_specs()["labor.job_postings"]
    row = {"source_id": "S", "title": "t", "enterprise_uscc": "91440101MA5973570B", "occupation_code": "6-18-01-01",
           "headcount": 1, "wage_min": 9000, "wage_max": 5000, "education": "NONE", "district_code": "440106",
           "posted_on": "2025-02-01", "closes_on": "2025-01-01"}
    with pytest.raises(v.Invalid) as info:  # every row rule, once every field is valid
        validate_row(postings, row)
    assert "wage_min 9000 exceeds wage_max 5000; closes_on: posted_on 2025-02-01 is after" in info.value.reason


def test_replica_keeps_the_largest_version_and_honours_resets() -> None:
    r = Replica()
    r.add_snapshot_row({"id": 1, "v": "snapshot"})
    r.apply({"op": "update", "id": 1, "version": 20, "row": {"id": 1, "v": "B"}})
    r.apply({"op": "update", "id": 1, "version": 15, "row": {"id": 1, "v": "A"}})  # older: listed later by txid
    r.apply({"op": "insert", "id": 2, "version": 16, "row": {"id": 2, "v": "x"}})
    r.apply({"op": "delete", "id": 2, "version": 17, "key": {"id": 2}})
    r.apply({"op": "insert", "id": 2, "version": 12, "row": {"id": 2, "v": "stale"}})  # below the tombstone
    assert r.rows == {1: {"id": 1, "v": "B"}}
    r.apply({"op": "reset", "version": 30})
    r.apply({"op": "insert", "id": 3, "version": 25, "row": {"id": 3}})  # committed before the truncate
    r.apply({"op": "insert", "id": 4, "version": 31, "row": {"id": 4}})
    assert r.rows == {4: {"id": 4}}


def test_puller_waits_out_rate_limits_and_refuses_incomplete_snapshots(tmp_path) -> None:
    cursor = Cursor(D, 10, 0).encode()
    calls: list[str] = []
    truncated = {"on": True}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"retry-after": "0"}, json={"errors": []})
        if request.url.path.endswith("/snapshot"):
            rows = b'{"id": 1}\n{"id": 2}\n'
            final = b"" if truncated["on"] else orjson.dumps({"cursor": cursor, "rows": 2}) + b"\n"
            return httpx.Response(200, content=rows + final)
        return httpx.Response(200, content=orjson.dumps({"next_cursor": cursor, "has_more": False, "count": 0}))

    puller = Puller("http://hub", "t", D, tmp_path, transport=httpx.MockTransport(handler))
    with pytest.raises(SyncError, match="INCOMPLETE"):
        puller.run()
    assert not list(tmp_path.glob("snapshot-*.ndjson"))  # the truncated download was not kept
    truncated["on"] = False
    puller.run()
    assert calls[0] == calls[1] == f"/sync/{D}/snapshot"
    assert Replica.load(tmp_path).rows == {1: {"id": 1}, 2: {"id": 2}}
