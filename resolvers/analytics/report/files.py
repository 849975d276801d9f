"""``hub report YEAR --out FILE``: the report written as files whose links work without the hub.

Beside ``FILE`` (an ``.html`` page in the chosen language) go the same report's page in the other language
(``NAME.en.html`` or ``NAME.zh.html``), its CSV (``NAME.csv``) and its JSON (``NAME.json``), all from the one
report that was read, so they show the same figures. The page links to them by their file names (relative
links: the folder can be moved, copied or served as it is). Other published versions of the year are not
written: with the hub's public URL (``--hub-url`` or ``HUB_URL``) the versions list links to them there,
without it they are listed as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from resolvers.analytics.report.build import as_csv
from resolvers.analytics.report.html import file_links, other_language, render

if TYPE_CHECKING:
    from resolvers.analytics.report.build import Report

PAGE_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class ReportFiles:
    """The files of one ``--out FILE``: the page, the other-language page, the CSV and the JSON."""

    page: Path
    other_page: Path
    csv: Path
    json: Path

    @classmethod
    def beside(cls, page: Path, lang: str) -> "ReportFiles":
        if page.suffix.lower() not in PAGE_SUFFIXES:
            raise ValueError(f"--out must name an .html file (the CSV and JSON are written beside it), not {page}")
        stem = page.name[: -len(page.suffix)]
        return cls(page, page.with_name(f"{stem}.{other_language(lang)}{page.suffix}"),
                   page.with_name(f"{stem}.csv"), page.with_name(f"{stem}.json"))

    def all(self) -> list[Path]:
        return [self.page, self.other_page, self.csv, self.json]


def write(report: "Report", files: ReportFiles, lang: str, hub_url: str | None = None) -> list[tuple[Path, int]]:
    """Write the four files; returns each path with its size in bytes."""
    other = other_language(lang)
    pages = {
        files.page: render(report, lang, file_links(report, lang, own=files.page.name,
                                                    other_language_page=files.other_page.name,
                                                    csv=files.csv.name, json=files.json.name, hub_url=hub_url)),
        files.other_page: render(report, other, file_links(report, other, own=files.other_page.name,
                                                           other_language_page=files.page.name,
                                                           csv=files.csv.name, json=files.json.name,
                                                           hub_url=hub_url)),
    }
    contents: dict[Path, bytes] = {path: html.encode() for path, html in pages.items()}
    contents[files.csv] = as_csv(report).encode()
    contents[files.json] = orjson.dumps(report.as_document())  # as GET /reports/{year}.json answers it
    for path, data in contents.items():
        path.write_bytes(data)
    return [(path, len(contents[path])) for path in files.all()]
