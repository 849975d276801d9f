"""Attack review of issue 17's new paths (ingest of GB18030 CSV and .xlsx, landing and draft pages, metrics in
multiprocess mode, code checks, Authorization parsing). Each test here failed when it was written: it shows a
hole found by reviewing the round as another department or an unauthenticated browser would.

All closed since: an .xlsx inline-string cell inflating a 70 KB upload to a ~1.2 GB peak and the shared-strings
cap holding ~6.6x its size (``hub.sync.xlsx._prescan``); HUB_METRICS_MAX_OPERATIONS capping per worker, not per
host (``hub.telemetry.metrics._CappedOperations``); the draft page's curl example naming the request's Host; an error
cell's text and a malformed number cell's text echoed to a non-owner; ingest validators letting a trailing
newline through (``re.match`` with ``$``)."""

from __future__ import annotations

import asyncio
import time
import io
import tracemalloc
import zipfile

import httpx
import openpyxl
import orjson
import pytest

from hub.errors import BadUserInput
from hub.sync import xlsx
from tests.support.database import empty_database
from tests.support.helpers import sql, sql_value
from tests.support.live import free_port, stop_served
from tests.support.sync import hub_client, scratch
from tests.support.workers import metric_samples, serve_two_workers, wait_for, workers

COLUMNS = ["source_id", "title"]


def _bomb_workbook(megabytes: int) -> bytes:
    """A valid workbook whose one inline-string cell (B2) holds ``megabytes`` MB of text: deflate shrinks it
    ~1000 times, so the body is far under any body limit."""
    wb = openpyxl.Workbook()
    buffer = io.BytesIO()
    wb.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                target.writestr(item, source.read(item))
                continue
            with target.open(item.filename, "w") as sheet:
                sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>'
                            '<row r="1"><c r="A1" t="inlineStr"><is><t>source_id</t></is></c>'
                            '<c r="B1" t="inlineStr"><is><t>title</t></is></c></row>'
                            '<row r="2"><c r="A2" t="inlineStr"><is><t>BOMB-1</t></is></c>'
                            '<c r="B2" t="inlineStr"><is><t>'.encode())
                block = b"A" * (1 << 20)
                for _ in range(megabytes):
                    sheet.write(block)
                sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def test_an_xlsx_zip_bomb_cell_is_not_read_into_memory() -> None:
    """Finding: the shared-strings table is capped (MAX_SHARED_STRINGS), but an inline string (or a formula's
    cached string) inside the sheet XML is not: openpyxl's iterparse builds the whole element text, then
    ``_record`` copies it into ``values`` and again into ``raw``. A body of ~64 KB (far under the ingest body
    limit, 2 GB by default) makes the hub hold 64 MB several times over; a 2 MB body, 2 GB: one consumer with
    ingest rights on its own dataset can run a worker out of memory. Excel cells hold at most 32,767
    characters, so a longer text should be refused (BAD_USER_INPUT) without being built."""
    megabytes = 64
    data = _bomb_workbook(megabytes)
    assert len(data) < 256 * 1024, len(data)  # a small upload

    async def read() -> None:
        async def chunks():
            for start in range(0, len(data), 1 << 16):
                yield data[start:start + (1 << 16)]
        async for _batch in xlsx.xlsx_records(chunks(), COLUMNS, ["source_id"]):
            pass

    tracemalloc.start()
    refused = None
    try:
        try:
            asyncio.run(read())
        except BadUserInput as exc:
            refused = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"reading a {len(data):,}-byte workbook peaked at {peak:,} bytes"
    assert refused is not None, "a cell longer than a spreadsheet cell (32,767 characters) was accepted"


# --- a non-owner's ingest report --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def attack_db(server_url, settings):
    return scratch(server_url, settings, "hub_test_attack17", ingest_max_body_bytes=1_000_000)


def _post(s, token, data: bytes, content_type: str, dataset: str):
    async def go():
        async with hub_client(s, token) as client:
            return await client.post(f"/ingest/{dataset}", content=data, headers={"content-type": content_type})
    return asyncio.run(go())


