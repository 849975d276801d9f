"""Issue 17, item 9: files as departments have them — CSV in GB18030/GBK (``charset=`` over HTTP; ``hub ingest``
detects it or takes ``--encoding``) and .xlsx workbooks (first sheet, header row, read-only streaming, formula
cells by their cached values)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import orjson
import pytest
from typer.testing import CliRunner

from hub.governance.masking import mask_id_number, mask_person_name, mask_phone
from hub.app import create_app
from hub.cli.main import app as cli_app
from hub.sync.check_chars import id_number_check_char
from hub.sync import xlsx
from hub.sync.parse import csv_records
from hub.sync.xlsx import CellError, cell_text
from tests.support.helpers import sql, sql_value
from tests.support.live import serve_in_thread
from tests.support.sync import hub_client, scratch

POSTINGS = "labor.job_postings"
SEEKERS = "labor.job_seekers"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = ["source_id", "title", "enterprise_uscc", "occupation_code", "headcount", "wage_min", "wage_max",
           "education", "district_code", "posted_on"]
TITLE = "数控车工（高级）·鄂尔多斯"  # · and （） are outside GB2312's common range; all in GBK/GB18030


@pytest.fixture(scope="module")
def files_db(server_url, settings):
    return scratch(server_url, settings, "hub_test_ingest_files", ingest_max_body_bytes=1_000_000)


@pytest.fixture(scope="module")
def known(files_db):
    url = files_db[0].database_url
    return {"occupation": sql_value(url, "select min(code) from labor.occupations"),
            "uscc": sql_value(url, "select min(uscc) from commerce.enterprises")}


def post(s, token, data: bytes, content_type: str, dataset: str = POSTINGS, key: str | None = None):
    async def go():
        async with hub_client(s, token) as client:
            headers = {"content-type": content_type, **({"idempotency-key": key} if key else {})}
            return await client.post(f"/ingest/{dataset}", content=data, headers=headers)
    return asyncio.run(go())


def csv_text(known, prefix: str, n: int = 3) -> str:
    rows = [",".join(COLUMNS)]
    rows += [f"{prefix}-{i},{TITLE}{i},{known['uscc']},{known['occupation']},2,5000,6000,HIGH_SCHOOL,440106,"
             f"2025-03-01" for i in range(n)]
    return "\r\n".join(rows) + "\r\n"  # as Excel writes it


def titles(s, prefix: str) -> dict[str, str]:
    return {r["source_id"]: r["title"] for r in sql(s.database_url, "select source_id, title from labor.job_postings "
                                                                    "where source_id like $1", f"{prefix}-%")}


# --- GB18030 / GBK CSV over HTTP ---------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["gb18030", "GBK", '"gb18030"'])
def test_a_gb18030_csv_is_read_with_its_charset(files_db, known, charset) -> None:
    s, tokens = files_db
    prefix = f"GB-{charset.replace(chr(34), 'q').lower()}"
    data = csv_text(known, prefix).encode("gb18030")
    assert data != csv_text(known, prefix).encode("utf-8")
    response = post(s, tokens["labor"], data, f"text/csv; charset={charset}")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (3, 0), report
    assert titles(s, prefix) == {f"{prefix}-{i}": f"{TITLE}{i}" for i in range(3)}


def test_a_gb18030_csv_sent_as_utf8_is_rejected_row_by_row(files_db, known) -> None:
    s, tokens = files_db
    data = csv_text(known, "GBU").encode("gb18030")
    report = post(s, tokens["labor"], data, "text/csv").json()
    assert (report["inserted"], report["rejected"]) == (0, 3)
    assert {r["reason"] for r in report["rejectedRows"]} == {"not valid UTF-8"}


def test_a_record_that_is_not_gb18030_is_rejected_on_its_own(files_db, known) -> None:
    s, tokens = files_db
    good = csv_text(known, "GBX", 2).encode("gb18030")
    bad = f"GBX-9,\x00,{known['uscc']},{known['occupation']},2,5000,6000,HIGH_SCHOOL,440106,2025-03-01\r\n"
    data = good + bad.encode().replace(b"\x00", b"\x81\x20")  # a lead byte without its trail byte
    report = post(s, tokens["labor"], data, "text/csv; charset=gb18030").json()
    assert (report["inserted"], report["rejected"]) == (2, 1), report
    assert report["rejectedRows"][0]["reason"] == "not valid GB18030"
    assert set(titles(s, "GBX")) == {"GBX-0", "GBX-1"}


@pytest.mark.parametrize("content_type", ["text/csv; charset=latin-9", "text/csv; charset=shift_jis",
                                          "text/csv; charset=bogus", "application/x-ndjson; charset=gb18030"])
def test_an_unsupported_charset_is_415(files_db, content_type) -> None:
    s, tokens = files_db
    response = post(s, tokens["labor"], b"source_id\nX\n", content_type)
    assert response.status_code == 415, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["argument"] == "Content-Type"
    assert error["extensions"]["charset"] == content_type.split("=")[1] and "unsupported charset" in error["message"]


def test_utf8_charset_and_its_aliases_still_read(files_db, known) -> None:
    s, tokens = files_db
    for n, charset in enumerate(["utf-8", "UTF8", "us-ascii"]):
        text = csv_text(known, f"U8{n}", 1)
        if charset == "us-ascii":
            text = text.replace(TITLE, "lathe")
        report = post(s, tokens["labor"], text.encode(), f"text/csv; charset={charset}").json()
        assert report["inserted"] == 1, report


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_multibyte_characters_split_across_chunks(size: int) -> None:
    """Every chunk boundary, including inside 2- and 4-byte GB18030 characters (𠀀 is a 4-byte one)."""
    text = 'title,headcount\r\n"车工, ""高级""\n𠀀",2\r\n鄂尔多斯€,3\r\n'
    data = text.encode("gb18030")
    assert len(data) > 40 and "𠀀".encode("gb18030").__len__() == 4

    async def chunks():
        for start in range(0, len(data), size):
            yield data[start:start + size]

    async def collect():
        return [r async for batch in csv_records(chunks(), ["title", "headcount"], ["title"], codec="gb18030")
                for r in batch]
    records = asyncio.run(collect())
    assert [(r[1], r[3]) for r in records] == [
        ({"title": '车工, "高级"\n𠀀', "headcount": "2"}, None), ({"title": "鄂尔多斯€", "headcount": "3"}, None)]


# --- .xlsx -------------------------------------------------------------------------------------------

def with_cached_values(data: bytes, cached: dict[str, str]) -> bytes:
    """The workbook with cached results for formula cells, as a spreadsheet application saves them (openpyxl
    writes formulas without results: it does not calculate). ``cached``: cell -> number text, or 's:' + text."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = content.decode()
                for ref, value in cached.items():
                    kind = ' t="str"' if value.startswith("s:") else ""
                    xml, count = re.subn(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/>',
                                         rf'<c r="{ref}"\1{kind}><f>\2</f><v>{value.removeprefix("s:")}</v>', xml)
                    assert count == 1, ref
                content = xml.encode()
            target.writestr(item, content)
    return out.getvalue()


