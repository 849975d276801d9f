"""Ingest records from an .xlsx workbook: its first sheet, the first non-blank row the header.

openpyxl reads a zip file, which needs seeking: the streamed body is spooled to a temporary file (the ingest
body limit applies to it as to any body: the body-size middleware counts the stream), then the sheet is read
with ``load_workbook(read_only=True, data_only=True)``, which streams the sheet's XML row by row: the cells
of a row are dropped once read, whatever the number of columns. What openpyxl does keep is the workbook's
shared-strings table (whole: its uncompressed size and its entries are capped, ``MAX_SHARED_STRINGS``,
``MAX_SHARED_STRING_ENTRIES``; no text run may be longer than a cell, ``_prescan``) and, per row read, the
emptied XML element of the row (under 0.1 KB: a sheet is capped at Excel's 1,048,576 rows, ``MAX_ROWS``).
Parsing runs in a worker thread, a batch of rows at a time, so the event loop keeps serving.

Cells become the text a CSV export would hold, so the same validation applies (``cell_text``):

* an empty cell is null; a string is taken as is; a boolean is ``true``/``false``;
* a number: an integer value without a decimal point (``12.0`` -> ``12``), padded with zeros when the cell's
  number format is all zeros (``000000``: shown with its leading zeros, as Excel exports it); other values in
  their shortest exact form. A code stored as a number has lost its leading zeros unless such a format shows
  them: the code checks then reject the row — store codes as text. An integer of more than 15 digits is refused
  (a spreadsheet keeps 15 significant digits: an 18-digit identity number typed as a number is already wrong);
* a date (a date-formatted cell) is ``YYYY-MM-DD``, with its time when it has one (ISO 8601);
* a formula cell contributes the value the spreadsheet cached when it last saved it, never the formula. A
  formula without a cached value (a file written by a program that does not calculate) reads as an empty
  cell: a required column then rejects the row; open and save such a file in a spreadsheet first;
* an error value (``#DIV/0!``, ``#N/A``, ...) rejects the row; the reason names only the standard error values
  (other text of an error cell is not echoed: the cell may be a PERSONAL field).

Line numbers are the sheet's row numbers (the header row is line 1 when it is the sheet's first row); blank rows
are skipped. A row with a value right of the header's last column is rejected. The input kept for a rejected
row (``raw``) is the row as a JSON object of the header's column names and the cells' text, so reports mask it
like an NDJSON line (``hub.sync.report_view``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import xml.parsers.expat
import zipfile
from typing import IO, Any, AsyncIterator, Iterable, Iterator

import orjson

from hub.errors import BadUserInput
from hub.sync.parse import Record, check_header

BATCH = 2000
MAX_SHARED_STRINGS = 256 * 1024 * 1024  # uncompressed bytes of xl/sharedStrings.xml (held in memory by openpyxl)
# openpyxl holds one Python string per shared string (~7x the XML of a short one): the entries are capped too, so
# the table costs at most some tens of MB whatever its XML
MAX_SHARED_STRING_ENTRIES = 200_000
MAX_CELL_TEXT = 32_767  # characters of an Excel cell: a longer text run in the XML is not a spreadsheet's
MAX_ROWS = 1_048_576  # rows of an Excel sheet: openpyxl keeps < 0.1 KB per row read (see above), so this bounds it
_EXACT_DIGITS = 15


class CellError(ValueError):
    """A cell whose value cannot be ingested (the row is rejected with this reason)."""


def cell_text(cell: Any) -> str | None:
    """The CSV text of an openpyxl read-only cell (None: empty)."""
    value = cell.value
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "e":
        from openpyxl.cell.cell import ERROR_CODES  # deferred import: start-up time (openpyxl: ~120 ms, for .xlsx only)

        if value in ERROR_CODES:
            raise CellError(f"holds the error value {value}")
        # any other text of an error cell is not echoed: the cell may be a PERSONAL field
        raise CellError("holds an error value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(abs(value))
        if len(text) > _EXACT_DIGITS:
            # not echoed: the cell may be a PERSONAL field (an identity number), and reasons reach other readers
            raise CellError(f"holds a number of {len(text)} digits, too long to be exact in a spreadsheet (it keeps "
                            "15 digits): store codes and long numbers as text")
        zeros = getattr(cell, "number_format", None) or ""
        if value >= 0 and zeros and set(zeros) == {"0"}:
            text = text.zfill(len(zeros))
        return text if value >= 0 else "-" + text
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)  # a duration ([h]:mm formats): its text


async def _spool(chunks: AsyncIterator[bytes], spool: IO[bytes]) -> None:
    # Small sequential writes to a local temporary file: done in the loop (the page cache absorbs them).
    async for chunk in chunks:
        spool.write(chunk)
    spool.flush()
    spool.seek(0)


def _open(spool: IO[bytes]) -> Any:
    from openpyxl import load_workbook  # deferred import: start-up time (openpyxl: ~120 ms, for .xlsx only)

    try:
        with zipfile.ZipFile(spool) as archive:
            strings = next((i for i in archive.infolist() if i.filename.lower() == "xl/sharedstrings.xml"), None)
            if strings is not None and strings.file_size > MAX_SHARED_STRINGS:
                raise BadUserInput(f"the workbook's shared strings are {strings.file_size:,} bytes uncompressed (at "
                                   f"most {MAX_SHARED_STRINGS:,} are read): send it as CSV")
            _prescan(archive)
        spool.seek(0)
        return load_workbook(spool, read_only=True, data_only=True)
    except BadUserInput:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile/openpyxl/XML errors of a malformed upload, of many kinds
        raise BadUserInput(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None


class _Refused(Exception):
    pass


def _prescan(archive: zipfile.ZipFile) -> None:
    """BadUserInput for what openpyxl would build in memory whole: a text run longer than a spreadsheet cell
    (a compressed run of megabytes inside one cell of the sheet XML: openpyxl's parser builds an element's whole
    text before it is read) or more than MAX_SHARED_STRING_ENTRIES shared strings; and for a DOCTYPE (entity
    tricks). Hand-written on the standard library's streaming expat parser because openpyxl has no such limits:
    it reads each part in 64 KB pieces and keeps only counters, so the scan costs no memory."""
    for info in archive.infolist():
        name = info.filename.lower()
        if not (name == "xl/sharedstrings.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml"))):
            continue
        parser = xml.parsers.expat.ParserCreate()
        state = {"run": 0, "entries": 0}

        def start(tag: str, _attrs: Any, state: dict = state) -> None:
            state["run"] = 0
            if tag.rpartition(":")[2] == "si":
                state["entries"] += 1
                if state["entries"] > MAX_SHARED_STRING_ENTRIES:
                    raise _Refused(f"the workbook has more than {MAX_SHARED_STRING_ENTRIES:,} shared strings: "
                                   f"send it as CSV")

        def end(_tag: str, state: dict = state) -> None:
            state["run"] = 0

        def text(data: str, state: dict = state) -> None:
            state["run"] += len(data)
            if state["run"] > MAX_CELL_TEXT:
                raise _Refused(f"the workbook holds a text longer than a spreadsheet cell ({MAX_CELL_TEXT:,} "
                               f"characters)")

        def doctype(*_args: Any) -> None:
            raise _Refused("the workbook's XML declares a DOCTYPE, which a spreadsheet does not write")

        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.CharacterDataHandler, parser.StartDoctypeDeclHandler = text, doctype
        try:
            with archive.open(info) as part:
                while piece := part.read(1 << 16):
                    parser.Parse(piece, False)
                parser.Parse(b"", True)
        except _Refused as refused:
            raise BadUserInput(str(refused)) from None


def _rows(workbook: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(sheet row number, cells) of the first sheet; trailing empty cells dropped. A row is at most 18,278 cells
    wide (openpyxl refuses columns past ZZZ)."""
    if not workbook.worksheets:
        return
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # do not trust the file's <dimension>: no padding of rows to a declared width
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        if number > MAX_ROWS:  # also ends a sparse sheet's run of filler rows (a row numbered 2,000,000,000)
            raise BadUserInput(f"the first sheet has more than {MAX_ROWS:,} rows, more than a spreadsheet holds")
        end = len(cells)
        while end and cells[end - 1].value in (None, ""):
            end -= 1
        yield number, cells[:end]


