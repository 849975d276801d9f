"""A small OTLP/HTTP trace receiver on 127.0.0.1 (protobuf, decoded with ``opentelemetry-proto``).

Used by tests/telemetry/test_tracing.py (in a thread) and by the tracing benchmark (``python -m tests.support.otlp_receiver``
in its own process: prints its port, then serves until stdin closes). It answers ``POST /v1/traces`` with
an empty ``ExportTraceServiceResponse`` and keeps every span as a plain dict.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


def decode(body: bytes) -> list[dict[str, Any]]:
    """The spans of one ExportTraceServiceRequest, flattened (ids as lowercase hex)."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append({
                    "name": s.name, "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex() or None, "kind": KINDS.get(s.kind, str(s.kind)),
                    "attributes": {kv.key: _value(kv.value) for kv in s.attributes},
                    "status": s.status.code, "scope": scope_spans.scope.name, "resource": resource,
                    "start": s.start_time_unix_nano, "end": s.end_time_unix_nano,
                })
    return spans


class OtlpReceiver:
    """``with OtlpReceiver() as r:`` … ``r.endpoint`` (``http://127.0.0.1:<port>``), ``r.spans``."""

    def __init__(self, keep: bool = True):
        self.spans: list[dict[str, Any]] = []  # kept when ``keep``
        self.requests = 0
        self.count = 0  # spans decoded
        self.bytes = 0  # request bodies received
        self.keep = keep
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector does

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                encoding = (self.headers.get("content-encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                # Without ``keep`` (the benchmark's receiver, sharing the machine's cores with the hub)
                # only the first request is decoded, to check it; the others are only counted.
                spans = decode(body) if receiver.keep or receiver.requests == 0 else None
                with receiver._lock:
                    receiver.requests += 1
                    receiver.bytes += len(body)
                    if spans is not None:
                        receiver.count += len(spans)
                        if receiver.keep:
                            receiver.spans.extend(spans)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:  # quiet
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="otlp-receiver", daemon=True)

    def __enter__(self) -> "OtlpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0) -> list[dict[str, Any]]:
        """The spans received so far, once ``done(spans)`` holds (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if done(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(spans)} span(s), not what was expected")
            time.sleep(0.02)


def main() -> None:
    """Serve in this process: print the port; when stdin closes, print what was received."""
    with OtlpReceiver(keep=False) as receiver:
        print(receiver.port, flush=True)
        sys.stdin.read()
        print(f"{receiver.requests} export requests, {receiver.bytes:,} bytes "
              f"(the first one decoded: {receiver.count} spans)", flush=True)


if __name__ == "__main__":
    main()
