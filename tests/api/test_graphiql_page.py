"""The self-hosted GraphiQL page: no CDN, every asset vendored and present.

No database needed. Department intranets have no internet access, so the
page and every vendored file must load from the hub itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.api.graphiql import (  # noqa: E402
    GRAPHIQL_DIR,
    SCRIPTS,
    STATIC_DIR,
    STYLESHEETS,
    graphiql_html,
)

# Hosts that would mean "loaded from the internet at run time".
CDN_HOST_RE = re.compile(
    r"unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|googleapis\.com|gstatic\.com"
    r"|esm\.sh|skypack\.dev|jspm\.(?:io|dev)|cdn\.graphql|bootstrapcdn\.com",
    re.IGNORECASE,
)
SOURCE_MAP_RE = re.compile(r"[#@]\s*sourceMappingURL\s*=")

VENDORED = {
    "graphiql.min.js": "graphiql",
    "graphiql.min.css": "graphiql",
    "react.production.min.js": "react",
    "react-dom.production.min.js": "react-dom",
}
OWN = {"hub-graphiql.js", "hub-graphiql.css", "favicon.svg"}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.script_bodies.append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_bodies[-1] += data

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


def _parse(page: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return parser


def _asset_urls(parser: _PageParser) -> list[str]:
    urls = [a["src"] for a in parser.find("script") if a.get("src")]
    urls += [a["href"] for a in parser.find("link") if a.get("href")]
    return urls


def _resolve(url: str, static_prefix: str = "/static") -> Path:
    path = urlsplit(url).path
    assert path.startswith(static_prefix.rstrip("/") + "/graphiql/"), url
    rel = path[len(static_prefix.rstrip("/")) + 1 :]
    target = (STATIC_DIR / rel).resolve()
    assert target.is_relative_to(STATIC_DIR.resolve()), url
    return target


@pytest.fixture(scope="module")
def page() -> str:
    return graphiql_html()


# --- (a) the page ---------------------------------------------------------


def test_page_is_a_complete_utf8_document(page):
    assert page.lstrip().lower().startswith("<!doctype html>")
    parser = _parse(page)
    (html_tag,) = parser.find("html")
    assert html_tag.get("lang")
    assert any((m.get("charset") or "").lower() == "utf-8" for m in parser.find("meta"))
    assert any(m.get("name") == "viewport" for m in parser.find("meta"))
    assert "<title>Talent Data Hub — GraphiQL</title>" in page
    (root,) = [a for t, a in parser.tags if a.get("id") == "graphiql"]
    assert root["data-endpoint"] == "/graphql"
    assert "Authorization" in page and "Bearer" in page


def test_page_has_no_absolute_urls(page):
    parser = _parse(page)
    for url in _asset_urls(parser):
        assert not re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", url, re.I), url
    # Not just in script/link tags: nowhere in the page.
    assert "http://" not in page
    assert "https://" not in page
    assert not CDN_HOST_RE.search(page)


def test_page_loads_only_static_graphiql_files(page):
    parser = _parse(page)
    urls = _asset_urls(parser)
    assert urls
    for url in urls:
        assert url.startswith("/static/graphiql/"), url
        assert _resolve(url).is_file(), url
    names = [Path(urlsplit(u).path).name for u in urls]
    # Everything GraphiQL needs is referenced ...
    for needed in (*VENDORED, "hub-graphiql.js", "hub-graphiql.css"):
        assert needed in names
    # ... and the globals are defined before they are used.
    scripts = [Path(urlsplit(a["src"]).path).name for a in parser.find("script")]
    assert scripts == [Path(s).name for s in SCRIPTS]
    assert scripts.index("react.production.min.js") < scripts.index("react-dom.production.min.js")
    assert scripts.index("react-dom.production.min.js") < scripts.index("graphiql.min.js")
    assert scripts[-1] == "hub-graphiql.js"


def test_page_has_no_inline_script(page):
    """Config travels in data attributes: friendly to script-src 'self'."""
    parser = _parse(page)
    assert parser.find("script")
    for attrs in parser.find("script"):
        assert attrs.get("src")
    assert all(body.strip() == "" for body in parser.script_bodies)
    for _tag, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs), attrs
    assert "<style" not in page.lower()


def test_custom_endpoint_prefix_and_title_are_escaped():
    endpoint = '/api/graphql?x="1"&y=<2>'
    title = 'Hub <b>"test"</b>'
    page = graphiql_html(endpoint=endpoint, static_prefix="/assets/", title=title)
    parser = _parse(page)
    (root,) = [a for t, a in parser.tags if a.get("id") == "graphiql"]
    assert root["data-endpoint"] == endpoint
    assert "<b>" not in page
    for url in _asset_urls(parser):
        assert url.startswith("/assets/graphiql/"), url
        assert _resolve(url, "/assets").is_file()


@pytest.mark.parametrize(
    "prefix", ["https://cdn.example.org/static", "http://intranet/static", "//cdn.example.org"]
)
def test_external_static_prefix_is_rejected(prefix):
    with pytest.raises(ValueError):
        graphiql_html(static_prefix=prefix)


# --- (b) the referenced files ---------------------------------------------


def test_every_referenced_file_exists_and_is_not_empty(page):
    for url in _asset_urls(_parse(page)):
        target = _resolve(url)
        assert target.is_file(), url
        assert target.stat().st_size > 0, url
    for rel in (*SCRIPTS, *STYLESHEETS):
        assert (STATIC_DIR / rel).stat().st_size > 0, rel


def test_static_files_are_served_by_starlette(page):
    """The URLs in the page (with their ?v= cache busters) resolve on a StaticFiles mount."""
    pytest.importorskip("httpx")
    starlette_routing = pytest.importorskip("starlette.routing")
    from starlette.applications import Starlette
    from starlette.staticfiles import StaticFiles
    from starlette.testclient import TestClient

    app = Starlette(routes=[starlette_routing.Mount("/static", app=StaticFiles(directory=STATIC_DIR))])
    with TestClient(app) as client:
        for url in _asset_urls(_parse(page)):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.content == _resolve(url).read_bytes(), url
            if url.split("?")[0].endswith(".js"):
                assert "javascript" in response.headers["content-type"], url
            if url.split("?")[0].endswith(".css"):
                assert response.headers["content-type"].startswith("text/css"), url


# --- (c) the vendored files -----------------------------------------------


def _text_assets() -> list[Path]:
    files = [p for p in GRAPHIQL_DIR.iterdir() if p.suffix in {".js", ".css", ".svg"}]
    assert files
    return files


def test_vendored_files_do_not_reference_a_cdn():
    for path in _text_assets():
        text = path.read_text(encoding="utf-8")
        match = CDN_HOST_RE.search(text)
        assert match is None, f"{path.name}: {text[max(0, match.start() - 80):match.end() + 80]!r}"


def test_vendored_files_have_no_source_map_comments():
    """The .map files are not shipped; a leftover comment makes devtools fetch a 404."""
    for path in _text_assets():
        assert not SOURCE_MAP_RE.search(path.read_text(encoding="utf-8")), path.name


def test_css_loads_nothing_from_outside():
    for path in GRAPHIQL_DIR.glob("*.css"):
        css = path.read_text(encoding="utf-8")
        assert "@import" not in css, path.name
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            if ref.startswith("data:") or ref.startswith("#"):
                continue
            assert "//" not in ref, (path.name, ref)
            assert (path.parent / urlsplit(ref).path).is_file(), (path.name, ref)


def test_vendored_files_are_the_expected_builds():
    react = (GRAPHIQL_DIR / "react.production.min.js").read_text(encoding="utf-8")
    react_dom = (GRAPHIQL_DIR / "react-dom.production.min.js").read_text(encoding="utf-8")
    graphiql = (GRAPHIQL_DIR / "graphiql.min.js").read_text(encoding="utf-8")
    assert "react.production.min.js" in react[:300]
    assert "react-dom.production.min.js" in react_dom[:300]
    # GraphiQL's UMD build needs nothing but the React and ReactDOM globals.
    assert ".GraphiQL=t(e.React,e.ReactDOM)" in graphiql[:1500]


def test_versions_and_licenses_are_recorded():
    versions = (GRAPHIQL_DIR / "VERSIONS.txt").read_text(encoding="utf-8")
    for name in sorted(p.name for p in GRAPHIQL_DIR.iterdir()):
        if name != "VERSIONS.txt":
            assert name in versions, f"{name} is not described in VERSIONS.txt"
    for name, package in VENDORED.items():
        data = (GRAPHIQL_DIR / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert f"{digest}  {name}" in versions, f"VERSIONS.txt has a stale sha256 for {name}"
        licence = GRAPHIQL_DIR / f"LICENSE.{package}.txt"
        assert "MIT License" in licence.read_text(encoding="utf-8")


def test_total_size_budget():
    total = sum(p.stat().st_size for p in GRAPHIQL_DIR.rglob("*") if p.is_file())
    assert total < 3 * 1024 * 1024, total


# --- hub-graphiql.js ------------------------------------------------------

_NODE_HARNESS = r"""
const fs = require('fs'), vm = require('vm');
const src = fs.readFileSync(process.argv[1], 'utf8');
const attrs = {'data-endpoint': '/api/graphql', 'data-default-query': '{ hello }',
               'data-persist-headers': 'true'};
