"""The annual report page in a real browser: headless Chromium (Debian package ``chromium``, installed by
``make test``) loads ``/reports/{year}`` from a hub served by uvicorn on 127.0.0.1, through the DevTools
protocol (which also sends the bearer token the draft needs), and must draw its SVG charts with no console
error, their titles and axis titles visible, as wide as the page. Printed to PDF (what the browser's "Save as
PDF" does) it must be a clean A4 document. Screenshots and the PDF are written to pytest's temporary directory
(never into the repository)."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path
from typing import Any


from tests.support.browser import browser, hub_url, open_page  # noqa: F401 - fixtures


CHECK = """JSON.stringify({
  title: document.title,
  lang: document.documentElement.lang,
  charts: Array.from(document.querySelectorAll('svg.chart')).map(s => [s.id, s.getBoundingClientRect().width]),
  pageWidth: (m => m.clientWidth - parseFloat(getComputedStyle(m).paddingLeft)
                   - parseFloat(getComputedStyle(m).paddingRight))(document.querySelector('main')),
  captions: Array.from(document.querySelectorAll('figure.chart-figure')).map(f => [
    f.querySelector('svg.chart').id, f.querySelector('figcaption').innerText,
    f.querySelector('figcaption').getBoundingClientRect().height]),
  axisTitles: Array.from(document.querySelectorAll('svg.chart')).map(s => [s.id,
    Array.from(s.querySelectorAll('text.axis-title')).map(t => [t.textContent, ((a, b) =>
      a.width > 0 && a.height > 0 && a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1
      && a.bottom <= b.bottom + 1)(t.getBoundingClientRect(), s.getBoundingClientRect())])]),
  coverage: (e => e && e.innerText)(document.getElementById('coverage')),
  lines: document.querySelectorAll('#chart-quarterly-ratio polyline.series').length,
  points: document.querySelectorAll('#chart-quarterly-ratio circle').length,
  bars: document.querySelectorAll('#chart-shortage rect.bar').length,
  skillBars: document.querySelectorAll('#chart-skill-level rect.bar').length,
  districtBars: document.querySelectorAll('#chart-district rect.bar').length,
  status: document.getElementById('status').className,
  rows: document.querySelectorAll('#shortage tbody tr').length
})"""


def _load(browser: str, url: str, token: str | None) -> tuple[dict[str, Any], list[str], bytes]:
    page = open_page(browser)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        if token:
            page.send("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {token}"}})
        page.events.clear()
        page.send("Page.navigate", {"url": url})
        page.wait_for("Page.loadEventFired")
        result = page.send("Runtime.evaluate", {"expression": CHECK, "returnByValue": True})
        shot = page.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        time.sleep(0.2)  # late console messages
        try:
            page.send("Runtime.evaluate", {"expression": "1"})
        finally:
            errors = page.errors()
        return json.loads(result["result"]["value"]), errors, base64.b64decode(shot["data"])
    finally:
        page.close()


def test_report_page_renders_its_charts_in_chromium(browser: str, hub_url: str, tokens: dict[str, str],
                                                    tmp_path: Path) -> None:
    seen, errors, png = _load(browser, f"{hub_url}/reports/2025", tokens["commerce"])
    assert errors == []
    assert seen["title"] == "2025年度技能人才供求信息报告" and seen["lang"] == "zh-CN"
    assert [c[0] for c in seen["charts"]] == ["chart-quarterly-ratio", "chart-shortage", "chart-skill-level",
                                             "chart-district"]
    # every chart as wide as the page's text, its title above it and its axes named, all visible
    assert all(width >= seen["pageWidth"] - 1 > 900 for _, width in seen["charts"]), seen
    assert seen["captions"] == [
        ["chart-quarterly-ratio", "2025年各季度求人倍率", seen["captions"][0][2]],
        ["chart-shortage", "紧缺职业前20名：全年缺口（需求−求职）", seen["captions"][1][2]],
        ["chart-skill-level", "各技能等级求人倍率", seen["captions"][2][2]],
        ["chart-district", "各区求人倍率", seen["captions"][3][2]]]
    assert all(height > 10 for *_, height in seen["captions"])
    axes = {chart: [text for text, _ in titles] for chart, titles in seen["axisTitles"]}
    assert axes == {"chart-quarterly-ratio": ["求人倍率（需求人数 ÷ 求职人数）", "季度"],
                    "chart-shortage": ["缺口（人）", "职业（工种）"],
                    "chart-skill-level": ["求人倍率（需求人数 ÷ 求职人数）", "技能等级"],
                    "chart-district": ["求人倍率（需求人数 ÷ 求职人数）", "区"]}
    assert all(inside for _, titles in seen["axisTitles"] for _, inside in titles), seen["axisTitles"]  # not clipped
    assert seen["lines"] == 2 and seen["points"] >= 4  # this year and last year, per quarter
    assert 1 <= seen["bars"] <= 20 and seen["rows"] == min(20, seen["rows"]) > 0
    assert seen["skillBars"] >= 5 and seen["districtBars"] >= 10
    assert seen["status"] == "banner draft"
    shot = tmp_path / "report-2025.png"
    shot.write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    print(f"screenshot: {shot}")


def test_english_report_page_in_chromium(browser: str, hub_url: str, tokens: dict[str, str]) -> None:
    seen, errors, _ = _load(browser, f"{hub_url}/reports/2024?lang=en", tokens["labor"])
    assert errors == []
    assert seen["title"] == "Skilled-talent supply and demand report 2024" and seen["lang"] == "en"
    assert len(seen["charts"]) == 4 and seen["bars"] >= 1
    assert [c[1] for c in seen["captions"]] == ["Job-to-applicant ratio per quarter, 2024",
                                               "Top 20 shortage occupations: annual gap (demand − supply)",
                                               "Job-to-applicant ratio by skill level",
                                               "Job-to-applicant ratio by district"]
    assert [t for _, titles in seen["axisTitles"] for t, _ in titles] == [
        "Job-to-applicant ratio (demand ÷ supply)", "Quarter", "Gap (persons)", "Occupation",
        "Job-to-applicant ratio (demand ÷ supply)", "Skill level", "Job-to-applicant ratio (demand ÷ supply)",
        "District"]


A4 = (595.28, 841.89)  # points


def _print(browser: str, url: str, token: str) -> bytes:
    """The page as Chromium prints it to PDF, with the page's own @page size and margins (as "Save as PDF")."""
    page = open_page(browser)
    try:
        page.send("Page.enable")
        page.send("Network.enable")
        page.send("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {token}"}})
        page.events.clear()
        page.send("Page.navigate", {"url": url})
        page.wait_for("Page.loadEventFired")
        printed = page.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}, timeout=120)
        return base64.b64decode(printed["data"])
    finally:
        page.close()