def postings_workbook(known, prefix: str) -> bytes:
    """Row 1 the header, then: 2 valid (formula headcount cached 3, formula title cached, date cell, numbers
    stored as floats); 3 blank; 4 a formula title without a cached value (required: rejected); 5 an error value;
    6 a value right of the header; 7 a district code kept by a zero format; 8 wrong code (letters)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "岗位"
    ws.append(["sourceId", *COLUMNS[1:]])
    base = [known["uscc"], known["occupation"]]
    ws.append([f"{prefix}-2", "=A2&\"x\"", *base, "=1+2", 5000.0, 6000, "HIGH_SCHOOL", 440106,
               dt.datetime(2025, 3, 1)])
    ws.append([])
    ws.append([f"{prefix}-4", "=B2", *base, 2, 5000, 6000, "HIGH_SCHOOL", 440106, dt.date(2025, 3, 1)])
    ws.append([f"{prefix}-5", "电工", *base, 2, "#DIV/0!", 6000, "HIGH_SCHOOL", 440106, dt.date(2025, 3, 1)])
    ws.append([f"{prefix}-6", "电工", *base, 2, 5000, 6000, "HIGH_SCHOOL", 440106, dt.date(2025, 3, 1), "extra"])
    ws.append([f"{prefix}-7", "电工", *base, 2, 5000, 6000, "HIGH_SCHOOL", 110105, "2025-03-02"])
    ws["I7"].value = 110105
    ws["I7"].number_format = "000000"
    ws.append([f"{prefix}-8", "电工", *base, 2, 5000, 6000, "HIGH_SCHOOL", "ABCDEF", "2025-03-02"])
    wb.create_sheet("ignored").append(["anything"])  # only the first sheet is read
    buffer = io.BytesIO()
    wb.save(buffer)
    return with_cached_values(buffer.getvalue(), {"B2": f"s:车工{prefix}", "E2": "3"})


def test_an_xlsx_workbook_is_ingested(files_db, known) -> None:
    s, tokens = files_db
    data = postings_workbook(known, "XL")
    response = post(s, tokens["labor"], data, XLSX, key="xlsx-1")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["inserted"], report["rejected"], report["format"]) == (6, 2, 4, "xlsx")
    rows = {r["source_id"]: r for r in sql(s.database_url, "select source_id, title, headcount, wage_min, "
                                           "district_code, posted_on from labor.job_postings "
                                           "where source_id like 'XL-%'")}
    assert set(rows) == {"XL-2", "XL-7"}
    assert rows["XL-2"]["title"] == "车工XL" and rows["XL-2"]["headcount"] == 3  # cached values, not formulas
    assert rows["XL-2"]["wage_min"] == 5000 and rows["XL-2"]["posted_on"] == dt.date(2025, 3, 1)
    assert rows["XL-7"]["district_code"] == "110105"
    rejected = {r["line"]: r for r in report["rejectedRows"]}  # line numbers are the sheet's row numbers
    assert sorted(rejected) == [4, 5, 6, 8]
    assert rejected[4]["field"] == "title" and "required" in rejected[4]["reason"]
    assert rejected[5]["reason"] == "wage_min: holds the error value #DIV/0!"
    assert rejected[6]["reason"] == "has a value in column 11; the header has 10 columns"
    assert rejected[8]["field"] == "district_code"
    assert orjson.loads(rejected[8]["raw"])["district_code"] == "ABCDEF"  # the row as JSON for the owner
    assert orjson.loads(rejected[4]["raw"])["title"] is None and "=" not in rejected[4]["raw"]

    again = post(s, tokens["labor"], data, XLSX, key="xlsx-1")
    assert again.headers["idempotent-replayed"] == "true" and again.json()["inserted"] == 2


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04 not really a zip", "not a readable .xlsx workbook"),
    (b"source_id,title\n", "not a readable .xlsx workbook"),
])
def test_a_broken_workbook_is_bad_user_input(files_db, data, message) -> None:
    s, tokens = files_db
    response = post(s, tokens["labor"], data, XLSX)
    assert response.status_code == 400 and message in response.json()["errors"][0]["message"], response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_xlsx_body_has_the_ingest_body_limit(files_db) -> None:
    s, tokens = files_db
    response = post(s, tokens["labor"], b"PK\x03\x04" + bytes(1_100_000), XLSX)
    assert response.status_code == 413 and response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_a_sheet_longer_than_a_spreadsheet_is_refused(files_db, monkeypatch) -> None:
    """A row numbered past the limit (here 50 for the test; Excel's 1,048,576 in use) ends the read."""
    s, tokens = files_db
    monkeypatch.setattr(xlsx, "MAX_ROWS", 50)
    wb = openpyxl.Workbook()
    wb.active.append(COLUMNS)
    wb.active["A60"] = "far-away"
    buffer = io.BytesIO()
    wb.save(buffer)
    response = post(s, tokens["labor"], buffer.getvalue(), XLSX)
    assert response.status_code == 400 and "more than 50 rows" in response.text, response.text


def test_a_value_far_right_of_the_header_rejects_its_row(files_db, known) -> None:
    s, tokens = files_db
    wb = openpyxl.Workbook()
    wb.active.append(COLUMNS)
    for n in (2, 3):
        wb.active.append([f"XR-{n}", "电工", known["uscc"], known["occupation"], 2, 5000, 6000, "HIGH_SCHOOL", 440106,
                          "2025-03-01"])
    wb.active["ZZZ3"] = "far right"  # the last column openpyxl reads
    buffer = io.BytesIO()
    wb.save(buffer)
    report = post(s, tokens["labor"], buffer.getvalue(), XLSX).json()
    assert (report["inserted"], report["rejected"]) == (1, 1), report
    assert report["rejectedRows"][0]["reason"] == "has a value in column 18278; the header has 10 columns"


def test_an_xlsx_header_is_checked_like_a_csv_header(files_db) -> None:
    s, tokens = files_db
    wb = openpyxl.Workbook()
    wb.active.append(["source_id", "colour"])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = post(s, tokens["labor"], buffer.getvalue(), XLSX)
    assert response.status_code == 400 and "sheet header names unknown column(s) colour" in response.text


def test_rejected_xlsx_rows_are_masked_for_a_non_owner(files_db) -> None:
    s, tokens = files_db
    template = orjson.loads(sql_value(s.database_url, "select (to_jsonb(t) - 'id' - 'source_id')::text "
                                                      "from labor.job_seekers t order by id limit 1"))
    first17 = "44010619850000071"
    person = {**template, "source_id": "XS-1", "name": "欧阳明辉", "id_number": first17 + id_number_check_char(first17),
              "phone": "13900000071", "birth_year": 1900}  # out of range: rejected, personal fields valid
    wb = openpyxl.Workbook()
    wb.active.append(list(person))
    wb.active.append(list(person.values()))
    typed = {**person, "source_id": "XS-2", "id_number": int(first17 + "1"), "birth_year": 1985}  # as a number
    wb.active.append(list(typed.values()))
    buffer = io.BytesIO()
    wb.save(buffer)
    admin = post(s, tokens["admin"], buffer.getvalue(), XLSX, dataset=SEEKERS)
    assert admin.status_code == 200 and admin.json()["rejected"] == 2, admin.text
    assert admin.json()["rejectedRows"][1]["reason"].startswith("id_number: holds a number of 18 digits")
    assert first17 not in admin.text
    raw = orjson.loads(admin.json()["rejectedRows"][0]["raw"])
    assert raw["name"] == mask_person_name("欧阳明辉") and raw["id_number"] == mask_id_number(person["id_number"])
    assert raw["phone"] == mask_phone("13900000071")
    assert "明辉" not in admin.text and person["id_number"] not in admin.text and "13900000071" not in admin.text
    owner = post(s, tokens["labor"], buffer.getvalue(), XLSX, dataset=SEEKERS).json()
    assert orjson.loads(owner["rejectedRows"][0]["raw"])["phone"] == "13900000071"


def test_reading_a_workbook_holds_no_cells_of_rows_already_read(monkeypatch) -> None:
    """Peak memory (tracemalloc) grows with the rows by openpyxl's emptied row elements only (< 0.1 KB a row),
    not with the cells: 12 numeric columns; non-streaming reading (read_only=False) holds ~5 KB a row."""
    monkeypatch.setattr(xlsx, "BATCH", 200)  # the batch in flight is the same for both sizes
    columns = [f"c{i}" for i in range(12)]

    def peak(rows: int) -> int:
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(columns)
        for i in range(rows):
            ws.append([i * 12 + j for j in range(12)])
        buffer = io.BytesIO()
        wb.save(buffer)
        data = buffer.getvalue()

        async def read() -> int:
            async def chunks():
                for start in range(0, len(data), 1 << 16):
                    yield data[start:start + (1 << 16)]
            return sum([len(batch) async for batch in xlsx.xlsx_records(chunks(), columns, [])])
        tracemalloc.start()
        try:
            assert asyncio.run(read()) == rows
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1000), peak(4000)
    assert (large - small) / 3000 < 400, (small, large)


