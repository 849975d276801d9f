"""Streaming NDJSON and CSV parsing for ingest: bytes chunks in, records out, never the whole body in memory.

A record is ``(line, obj, raw, error)``: ``line`` is the 1-based line of the file where the record starts
(NDJSON: its line; CSV: the header is line 1, and a record whose quoted field spans lines has the number of
its first line), ``obj`` the field dict (keys in snake_case; camelCase is accepted and converted),
``raw`` the input bytes or text (kept for the rejects table: ``raw_text``) and ``error`` a reason when the
record cannot be read at all.
Blank lines are skipped (their numbers still count). A request-level problem (a CSV header naming unknown
columns, a line longer than ``max_line`` bytes) raises BAD_USER_INPUT.

CSV is UTF-8 unless the request names another charset (``hub.sync.charsets``: GB18030, GBK, GB2312). Records
are split on the bytes and decoded once complete, so a character split across chunks is read whole. That is
sound for these encodings because every byte of a multi-byte GB18030 character is >= 0x30: a newline, carriage
return, quote or comma byte is always that character (which is why no incremental decoder is needed here). A
record that does not decode is rejected on its own, like any unreadable record.
"""

from __future__ import annotations

import csv
import functools
from typing import Any, AsyncIterator, Iterable

import orjson

from hub.errors import BadUserInput
from hub.sync.charsets import label

Record = tuple[int, "dict[str, Any] | None", "bytes | str", "str | None"]
RAW_LIMIT = 2000
MAX_LINE = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@functools.lru_cache(maxsize=4096)
def snake(name: str) -> str:
    """``enterpriseUscc`` -> ``enterprise_uscc`` (snake_case names are returned unchanged)."""
    name = name.strip()
    if name.islower() or not any(c.isupper() for c in name):
        return name
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def raw_text(raw: bytes | str) -> str:
    """The first RAW_LIMIT characters of a record's input."""
    if isinstance(raw, bytes):
        raw = raw[:RAW_LIMIT * 4].decode("utf-8", errors="replace")
    return raw[:RAW_LIMIT]


