"""attack4: other spellings of ``/metrics`` and tricks on its token (``hub.http.metrics_access``, ``hub.http.paths``).

The deploy's nginx keeps ``/metrics`` internal with ``location = /metrics`` (404). nginx matches locations against the
*normalised* URI (percent-decoded, ``.``/``..`` resolved, slashes merged): ``//metrics``, ``/./metrics``,
``/%6Detrics``, ``/a/../metrics`` and an absolute-form target all match it and are refused there. It passes on, as
sent, what it does not normalise to ``/metrics``: ``/metrics/``, ``/metrics;x``, ``/Metrics``, ``/metrics%20``,
``/metrics%2F``. These tests hold that the hub routes none of those to the metrics (starlette matches the decoded
path exactly; ``/metrics/`` is at most a redirect to ``/metrics``, which the client must fetch through the proxy
again), and the spellings nginx does refuse are not served either if the hub is reached directly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings

TOKEN = "scrape-0123456789abcdef0123456789abcdef"


async def _raw(app, path: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None,
               root_path: str = "") -> tuple[int, dict[bytes, bytes], bytes]:
    """One request with ``path`` exactly as a server would put it in the scope (no client normalisation)."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode("latin-1", "replace"), "query_string": b"", "root_path": root_path,
             "headers": [(b"host", b"testserver")] + (headers or []), "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80), "state": {}}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


# decoded paths as uvicorn puts them in the scope: nginx passes the first group as sent (not /metrics once normalised)
PASSED_BY_NGINX = ["/metrics/", "/metrics;x", "/metrics;", "/Metrics", "/METRICS", "/metrics ", "/metrics/.",
                   "/metrics/..", "/metrics\u2028", "/metrics\u0085", "/metrics.", "/metrics%0A", "/metrics%2F"]
REFUSED_BY_NGINX = ["//metrics", "/./metrics", "/x/../metrics", "///metrics"]


@pytest.mark.parametrize("path", PASSED_BY_NGINX + REFUSED_BY_NGINX)
def test_no_other_spelling_of_the_path_is_served_the_metrics(settings: Settings, path: str) -> None:
    """NO HOLE: no other spelling is routed to the metrics; ``/metrics/`` is a redirect (no metric in it) to the
    exact path, which the proxy then refuses; HEAD of such a spelling neither."""
    with TestClient(create_app(settings)) as client:
        for method in ("GET", "HEAD"):
            status, headers, body = client.portal.call(_raw, client.app, path, method)
            assert b"hub_" not in body, (path, method, status)
            assert status in (404, 405, 307), (path, method, status)
            if status == 307:
                assert headers[b"location"].decode().endswith("/metrics"), headers


def test_a_root_path_reaches_the_same_token_check(token_app) -> None:
    """NO HOLE: the hub sets no ``root_path`` (``hub serve`` passes none to uvicorn, which takes none from a
    header); were a server to set one, ``/prefix/metrics`` is the route, behind the same token check."""
    app, _ = token_app
    with TestClient(app) as client:
        status, _, body = client.portal.call(_raw, client.app, "/prefix/metrics", "GET", None, "/prefix")
        assert status == 401 and b"hub_" not in body
        status, _, body = client.portal.call(_raw, client.app, "/prefix/metrics", "GET",
                                             [(b"authorization", b"Bearer " + TOKEN.encode())], "/prefix")
        assert status == 200 and b"hub_requests_total" in body


@pytest.fixture
def token_app(settings: Settings, tmp_path: Path):
    path = tmp_path / "metrics-token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    return create_app(replace(settings, metrics_token_file=path)), path


def test_the_token_compare_takes_no_variant(token_app) -> None:
    """NO HOLE: with HUB_METRICS_TOKEN_FILE only ``Bearer <token>`` reads: a second Authorization header does not
    replace a wrong first one, a token followed by more (a second token, a comma list) is refused, a root_path or
    HEAD spelling reaches the same check; the scheme's case does not matter (RFC 9110: case-insensitive)."""
    app, _ = token_app
    wrong, right = (b"authorization", b"Bearer wrong-token-0123456789"), (b"authorization", b"Bearer " + TOKEN.encode())
    refused = [[wrong, right], [(b"authorization", b"Bearer " + TOKEN.encode() + b" x")],
               [(b"authorization", b"Bearer " + TOKEN.encode() + b", Bearer x")],
               [(b"authorization", b"Bearer  " + TOKEN.encode()[:-1])], [(b"authorization", b"Bearer\t" + TOKEN.encode())]]
    with TestClient(app) as client:
        for headers in refused:
            for method in ("GET", "HEAD"):
                status, _, body = client.portal.call(_raw, client.app, "/metrics", method, headers)
                assert status == 401 and b"hub_" not in body, (headers, method, status)
        for scheme in (b"bearer ", b"BEARER ", b"Bearer "):
            status, _, body = client.portal.call(_raw, client.app, "/metrics", "GET",
                                                 [(b"authorization", scheme + TOKEN.encode())])
            assert status == 200 and b"hub_requests_total" in body


def test_a_token_file_changed_while_running_is_read_at_start_only(token_app) -> None:
    """Checked (documented behaviour, no hole): the token is read once, at start-up; replacing the file does not
    open the metrics to the new token nor close them to the old one until a restart."""
    app, path = token_app
    with TestClient(app) as client:
        path.write_text("another-token-0123456789abcdef\n", encoding="utf-8")
        new = client.get("/metrics", headers={"Authorization": "Bearer another-token-0123456789abcdef"})
        old = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert new.status_code == 401 and old.status_code == 200