def _record(number: int, cells: tuple[Any, ...], header: list[str]) -> Record:
    width = len(header)
    # the row is trimmed, so its last cell holds a value: cells right of the header are not read one by one
    error = f"has a value in column {len(cells)}; the header has {width} columns" if len(cells) > width else None
    values: dict[str, Any] = {}
    for name, cell in zip(header, cells):
        try:
            values[name] = cell_text(cell)
        except CellError as exc:
            error = error or f"{name}: {exc}"
            values[name] = None
    raw = orjson.dumps(values).decode()
    return (number, None, raw, error) if error else (number, {h: values.get(h) for h in header}, raw, None)


def _batch(rows: Iterator[tuple[int, tuple[Any, ...]]], header: list[str]) -> list[Record]:
    out: list[Record] = []
    for number, cells in rows:
        if cells:
            out.append(_record(number, cells, header))
            if len(out) >= BATCH:
                break
    return out


def _header(rows: Iterator[tuple[int, tuple[Any, ...]]], allowed: Iterable[str],
            required: Iterable[str]) -> list[str]:
    for _number, cells in rows:
        if not cells:
            continue
        names = []
        for index, cell in enumerate(cells, start=1):
            text = cell_text(cell) if cell.data_type != "e" else None
            if text is None or not text.strip():
                raise BadUserInput(f"the sheet's header row has an empty column {index}")
            names.append(text)
        return check_header(names, allowed, required, source="sheet")
    raise BadUserInput("the first sheet is empty: a header row is required")


async def xlsx_records(chunks: AsyncIterator[bytes], allowed: Iterable[str],
                       required: Iterable[str]) -> AsyncIterator[list[Record]]:
    with tempfile.TemporaryFile(prefix="hub-ingest-", suffix=".xlsx") as spool:
        await _spool(chunks, spool)
        workbook = await asyncio.to_thread(_open, spool)
        try:
            rows = _rows(workbook)
            header = await asyncio.to_thread(_guarded, _header, rows, allowed, required)
            while batch := await asyncio.to_thread(_guarded, _batch, rows, header):
                yield batch
        finally:
            workbook.close()


def _guarded(function: Any, *args: Any) -> Any:
    """``function(*args)``; a malformed sheet (XML, zip or value errors inside openpyxl) is BAD_USER_INPUT."""
    try:
        return function(*args)
    except BadUserInput:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # a cell whose value does not parse as its type: the exception quotes the cell, which may be a PERSONAL
        # field (reasons never repeat a personal value: hub.sync.report_view)
        raise BadUserInput(f"the workbook's first sheet is unreadable ({type(exc).__name__}: a cell's value does "
                           "not match its type; its text is not repeated here)") from None
    except Exception as exc:  # noqa: BLE001 - errors of a malformed upload, of many kinds
        raise BadUserInput(f"the workbook's first sheet is unreadable ({type(exc).__name__}: {exc})") from None