const root = { getAttribute: n => (n in attrs ? attrs[n] : null), textContent: '', appendChild() {} };
let props = null;
const calls = [];
const responses = [
  { status: 200, statusText: 'OK', text: async () => '{"data":{"hello":"hi"}}' },
  { status: 401, statusText: 'Unauthorized', text: async () => '{"errors":[{"message":"no"}]}' },
  { status: 502, statusText: 'Bad Gateway', text: async () => '<html>proxy error</html>' },
];
const ctx = {
  document: { readyState: 'complete', getElementById: id => (id === 'graphiql' ? root : null),
              addEventListener() {}, createElement: () => ({ setAttribute() {} }) },
  location: { search: '?query=%7B%20ignored%20%7D&operationName=',
              hash: '#query=%7B%20people%20%7D&variables=%7B%22n%22%3A1%7D' },
  Headers, URLSearchParams, JSON, Object, String, Promise, Error,
  fetch: async (url, init) => {
    calls.push({ url, method: init.method, credentials: init.credentials, body: init.body,
                 headers: Object.fromEntries(new Headers(init.headers).entries()) });
    return responses.shift();
  },
  React: { createElement: (component, p) => ({ component, p }) },
  ReactDOM: { createRoot: () => ({ render: el => { props = el.p; } }) },
  GraphiQL: function GraphiQL() {},
};
ctx.window = ctx;
vm.createContext(ctx);
vm.runInContext(src, ctx);
(async () => {
  const opts = { headers: { Authorization: 'Bearer t0k3n', accept: 'text/plain', 'content-type': 'text/plain' } };
  const results = [];
  results.push(await props.fetcher({ query: '{ hello }' }, opts));
  results.push(await props.fetcher({ query: '{ hello }' }, {}));
  results.push(await props.fetcher({ query: '{ hello }' }, undefined));
  const { fetcher, ...rest } = props;
  console.log(JSON.stringify({ props: rest, calls, results }));
})().catch(e => { console.error(e); process.exit(1); });
"""


def test_hub_graphiql_js_config_and_fetcher():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = GRAPHIQL_DIR / "hub-graphiql.js"
    proc = subprocess.run(
        [node, "-e", _NODE_HARNESS, str(script)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)

    props = out["props"]
    assert props["isHeadersEditorEnabled"] is True
    assert props["shouldPersistHeaders"] is True
    assert props["defaultEditorToolsVisibility"] == "headers"
    assert props["defaultQuery"] == "{ hello }"
    assert props["query"] == "{ people }"  # #query= wins over ?query=
    assert props["variables"] == '{"n":1}'
    assert "operationName" not in props  # empty URL parameter is ignored
    assert "headers" not in props  # never taken from the URL

    first, second, third = out["calls"]
    assert first["url"] == "/api/graphql"
    assert first["method"] == "POST"
    assert first["credentials"] == "same-origin"
    assert json.loads(first["body"]) == {"query": "{ hello }"}
    for call in (first, second, third):
        assert call["headers"]["accept"] == "application/graphql-response+json, application/json"
        assert call["headers"]["content-type"] == "application/json"
    assert first["headers"]["authorization"] == "Bearer t0k3n"
    assert "authorization" not in second["headers"]

    ok, unauthorized, not_json = out["results"]
    assert ok == {"data": {"hello": "hi"}}
    assert unauthorized == {"errors": [{"message": "no"}]}
    assert "502" in not_json["errors"][0]["message"]
    assert not_json["errors"][0]["extensions"]["body"] == "<html>proxy error</html>"