def test_an_error_cell_in_a_personal_column_is_not_echoed_to_a_non_owner(attack_db) -> None:
    """Finding: a cell of type error (``t="e"``) may hold any text, and ``cell_text`` puts it in the reason
    ("phone: holds the error value 13900000071"). The raw row is masked for a non-owner (hub.sync.report_view),
    but the reason is not, and hub.sync.report_view promises "the reasons never repeat a personal value" (the
    18-digit number case is refused without echoing it for that reason). Fix: name the cell's error only when
    it is one of the spreadsheet error values (#DIV/0!, #N/A, #NAME?, #NULL!, #NUM!, #REF!, #VALUE!,
    #GETTING_DATA), else say "holds an error value" without the text."""
    s, tokens = attack_db
    template = orjson.loads(sql_value(s.database_url, "select (to_jsonb(t) - 'id' - 'source_id')::text "
                                                      "from labor.job_seekers t order by id limit 1"))
    person = {**template, "source_id": "XE-1", "phone": "13900000077"}
    wb = openpyxl.Workbook()
    wb.active.append(list(person))
    wb.active.append(list(person.values()))
    column = list(person).index("phone") + 1
    cell = wb.active.cell(row=2, column=column)
    cell.data_type = "e"  # written as <c t="e"><v>13900000077</v></c>
    buffer = io.BytesIO()
    wb.save(buffer)
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    admin = _post(s, tokens["admin"], buffer.getvalue(), xlsx_type, "labor.job_seekers")
    assert admin.status_code == 200 and admin.json()["rejected"] == 1, admin.text
    assert "13900000077" not in admin.text, admin.json()["rejectedRows"]


# --- /metrics with several workers ----------------------------------------------------------------------

def test_the_operation_label_cap_holds_for_the_host_not_per_worker(server_url, tmp_path) -> None:
    """Finding: HUB_METRICS_MAX_OPERATIONS caps the client-chosen ``operation`` label values per worker
    (``OperationLabels`` is per process), while multiprocess mode keeps every worker's series, also those of
    workers that exited. With N workers the public /metrics holds N times the cap, and every worker that is
    replaced (killed, crashed — e.g. by the .xlsx memory finding above) adds the cap again: the number of series
    a client creates is no longer bounded. Fix: keep the set of admitted names in the shared folder (e.g. a
    small file under a lock, like hub.http.rate_table) or cap at merge time in ``exposition`` (fold names beyond
    the cap into ``other``)."""
    cap = 3
    settings, tokens = empty_database(server_url, "hub_test_attack17_metrics")
    port = free_port()
    data_dir, log = tmp_path / "data", tmp_path / "hub.log"
    proc = serve_two_workers(settings, data_dir, log, port, METRICS_MAX_OPERATIONS=str(cap))
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {tokens['labor']}"}

    def flood(prefix: str) -> None:
        for n in range(40):  # a connection per request: both workers get some
            with httpx.Client(base_url=base, timeout=30) as http:
                http.post("/graphql", json={"query": f"query {prefix}{n} {{ __typename }}"}, headers=headers)

    def names() -> set[str]:
        with httpx.Client(base_url=base, timeout=30) as http:
            samples = metric_samples(http.get("/metrics").text)
        return {s.labels["operation"] for s in samples
                if s.name == "hub_requests_total" and s.labels.get("operation", "").startswith("query Probe")}

    try:
        wait_for(log, "Application startup complete", 2, proc)
        flood("ProbeA")
        workers(proc)[0].kill()
        wait_for(log, "Application startup complete", 3, proc)
        flood("ProbeB")
        time.sleep(1)
        seen = names()
        assert len(seen) <= cap, f"{len(seen)} client-chosen operation labels with a cap of {cap}: {sorted(seen)}"
    finally:
        stop_served(proc)


# --- validation and storage disagree ---------------------------------------------------------------------

def test_a_code_with_a_trailing_newline_is_rejected_by_validation_not_by_the_database(attack_db) -> None:
    """Finding: the ingest validators match ``^...$`` with ``re.match``, and Python's ``$`` also matches before a
    trailing newline, so ``"440106\\n"`` (a quoted CSV field, an .xlsx cell, a JSON string) passes the district
    check; only the database's check constraint (PostgreSQL's ``$`` is the end of the text) refuses it, and the
    report contradicts itself: the row is rejected by the database and warned about as "applied". A column
    whose database check differs from the hub's would store the value. Fix: ``fullmatch``."""
    s, tokens = attack_db
    row = orjson.loads(sql_value(s.database_url, "select (to_jsonb(t) - 'id')::text from labor.job_postings t "
                                                 "order by id limit 1"))
    bad = {**row, "source_id": "NL-2", "district_code": "440106\n"}
    response = _post(s, tokens["labor"], orjson.dumps(bad, default=str), "application/x-ndjson",
                     "labor.job_postings")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rejected"] == 1 and report["warnings"] == 0, report
    assert report["rejectedRows"][0]["field"] == "district_code", report["rejectedRows"]


