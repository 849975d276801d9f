"""The hub in a browser: GraphiQL fetches the schema again by itself once a token is pasted (hub-graphiql.js);
``GET /`` is a landing page; a report draft opened without a token is a readable page, not raw JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from html.parser import HTMLParser

import pytest

from hub.api.graphiql import GRAPHIQL_DIR
from tests.support.helpers import sql
# The headless Chromium (skipped when missing) and the live hub of the report page's browser test.
from tests.support.browser import browser, hub_url, open_page  # noqa: F401 - fixtures

# --- the re-fetch wiring of hub-graphiql.js, in node (no browser needed) ----------------------------------

_NODE_HARNESS = r"""
const fs = require('fs'), vm = require('vm');
const src = fs.readFileSync(process.argv[1], 'utf8');
const attrs = {'data-endpoint': '/graphql', 'data-persist-headers': 'true'};
const root = { getAttribute: n => (n in attrs ? attrs[n] : null), setAttribute: (n, v) => { attrs[n] = v; },
               textContent: '', appendChild() {} };
const renders = [];
const ctx = {
  document: { readyState: 'complete', getElementById: id => (id === 'graphiql' ? root : null),
              addEventListener() {}, createElement: () => ({ setAttribute() {} }) },
  location: { search: '', hash: '' },
  Headers, URLSearchParams, JSON, Object, String, Number, Promise, Error, Array, setTimeout, clearTimeout,
  fetch: async () => ({ status: 200, statusText: 'OK', text: async () => '{"data":{"__schema":{}}}' }),
  React: { createElement: (component, p) => ({ component, p }) },
  ReactDOM: { createRoot: () => ({ render: el => { renders.push(el.p); } }) },
  GraphiQL: function GraphiQL() {},
};
ctx.window = ctx;
vm.createContext(ctx);
vm.runInContext(src, ctx);
const sleep = ms => new Promise(r => setTimeout(r, ms));
(async () => {
  const steps = [];
  const edit = async (text, wait) => { renders[renders.length - 1].onEditHeaders(text); await sleep(wait); };
  steps.push(renders.length);                                   // 1: the first render
  await edit('{"Authorization": "Bearer ', 50);                 // typing: invalid JSON, nothing
  await edit('{"Authorization": "Bearer t0k3n"}', 600);         // valid and new: one re-render
  steps.push(renders.length);
  await edit('{ "Authorization":"Bearer t0k3n" }', 600);        // the same headers: nothing
  steps.push(renders.length);
  await edit('{"Authorization": "Bearer a"}', 100);             // quick edits settle into one re-render
  await edit('{"Authorization": "Bearer ab"}', 600);
  steps.push(renders.length);
  const fetchers = new Set(renders.map(p => p.fetcher));
  await renders[renders.length - 1].fetcher({ query: 'query IntrospectionQuery { __schema { queryType { name } } }',
                                             operationName: 'IntrospectionQuery' }, {});
  console.log(JSON.stringify({ steps, fetchers: fetchers.size, introspections: attrs['data-introspections'] }));
})().catch(e => { console.error(e); process.exit(1); });
"""


def test_a_headers_edit_renders_graphiql_again_with_a_new_fetcher() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    proc = subprocess.run([node, "-e", _NODE_HARNESS, str(GRAPHIQL_DIR / "hub-graphiql.js")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # GraphiQL 3.9 introspects again when its fetcher prop changes: one new fetcher per settled, changed edit.
    assert out == {"steps": [1, 2, 2, 3], "fetchers": 3, "introspections": "1"}


# --- GraphiQL in Chromium ---------------------------------------------------------------------------------

def _evaluate(page, expression: str):
    result = page.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
    return result["result"].get("value")


def _wait(page, expression: str, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        value = _evaluate(page, expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}; page: " + str(
            _evaluate(page, "document.body.innerText.slice(0, 2000)"))
        time.sleep(0.2)


DOCS_TEXT = """(() => {
  const button = document.querySelector('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]');
  if (button) button.click();
  const docs = document.querySelector('.graphiql-doc-explorer');
  return docs ? docs.innerText : '';
})()"""

HEADERS_EDITOR = "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')"


def test_graphiql_loads_the_schema_once_a_token_is_pasted(browser: str, hub_url: str,  # noqa: F811
                                                          tokens: dict[str, str]) -> None:
    page = open_page(browser)
    try:
        for domain in ("Page", "Runtime"):
            page.send(f"{domain}.enable")
        page.send("Page.navigate", {"url": f"{hub_url}/graphql"})
        page.wait_for("Page.loadEventFired")
        _evaluate(page, "localStorage.clear()")  # no headers kept from an earlier visit
        page.send("Page.reload")
        count = "Number(document.getElementById('graphiql').getAttribute('data-introspections') || 0)"
        _wait(page, f"{count} >= 1 && !!document.querySelector('.graphiql-sidebar')", "the first schema fetch")
        time.sleep(0.5)
        before = _evaluate(page, count)
        # Without a token the introspection was refused: the Docs have no schema.
        assert "Query" not in _evaluate(page, DOCS_TEXT)
        # Paste the token into the Headers editor (CodeMirror: a change event, as a paste makes).
        header = json.dumps({"Authorization": f"Bearer {tokens['labor']}"})
        _evaluate(page, f"({HEADERS_EDITOR}).CodeMirror.setValue({json.dumps(header)})")
        _wait(page, f"{count} > {before}", "a schema fetch after the token was pasted", timeout=10)
        docs = _wait(page, f"(() => {{ const t = {DOCS_TEXT}; return t.includes('Query') ? t : ''; }})()",
                     "the Docs to show the schema")
        assert "query" in docs.lower()
        # Autocomplete has the schema too: the query editor's hint for a root field.
        _evaluate(page, """(() => { const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
            cm.setValue('{ occupa'); cm.setCursor({line: 0, ch: 8}); cm.focus();
            cm.execCommand('autocomplete'); })()""")
        hints = _wait(page, "Array.from(document.querySelectorAll('.CodeMirror-hint')).map(e => e.innerText)"
                            ".join(',')", "autocomplete hints")
        assert "occupations" in hints
    finally:
        page.close()


# --- the landing page and the draft page ------------------------------------------------------------------

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href", ""))
        if tag == "script":
            self.scripts += 1


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_the_landing_page_links_graphiql_the_latest_report_health_and_docs(client, settings) -> None:
    published = sql(settings.database_url, "select year, max(version) as v from hub.stat_publications group by 1 "
                                           "order by 1 desc limit 1")
    r = client.get("/", headers={"Authorization": "", "accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = _links(r.text)
    assert page.scripts == 0
    assert "/graphql" in page.hrefs and "/healthz" in page.hrefs
    assert "README.md" in r.text and "docs/" in r.text
    if published:
        assert f"/reports/{published[0]['year']}" in page.hrefs
    else:
        assert "No annual report is published yet" in r.text
    for href in page.hrefs:  # every link works
        assert client.get(href, headers={"Authorization": "", "accept": "text/html"}).status_code == 200, href


def test_a_browser_opening_a_draft_without_a_token_gets_a_page_saying_how_to_see_it(client, settings) -> None:
    years = {r["year"] for r in sql(settings.database_url, "select distinct year from hub.stat_publications")}
    year = next(y for y in (2025, 2024, 2023, 2022, 2030) if y not in years)
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = client.get(f"/reports/{year}", headers={"Authorization": "", "accept": browser_accept})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert f"hub report {year} --draft" in r.text
    assert "Authorization: Bearer &lt;token&gt;" in r.text and f"/reports/{year}?draft=1" in r.text
    assert _links(r.text).scripts == 0 and not r.text.lstrip().startswith("{")
    # API clients keep the JSON 401.
    for accept in ("application/json", None):
        api = client.get(f"/reports/{year}", headers={"Authorization": "", **({"accept": accept} if accept else {})})
        assert api.status_code == 401 and api.headers["content-type"] == "application/json"
        assert api.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The CSV and JSON of a draft stay JSON errors, whatever the Accept.
    assert client.get(f"/reports/{year}.json", headers={"Authorization": "", "accept": browser_accept}
                      ).headers["content-type"] == "application/json"