def test_cell_text_is_what_a_csv_would_hold() -> None:
    class Cell:
        def __init__(self, value, data_type="n", number_format="General"):
            self.value, self.data_type, self.number_format = value, data_type, number_format

    assert cell_text(Cell(12.0)) == "12" and cell_text(Cell(-3.0)) == "-3" and cell_text(Cell(0.1)) == "0.1"
    assert cell_text(Cell(True, "b")) == "true" and cell_text(Cell("")) is None and cell_text(Cell(None)) is None
    assert cell_text(Cell(101, number_format="000000")) == "000101"
    assert cell_text(Cell(dt.datetime(2025, 3, 1))) == "2025-03-01"
    assert cell_text(Cell(dt.datetime(2025, 3, 1, 8, 30))) == "2025-03-01T08:30:00"
    assert cell_text(Cell(110101850307123.0)) == "110101850307123"  # 15 digits: exact in a spreadsheet
    with pytest.raises(CellError, match="15 digits"):
        cell_text(Cell(440106198501010000.0))  # an identity number typed as a number
    with pytest.raises(CellError, match="#N/A"):
        cell_text(Cell("#N/A", "e"))


# --- hub ingest ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(files_db):
    s, tokens = files_db
    with serve_in_thread(create_app(s)) as url:
        yield s, tokens, url