def test_the_printed_report_is_a_clean_a4_document(browser: str, hub_url: str, tokens: dict[str, str],
                                                   tmp_path: Path) -> None:
    from pypdf import PdfReader

    pdf = _print(browser, f"{hub_url}/reports/2024?lang=en", tokens["labor"])
    (tmp_path / "report-2024-en.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert 3 <= len(reader.pages) <= 30, len(reader.pages)  # seven sections, charts and tables: a few pages
    for number, p in enumerate(reader.pages, 1):
        size = (float(p.mediabox.width), float(p.mediabox.height))
        assert abs(size[0] - A4[0]) < 2 and abs(size[1] - A4[1]) < 2, (number, size)  # not Letter (612 x 792)
    text = " ".join(p.extract_text() for p in reader.pages)
    flat = " ".join(text.split())
    assert "Skilled-talent supply and demand report 2024" in flat
    for caption in ("Job-to-applicant ratio per quarter, 2024", "Job-to-applicant ratio by district",
                    "Job-to-applicant ratio (demand ÷ supply)", "Gap (persons)"):
        assert caption in flat, caption
    first = " ".join(reader.pages[0].extract_text().split())
    assert "CSV" not in first and "中文" not in first  # no navigation on paper
    # a table split over pages repeats its header: the major-industry match tables (about a hundred rows of demo
    # data) run over several pages, and every page with one of their rows starts them with the header
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    with_rows = [i for i, t in enumerate(pages) if re.search(r"\b(Oversupplied|Balanced|Undersupplied)\b", t)]
    assert len(with_rows) >= 2, with_rows
    assert all("District Code Major Industries Graduates" in pages[i] for i in with_rows), with_rows


def test_draft_without_a_token_is_refused_in_chromium(browser: str, hub_url: str) -> None:
    page = open_page(browser)
    try:
        page.send("Page.enable")
        page.send("Network.enable")
        page.send("Network.setExtraHTTPHeaders", {"headers": {}})
        page.send("Page.navigate", {"url": f"{hub_url}/reports/2025"})
        page.wait_for("Page.loadEventFired")
        status = [e["params"]["response"]["status"] for e in page.events
                  if e.get("method") == "Network.responseReceived" and e["params"]["type"] == "Document"]
        assert status == [401]
    finally:
        page.close()
