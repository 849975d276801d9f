"""The text encodings CSV ingest reads — one rule for ``POST /ingest`` (``charset=``) and ``hub ingest``.

UTF-8 (the default; ASCII is UTF-8), and GB18030 with its subsets GBK and GB2312 — what Excel in a
Chinese-locale office saves CSV as. GBK and GB2312 files are decoded with the gb18030 codec: for every byte
pair Python's gbk codec decodes, gb18030 gives the same character, so one codec serves all three.
NDJSON is always UTF-8 (JSON is, RFC 8259); an .xlsx workbook carries its own encoding.
"""

from __future__ import annotations

import codecs
from pathlib import Path

CSV_CHARSETS = ("utf-8", "gb18030", "gbk", "gb2312")  # what is accepted (and listed in the error for others)
# codec name (codecs.lookup(...).name) of an accepted charset -> the codec its CSV records are decoded with
_CODECS = {"utf-8": "utf-8", "ascii": "utf-8", "gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030"}


def csv_codec(charset: str | None) -> str | None:
    """The codec for a CSV body in ``charset`` (None/empty: UTF-8), or None for a charset ingest does not read."""
    if not charset:
        return "utf-8"
    try:
        name = codecs.lookup(charset.strip().strip('"')).name  # aliases: utf8, UTF-8, cp936 (gbk), ...
    except LookupError:
        return None
    return _CODECS.get(name)


def label(codec: str) -> str:
    return "UTF-8" if codec == "utf-8" else codec.upper()


def decodes_as(path: Path, codec: str) -> bool:
    """Whether the whole file decodes in ``codec`` (read in blocks; a character split across blocks is fine)."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_csv_codec(path: Path) -> str | None:
    """"utf-8" when the file is UTF-8, else "gb18030" when it decodes as GB18030, else None (neither)."""
    return next((codec for codec in ("utf-8", "gb18030") if decodes_as(path, codec)), None)