def _shared_strings_workbook(count: int) -> bytes:
    """A workbook whose shared-strings table holds ``count`` short distinct strings (A1 the first)."""
    wb = openpyxl.Workbook()
    buffer = io.BytesIO()
    wb.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rIdSS" Type="{rel}" '
                                    'Target="sharedStrings.xml"/></Relationships>'.encode())
            elif item.filename == "xl/worksheets/sheet1.xml":
                data = (f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
                        '</sheetData></worksheet>').encode()
            target.writestr(item, data)
        with target.open("xl/sharedStrings.xml", "w") as strings:
            strings.write(f'<sst xmlns="{ns}"><si><t>source_id</t></si>'.encode())
            for i in range(count):
                strings.write(b"<si><t>%d</t></si>" % i)
            strings.write(b"</sst>")
    return out.getvalue()


def test_the_shared_strings_cap_bounds_the_memory_it_costs() -> None:
    """Finding: MAX_SHARED_STRINGS caps the table's uncompressed XML at 256 MiB, and docs/sync.md says that is
    what is held; openpyxl keeps one Python string per entry, ~6.6 times the XML for short strings: the cap
    lets one upload of a few MB hold ~1.7 GB. Fix: cap the number of entries too (or lower the byte cap to
    what the memory budget allows divided by the measured factor)."""
    data = _shared_strings_workbook(1_000_000)
    size = next(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()
                if i.filename == "xl/sharedStrings.xml")

    async def read() -> None:
        async def chunks():
            yield data
        async for _batch in xlsx.xlsx_records(chunks(), ["source_id"], ["source_id"]):
            pass

    tracemalloc.start()
    try:
        try:
            asyncio.run(read())
        except BadUserInput:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # what the cap promises, with room for the rest of the reading
    assert peak < 2 * size, f"{size:,} bytes of shared strings held {peak:,} bytes ({peak / size:.1f}x)"


# --- the draft page without a token ---------------------------------------------------------------------

def test_the_draft_page_does_not_tell_a_browser_to_send_its_token_to_the_request_host(client, settings) -> None:
    """Finding (low): the page a browser gets for a draft without a token prints
    ``curl -H "Authorization: Bearer <token>" "{base_url}/reports/YEAR?draft=1"`` with ``base_url`` built from the
    request's Host header, which the hub does not check (no trusted-hosts list). Whoever controls the Host a
    reader's request carries (a proxy forwarding it as sent, a poisoned shared cache, DNS rebinding) makes the
    hub's own page tell the reader to send a consumer token to another host. Fix: print the path only (or a
    configured public URL, like hub report's --hub-url/HUB_URL), or add Starlette's TrustedHostMiddleware."""
    years = {r["year"] for r in sql(settings.database_url, "select distinct year from hub.stat_publications")}
    year = next(y for y in (2025, 2024, 2023, 2022, 2030) if y not in years)
    r = client.get(f"/reports/{year}", headers={"Authorization": "", "accept": "text/html",
                                                "host": "tokens.attacker.example"})
    assert r.status_code == 401 and f"hub report {year} --draft" in r.text, r.text
    assert "attacker.example" not in r.text, [line for line in r.text.splitlines() if "attacker" in line]


def test_a_malformed_number_cell_is_not_echoed_to_a_non_owner(attack_db) -> None:
    """Finding: a cell without a type (a number) whose ``<v>`` is not a number makes openpyxl raise ValueError
    while the sheet is read; ``_guarded`` turns it into BAD_USER_INPUT quoting the exception, which quotes the
    cell ("could not convert string to float: '13900000077 ...'"). The admin ingesting into labor's seekers
    gets the phone number in clear, and the whole upload fails for one cell. Fix: do not put the exception's
    text into the message for ValueError/TypeError (name the sheet row instead), or parse the cell values
    ourselves per row so such a cell rejects only its row."""
    s, tokens = attack_db
    template = orjson.loads(sql_value(s.database_url, "select (to_jsonb(t) - 'id' - 'source_id' - 'phone')::text "
                                                      "from labor.job_seekers t order by id limit 1"))
    names = "".join(f'<c t="inlineStr"><is><t>{k}</t></is></c>' for k in template)
    values = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in template.values())
    wb = openpyxl.Workbook()
    buffer = io.BytesIO()
    wb.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = (f'<worksheet xmlns="{ns}"><sheetData><row r="1">'
                        '<c t="inlineStr"><is><t>source_id</t></is></c>'
                        f'<c t="inlineStr"><is><t>phone</t></is></c>{names}</row><row r="2">'
                        '<c t="inlineStr"><is><t>XN-1</t></is></c><c><v>13900000078 (mobile)</v></c>'
                        f'{values}</row></sheetData></worksheet>').encode()
            target.writestr(item, data)
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    admin = _post(s, tokens["admin"], out.getvalue(), xlsx_type, "labor.job_seekers")
    assert admin.status_code in (200, 400), admin.text
    assert "13900000078" not in admin.text, admin.text