def hub_ingest(url: str, token: str, path: Path, *extra: str):
    result = CliRunner().invoke(cli_app, ["ingest", str(path), "--dataset", POSTINGS, "--url", url, "--token", token,
                                          *extra])
    return result, result.output


def test_hub_ingest_detects_gb18030(live, known, tmp_path: Path) -> None:
    s, tokens, url = live
    path = tmp_path / "岗位.csv"
    path.write_bytes(csv_text(known, "CG", 40).encode("gb18030"))
    result, output = hub_ingest(url, tokens["labor"], path)
    assert result.exit_code == 0, output
    assert "read 岗位.csv as GB18030 (not UTF-8)" in output
    assert titles(s, "CG") == {f"CG-{i}": f"{TITLE}{i}" for i in range(40)}

    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(csv_text(known, "CU", 2), encoding="utf-8")
    result, output = hub_ingest(url, tokens["labor"], utf8)
    assert result.exit_code == 0 and "GB18030" not in output and len(titles(s, "CU")) == 2


def test_hub_ingest_takes_an_encoding(live, known, tmp_path: Path) -> None:
    s, tokens, url = live
    path = tmp_path / "gbk.csv"
    path.write_bytes(csv_text(known, "CK", 2).encode("gbk"))
    result, output = hub_ingest(url, tokens["labor"], path, "--encoding", "gbk")
    assert result.exit_code == 0 and "not UTF-8" not in output, output
    assert titles(s, "CK") == {f"CK-{i}": f"{TITLE}{i}" for i in range(2)}

    result, output = hub_ingest(url, tokens["labor"], path, "--encoding", "latin-1")
    assert result.exit_code == 2 and "--encoding latin-1" in output


def test_hub_ingest_uploads_a_workbook(live, known, tmp_path: Path) -> None:
    s, tokens, url = live
    path = tmp_path / "postings.xlsx"
    path.write_bytes(postings_workbook(known, "CX"))
    result, output = hub_ingest(url, tokens["labor"], path)
    assert "rejected line 5: wage_min: holds the error value #DIV/0!" in output, output
    assert set(titles(s, "CX")) == {"CX-2", "CX-7"}
    renamed = tmp_path / "export.dat"  # recognised by its content (a zip archive)
    renamed.write_bytes(path.read_bytes())
    result, output = hub_ingest(url, tokens["labor"], renamed, "--idempotency-key", "renamed-xlsx")
    assert "ingest into labor.job_postings" in output and "rejected line 5" in output, output