async def _lines(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[list[bytes]]:
    """Complete lines (without their line break), a list per chunk; the last line may lack a break."""
    buffer = b""
    first = True
    async for chunk in chunks:
        if not chunk:
            continue
        buffer += chunk
        if first:  # a UTF-8 byte order mark, possibly split across the first chunks
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                continue
            first = False
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM):]
        end = buffer.rfind(b"\n")
        if end < 0:
            if len(buffer) > max_line:
                raise BadUserInput(f"a line is longer than {max_line} bytes")
            continue
        lines = buffer[:end].split(b"\n")
        buffer = buffer[end + 1:]
        if len(buffer) > max_line:
            raise BadUserInput(f"a line is longer than {max_line} bytes")
        yield [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if buffer.strip():
        yield [buffer[:-1] if buffer.endswith(b"\r") else buffer]


async def ndjson_records(chunks: AsyncIterator[bytes], max_line: int = MAX_LINE) -> AsyncIterator[list[Record]]:
    """One JSON object per line."""
    number = 0
    loads = orjson.loads
    async for lines in _lines(chunks, max_line):
        out: list[Record] = []
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                obj = loads(line)
            except orjson.JSONDecodeError as exc:
                out.append((number, None, line, f"not valid JSON: {exc}"))
                continue
            if not isinstance(obj, dict):
                out.append((number, None, line, "not a JSON object"))
                continue
            if not all(map(str.islower, obj)):  # camelCase keys (or keys without letters)
                obj = {snake(k): val for k, val in obj.items()}
            out.append((number, obj, line, None))
        if out:
            yield out


def objects_records(objects: Iterable[Any]) -> list[Record]:
    """Records from already-decoded objects (the GraphQL ``ingest`` mutation's ``rows``)."""
    out: list[Record] = []
    for number, obj in enumerate(objects, start=1):
        if not isinstance(obj, dict):
            out.append((number, None, orjson.dumps(obj).decode(), "not an object"))
        else:
            out.append((number, {snake(str(k)): val for k, val in obj.items()}, orjson.dumps(obj).decode(), None))
    return out


def check_header(header: list[str], allowed: Iterable[str], required: Iterable[str],
                 source: str = "CSV") -> list[str]:
    names = [snake(h) for h in header]
    allowed = set(allowed)
    unknown = [h for h in names if h not in allowed]
    if unknown:
        raise BadUserInput(f"the {source} header names unknown column(s) {', '.join(unknown)}; "
                           f"expected some of {', '.join(sorted(allowed))}")
    duplicated = sorted({h for h in names if names.count(h) > 1})
    if duplicated:
        raise BadUserInput(f"the {source} header repeats {', '.join(duplicated)}")
    missing = [r for r in required if r not in names]
    if missing:
        raise BadUserInput(f"the {source} header lacks required column(s) {', '.join(missing)}")
    return names


async def csv_records(chunks: AsyncIterator[bytes], allowed: Iterable[str], required: Iterable[str],
                      max_line: int = MAX_LINE, codec: str = "utf-8") -> AsyncIterator[list[Record]]:
    """RFC 4180 CSV with a header record; a quoted field may span lines; empty fields are null. ``codec``:
    from ``csv_codec``."""
    header: list[str] | None = None
    physical = 0  # lines read so far
    start = 1  # the line the pending record starts on
    pending: list[bytes] = []
    quotes = 0
    async for lines in _lines(chunks, max_line):
        complete: list[tuple[int, bytes]] = []
        for line in lines:
            physical += 1
            if not pending:
                start = physical
            pending.append(line)
            quotes += line.count(b'"')
            if quotes % 2:  # inside a quoted field: the record continues on the next line
                if sum(map(len, pending)) > max_line:
                    raise BadUserInput(f"a CSV record is longer than {max_line} bytes (unbalanced quote?)")
                continue
            complete.append((start, b"\n".join(pending)))
            pending, quotes = [], 0
        if header is None:
            while complete and header is None:
                _start, record = complete.pop(0)
                if not record.strip():
                    continue
                try:
                    text = record.decode(codec)
                    header = check_header(next(csv.reader([text.lstrip("\ufeff")])), allowed, required)
                except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
                    raise BadUserInput(f"unreadable CSV header: {exc}") from None
        out = _csv_batch(complete, header, codec) if complete else []
        if out:
            yield out
    if pending:
        raise BadUserInput("the CSV ends inside a quoted field")
    if header is None:
        raise BadUserInput("the CSV is empty: a header record is required")


def _csv_batch(records: list[tuple[int, bytes]], header: list[str], codec: str) -> list[Record]:
    """Records ``(first line, bytes)``: one csv.reader over the batch; record by record only if that fails."""
    try:
        texts = [r.decode(codec) for _line, r in records]
        parsed = list(csv.reader(texts))
        if len(parsed) != len(records):
            raise csv.Error("record count mismatch")
    except (UnicodeDecodeError, csv.Error):
        return [r for line, record in records if (r := _csv_record(line, record, header, codec))]
    width = len(header)
    out: list[Record] = []
    # the rejects keep the input as text when it was not UTF-8 (raw_text reads UTF-8)
    raws = [r for _line, r in records] if codec == "utf-8" else texts
    for fields, (i, _bytes), record in zip(parsed, records, raws):
        if len(fields) == width:
            out.append((i, {h: (f if f != "" else None) for h, f in zip(header, fields)}, record, None))
        elif record.strip():
            out.append((i, None, record, f"has {len(fields)} fields; the header has {width}"))
    return out


def _csv_record(number: int, record: bytes, header: list[str], codec: str = "utf-8") -> Record | None:
    if not record.strip():
        return None
    try:
        text = record.decode(codec)
        fields = next(csv.reader([text]))
    except UnicodeDecodeError:
        return number, None, record.decode(codec, errors="replace"), f"not valid {label(codec)}"
    except csv.Error as exc:
        return number, None, record if codec == "utf-8" else text, f"unreadable CSV record: {exc}"
    raw = record if codec == "utf-8" else text
    if len(fields) != len(header):
        return number, None, raw, f"has {len(fields)} fields; the header has {len(header)}"
    return number, {h: (f if f != "" else None) for h, f in zip(header, fields)}, raw, None
