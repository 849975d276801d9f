"""The deploy's nginx proxy (deploy/nginx.conf) run for real in front of a live hub: what a department reaches through
it. The server block is the deploy's own, with its two compose replicas replaced by the live hub and its port by a
free one; nginx runs unprivileged from a scratch folder. Skipped, saying why, where nginx is not installed (``make
test`` installs Debian's)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from hub.app import create_app
from tests.support.helpers import sql_value
from tests.support.live import free_port, serve_in_thread, stop_served
from tests.support.sync import scratch
from tests.support.websockets import codes, data, new_consumer, open_socket, revoke_with_cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")  # nginx's temporary folders, in the scratch one
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs Debian's nginx)")


def proxy_config(hub_port: int, proxy_port: int, folder: Path) -> str:
    """nginx.conf of the deploy, in front of 127.0.0.1:``hub_port`` on 127.0.0.1:``proxy_port``."""
    deploy = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    servers = re.findall(r"^\s*server \S+:\d+[^;]*;\n", deploy, re.M)
    assert len(servers) == 2, "the deploy's upstream names its two replicas"
    deploy = deploy.replace(servers[0], f"    server 127.0.0.1:{hub_port};\n").replace(servers[1], "")
    assert "listen 8080;" in deploy
    # A small send buffer: an answer a slow client does not read piles up in nginx's own buffers, as it does for a
    # distant client, rather than in the loopback's kernel buffers.
    deploy = deploy.replace("listen 8080;", f"listen 127.0.0.1:{proxy_port} sndbuf=16k;")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in TEMP_KINDS)
    return (f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
            f"events {{ worker_connections 1024; }}\nhttp {{\n    access_log off;\n{temp}\n{deploy}\n}}\n")


class ProxyUrl(str):
    """The proxy's base URL, with the folder nginx runs from (its ``error.log``)."""

    folder: Path


@contextlib.contextmanager
def deploy_proxy(hub_base: str) -> Iterator[ProxyUrl]:
    """The deploy's proxy in front of ``hub_base`` (http://127.0.0.1:port); yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # nginx's workers may run as another user when the tests run as root
        for kind in TEMP_KINDS:
            (folder / kind).mkdir(mode=0o777)
        conf = folder / "nginx.conf"
        conf.write_text(proxy_config(int(hub_base.rsplit(":", 1)[1]), port, folder), encoding="utf-8")
        proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 15
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode(errors='replace')}")
                time.sleep(0.05)
            url = ProxyUrl(f"http://127.0.0.1:{port}")
            url.folder = folder
            yield url
        finally:
            stop_served(proc)  # SIGTERM (nginx's fast shutdown), then its master and workers killed after 30 s


@pytest.fixture(scope="module")
def proxied(settings) -> Iterator[ProxyUrl]:
    with serve_in_thread(create_app(settings)) as hub, deploy_proxy(hub) as base:
        yield base


def test_a_query_and_a_subscription_socket_pass_the_deploys_proxy(proxied, tokens) -> None:
    """GraphQL over HTTP and over the websocket (graphql-transport-ws, the token in connection_init as a browser
    sends it) both reach the hub through the proxy. Before, the proxy dropped the Upgrade and Connection headers
    (``Connection ""`` for its keep-alive to the replicas): no socket could be opened through it."""
    query = "query Proxied { occupations(first: 2) { nodes { code } } }"
    over_http = httpx.post(proxied + "/graphql", json={"query": query},
                           headers={"Authorization": f"Bearer {tokens['labor']}"}, timeout=30).json()

    async def over_socket() -> list[dict]:
        async with open_socket(proxied.replace("http://", "ws://") + "/graphql", tokens["labor"]) as sock:
            return await sock.op(query)

    assert data(asyncio.run(over_socket())) == over_http["data"]
    assert len(over_http["data"]["occupations"]["nodes"]) == 2


def test_a_socket_through_the_proxy_is_refused_as_it_would_be_directly(proxied) -> None:
    """The hub still decides: a socket with an unknown token is closed with 4403 through the proxy too."""
    async def refused() -> int | None:
        async with connect(proxied.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"],
                           open_timeout=10) as ws:
            await ws.send('{"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}')
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(ws.wait_closed(), 10)
            return ws.close_code

    assert asyncio.run(refused()) == 4403


def test_the_proxy_keeps_metrics_internal(proxied) -> None:
    """``location = /metrics`` answers 404 itself; a spelling it does not match (a final newline, encoded) reaches
    the hub, which answers 404 NOT_FOUND for a path with a control character (hub.http.paths)."""
    assert httpx.get(proxied + "/metrics", timeout=10).status_code == 404
    direct = httpx.get(proxied + "/metrics%0A", timeout=10)
    assert direct.status_code == 404 and b"hub_" not in direct.content


def test_a_bulk_ingest_larger_than_a_graphql_body_reaches_the_hub(proxied, tokens) -> None:
    """``POST /ingest/{dataset}`` takes bodies up to HUB_INGEST_MAX_BODY_BYTES (2 GiB), streamed; the proxy's
    2 MB cap for other requests answered a bulk ingest over it with nginx's own 413 page. Here 3 MB of lines the
    hub rejects one by one (nothing is stored): the answer is the hub's report."""
    line = b'{"not_a_column": "' + b"x" * 1000 + b'"}\n'
    body = line * (3 * 1024 * 1024 // len(line) + 1)
    headers = {"Authorization": f"Bearer {tokens['labor']}", "Content-Type": "application/x-ndjson"}
    response = httpx.post(proxied + "/ingest/labor.job_postings", content=body, headers=headers, timeout=120)
    assert response.headers["content-type"].startswith("application/json"), (response.status_code, response.text[:300])
    report = response.json()
    assert response.status_code == 200, report
    assert report["applied"] == 0 and report["rejected"] == body.count(b"\n"), report


def test_an_anonymous_bulk_ingest_is_refused_by_the_hub_before_its_body(proxied) -> None:
    """The /ingest/ location lets bodies of 2 GiB through: one without a token is still the hub's 401 (its
    authentication answers before the endpoint reads the body), and the proxy hands that answer back."""
    body = b'{"x": 1}\n' * (3 * 1024 * 1024 // 9)
    response = httpx.post(proxied + "/ingest/labor.job_postings", content=body, timeout=120,
                          headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_idle_socket_outlives_the_proxys_read_timeout() -> None:
    """nginx closes a proxied connection on which the upstream sent nothing for ``proxy_read_timeout`` (60 s): an
    idle subscription stays open only because uvicorn pings every socket (``ws_ping_interval``, which ``hub serve``
    leaves at uvicorn's default) more often than that. A longer interval, or a shorter timeout, would cut quiet
    subscriptions every minute."""
    import uvicorn

    timeouts = [int(t) for t in re.findall(r"proxy_read_timeout (\d+)s;", (DEPLOY / "nginx.conf").read_text())]
    assert timeouts and uvicorn.Config(app=None).ws_ping_interval < min(timeouts)
    assert "ws_ping" not in (Path(__file__).resolve().parents[2] / "hub" / "cli" / "main.py").read_text()


@pytest.mark.parametrize("path", ["/ingest/../graphql", "/ingest/%2e%2e/graphql", "/ingest/%2E%2E%2Fgraphql",
                                  "//ingest/../graphql", "/ingest%2F..%2Fgraphql", "/INGEST/../graphql",
                                  "/ingest/..%2Fgraphql", "/ingest/x/../../graphql"])
def test_no_spelling_of_the_ingest_location_takes_a_large_graphql_body(proxied, tokens, path) -> None:
    """The /ingest/ location takes 2 GiB unbuffered; spellings of it that name /graphql after nginx's normalisation
    (or the hub's decoding) never get a GraphQL body over HUB_MAX_BODY_BYTES (1 MB) answered: nginx matches the
    normalised path (its 2 MB cap, 413) or the hub sees an /ingest/ path that is no route of its GraphQL (404)."""
    padding = "x" * (3 * 1024 * 1024)
    body = ('{"query": "query Big { occupations(first: 1) { nodes { code } } }", "variables": {"p": "' + padding
            + '"}}').encode()
    with httpx.Client(timeout=120) as client:
        request = client.build_request("POST", proxied + "/", content=body, headers={
            "Authorization": f"Bearer {tokens['labor']}", "Content-Type": "application/json"})
        request.url = request.url.copy_with(raw_path=path.encode())
        response = client.send(request)
    assert response.status_code in (400, 404, 405, 413), (path, response.status_code, response.text[:300])
    assert b"occupations" not in response.content and b'"data"' not in response.content


@pytest.mark.parametrize("path", ["/ingest/../metrics", "/ingest/%2e%2e/metrics", "//metrics", "/ingest/..%2Fmetrics",
                                  "/%6Detrics", "/metrics/", "/./metrics"])
def test_no_spelling_of_metrics_passes_the_proxy(proxied, path) -> None:
    """``location = /metrics`` matches nginx's normalised path (dots resolved, slashes merged, escapes decoded); what
    it passes on as sent is no path of the hub's metrics (starlette resolves no dot segments)."""
    with httpx.Client(timeout=30) as client:
        request = client.build_request("GET", proxied + "/")
        request.url = request.url.copy_with(raw_path=path.encode())
        response = client.send(request)
    assert response.status_code in (307, 400, 404), (path, response.status_code)
    assert b"hub_" not in response.content


def _raw_exchange(base: str, request: bytes, timeout: float = 15) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        with contextlib.suppress(socket.timeout):
            while chunk := sock.recv(65536):
                received += chunk
    return received


def test_an_upgrade_elsewhere_or_to_another_protocol_is_a_plain_request(proxied, tokens) -> None:
    """The proxy passes any Upgrade on. A websocket upgrade to /ingest/ or /metrics, or a bogus Upgrade to
    /graphql, never switches protocols, and no token in the upgrade means no data."""
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    for path in ("/ingest/labor.job_postings", "/metrics", "/sync/labor.job_postings/snapshot"):
        answer = _raw_exchange(proxied, (f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13"
                                         "\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
        assert not answer.startswith(b"HTTP/1.1 101"), (path, answer[:200])
        assert b"hub_" not in answer and b"next_cursor" not in answer
    bogus = _raw_exchange(proxied, b"GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n"
                                   b"Connection: upgrade\r\n\r\n")
    assert bogus.startswith(b"HTTP/1.1 401"), bogus[:200]


def test_a_smuggled_request_behind_an_ingest_body_is_not_run(proxied, tokens) -> None:
    """Transfer-Encoding and Content-Length together on the unbuffered /ingest/ location: nginx refuses the request
    (400) rather than letting the hub frame the body otherwise, so no second request hidden in the body runs."""
    inner = (b"GET /graphql?query=%7Boccupations(first%3A1)%7Bnodes%7Bcode%7D%7D%7D HTTP/1.1\r\nHost: x\r\n"
             b"Authorization: Bearer " + tokens["labor"].encode() + b"\r\n\r\n")
    body = b"0\r\n\r\n" + inner
    answer = _raw_exchange(proxied, b"POST /ingest/labor.job_postings HTTP/1.1\r\nHost: x\r\n"
                           b"Authorization: Bearer " + tokens["labor"].encode() + b"\r\n"
                           b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
                           b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"occupations" not in answer


def test_a_revoked_consumers_socket_through_the_proxy_is_refused_and_audits_nothing(server_url, settings) -> None:
    """A socket opened through the proxy with the token only in connection_init and a caller's sampled traceparent on
    the upgrade: after the token is revoked its next operation is refused (UNAUTHENTICATED, 4403) and leaves no audit
    entry of a read; the answered one before carries the caller's trace id, also in its audit entry."""
    s, _tokens = scratch(server_url, settings, "hub_test_proxy_revoked", policy_cache_seconds=60.0)
    consumer_id, token = new_consumer(s.database_url, "labor", "proxied ws revoked")
    caller = "ab" * 16
    query = "query ProxiedRevoked { occupations(first: 1) { nodes { code } } }"
    app = create_app(s)
    with serve_in_thread(app) as hub, deploy_proxy(hub) as base:
        async def session() -> tuple[list, list, int]:
            async with connect(base.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"],
                               open_timeout=10, additional_headers={"traceparent": f"00-{caller}-{'cd' * 8}-01"}) as ws:
                await ws.send('{"type": "connection_init", "payload": {"Authorization": "Bearer ' + token + '"}}')
                assert '"connection_ack"' in str(await asyncio.wait_for(ws.recv(), 10))

                async def op(op_id: str) -> list:
                    await ws.send('{"id": "' + op_id + '", "type": "subscribe", "payload": {"query": "' + query + '"}}')
                    messages = []
                    while True:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        messages.append(message)
                        if message["type"] in ("complete", "error"):
                            return messages

                before = await op("1")
                await asyncio.to_thread(revoke_with_cli, s.database_url, consumer_id)
                app.state.consumers.clear()  # as when the policy window has passed
                after = await op("2")
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.recv(), 10)
                await asyncio.wait_for(ws.wait_closed(), 10)
                return before, after, ws.close_code

        before, after, close_code = asyncio.run(session())
    assert data(before)["occupations"]["nodes"] and before[0]["payload"]["extensions"] == {"traceId": caller}
    assert [m["type"] for m in after] == ["error"] and codes(after) == ["UNAUTHENTICATED"] and close_code == 4403
    audited = sql_value(s.database_url, "select array_agg(trace_id) from hub.audit_log where consumer_id = $1",
                        consumer_id)
    assert list(audited) == [caller]



def test_a_request_hidden_behind_an_upgrade_never_reaches_the_hub(proxied, tokens) -> None:
    """The proxy now passes any Upgrade (with ``Connection: upgrade``) to the hub over its keep-alive connections. A
    POST with a bogus or websocket Upgrade whose body is a second request (``GET /metrics``): the hub frames the body
    by its Content-Length and never runs it, nor does the next request of anyone on the reused connections."""
    hidden = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    for upgrade in (b"foo", b"h2c", b"websocket"):
        for path, auth in ((b"/graphql", True), (b"/healthz", True), (b"/ingest/labor.job_postings", False)):
            token = b"Authorization: Bearer " + tokens["labor"].encode() + b"\r\n" if auth else b""
            answer = _raw_exchange(proxied, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nUpgrade: " + upgrade
                                   + b"\r\nConnection: upgrade\r\nContent-Type: application/x-ndjson\r\n" + token
                                   + b"Content-Length: " + str(len(hidden)).encode() + b"\r\n\r\n" + hidden, 2)
            assert b"hub_" not in answer and answer.count(b"HTTP/1.1 ") <= 1, (upgrade, path, answer[:300])
            for _ in range(3):
                after = _raw_exchange(proxied, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5)
                assert after.startswith(b"HTTP/1.1 200") and b"hub_" not in after, (upgrade, path, after[:300])


def test_what_passes_the_proxy_is_never_written_to_its_disk(proxied, tokens, settings) -> None:
    """Answers and request bodies hold personal data (a department reads its own job seekers in clear; a mutation's
    variables carry them). nginx wrote a body over its 16 KB buffer, and an answer its 8 small buffers could not hold
    while the client read slowly, to temporary files on the proxy's disk, where no rule of the hub reaches. Now
    bodies up to the proxy's limit stay in memory and a slow reader holds the replica back instead (nginx warns in
    its error log for each temporary file)."""
    seekers = int(sql_value(settings.database_url, "select count(*) from labor.job_seekers"))
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    with httpx.Client(base_url=proxied, headers=headers, timeout=60) as http:
        big = http.post("/graphql", json={"query": "query Big($pad: String!) { __type(name: $pad) { name } }",
                                          "variables": {"pad": "x" * 900_000}})
        assert big.status_code == 200 and big.json()["data"] == {"__type": None}, big.text[:500]
    # A slow reader (a small receive buffer, reading only after a while): the replica's answer fills the proxy's
    # buffers meanwhile. HTTP/1.0: the body as sent, not in chunks.
    with socket.create_connection(("127.0.0.1", int(proxied.rsplit(":", 1)[1])), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(f"GET /sync/labor.job_seekers/snapshot HTTP/1.0\r\nHost: hub\r\n"
                     f"Authorization: Bearer {tokens['labor']}\r\n\r\n".encode())
        time.sleep(2)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body.splitlines()) >= seekers > 500, head
    log = (proxied.folder / "error.log").read_text(encoding="utf-8", errors="replace")
    assert "temporary file" not in log, log


def test_probe_chunked_bodies_at_the_limit_and_an_http10_ingest_write_nothing_to_the_proxys_disk(proxied, tokens) -> None:
    """Probe (passes on today's code): bodies nginx frames itself stay in memory too. A chunked GraphQL body of
    exactly the 2 MB limit (nginx's buffer is then full before the last chunk) and 4 MB of ingest, chunked and from
    an HTTP/1.0 client, on the unbuffered /ingest/ location: no temporary file (nginx warns in its log for each)."""
    log = proxied.folder / "error.log"
    before = len(log.read_text(encoding="utf-8", errors="replace"))
    token = tokens["labor"]

    def chunked(body: bytes, step: int) -> bytes:
        return b"".join(b"%x\r\n" % len(body[i:i + step]) + body[i:i + step] + b"\r\n"
                        for i in range(0, len(body), step)) + b"0\r\n\r\n"

    head = b'{"query": "query Big($pad: String!) { __type(name: $pad) { name } }", "variables": {"pad": "'
    graphql = head + b"x" * (2 * 1024 * 1024 - len(head) - 3) + b'"}}'
    answer = _raw_exchange(proxied, (f"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                                     "Connection: close\r\n\r\n").encode() + chunked(graphql, 65536), 30)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]  # the hub's own limit (1 MB), after nginx read it all
    line = b'{"not_a_column": "' + b"x" * 1000 + b'"}\n'
    ingest = line * (4 * 1024 * 1024 // len(line))
    start = f"POST /ingest/labor.job_postings HTTP/1.{{}}\r\nHost: x\r\nAuthorization: Bearer {token}\r\n" \
            "Content-Type: application/x-ndjson\r\n"
    for request in (start.format(1).encode() + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + chunked(ingest, 100_000),
                    start.format(0).encode() + f"Content-Length: {len(ingest)}\r\n\r\n".encode() + ingest):
        answer = _raw_exchange(proxied, request, 60)
        assert answer.startswith(b"HTTP/1.1 200") and b'"applied":0' in answer, answer[:300]
    assert "temporary file" not in log.read_text(encoding="utf-8", errors="replace")[before:]


def _upgrade(base: str, timeout: float = 15) -> tuple[socket.socket, bytes]:
    """An anonymous websocket upgrade to /graphql through ``base``: the open socket and the head of its answer."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.sendall(b"GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 b"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def test_one_address_holds_at_most_128_sockets_through_the_proxy(proxied, tokens) -> None:
    """A socket without connection_init takes no consumer's slot and is held up to HUB_WS_INIT_TIMEOUT_SECONDS: without a
    cap at the proxy one address could hold thousands. The 129th socket of an address is 429; plain requests are not
    counted, and a socket closed frees its place."""
    held: list[socket.socket] = []
    try:
        for _ in range(128):
            sock, head = _upgrade(proxied)
            held.append(sock)
            assert head.startswith(b"HTTP/1.1 101"), head[:200]
        sock, head = _upgrade(proxied)
        held.append(sock)
        assert head.startswith(b"HTTP/1.1 429"), head[:200]
        answer = httpx.post(f"{proxied}/graphql", json={"query": "{ __typename }"},
                            headers={"Authorization": f"Bearer {tokens['labor']}"}, timeout=15)
        assert answer.status_code == 200 and answer.json()["data"] == {"__typename": "Query"}
        held.pop(0).close()
        deadline = time.monotonic() + 10
        while True:  # nginx frees the place once it has seen the close
            sock, head = _upgrade(proxied)
            held.append(sock)
            if head.startswith(b"HTTP/1.1 101") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert head.startswith(b"HTTP/1.1 101"), head[:200]
    finally:
        for sock in held:
            sock.close()
