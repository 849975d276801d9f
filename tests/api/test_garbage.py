"""A request leaves no cyclic garbage: everything it allocated (context, loaders,
their caches, the rows' objects) is freed by reference counting when it ends. Cyclic garbage waits for
the collector, and a collection of tens of thousands of objects pauses every request in flight (the tail
latency the benchmark's p99 showed). ``hub_gc_pause_seconds`` reports the pauses."""

from __future__ import annotations

import collections
import gc
from dataclasses import replace

from starlette.testclient import TestClient

from hub import ROOT
from hub.app import create_app
from tests.support.database import DEFAULT_CONSUMER

BENCH = ROOT / "graphql" / "operations" / "bench"
OURS = ("hub.", "resolvers.", "strawberry", "graphql", "starlette", "asyncpg", "aiodataloader")


def _garbage_per_request(client, body: dict, n: int = 40) -> tuple[collections.Counter, int]:
    for _ in range(5):
        assert "errors" not in client.post("/graphql", json=body).json()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(n):
            client.post("/graphql", json=body)
        gc.collect()
        found = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return found, n


def test_requests_leave_no_cyclic_garbage(client) -> None:
    """On the compiled path (registered text) and on the general path (the same text unregistered)."""
    for name in ("enterprise_by_uscc", "postings_nested", "occupations_postings"):
        text = (BENCH / f"{name}.graphql").read_text(encoding="utf-8")
        for path, body in (("compiled", {"query": text}), ("general", {"query": text + "\n# ad hoc"})):
            found, n = _garbage_per_request(client, body)
            # the test client's own objects (httpx/anyio, starlette's TestClient plumbing) are not the hub's
            ours = {k: v for k, v in found.items() if k.startswith(OURS) and "testclient" not in k}
            assert not ours, f"{name} ({path} path): cyclic garbage per {n} requests: {ours}"


def test_gc_pauses_are_a_metric(client) -> None:
    def count() -> float:
        text = client.get("/metrics").text
        line = next(ln for ln in text.splitlines() if ln.startswith('hub_gc_pause_seconds_count{generation="2"}'))
        return float(line.split()[-1])

    before = count()
    gc.collect()
    assert count() == before + 1


def test_the_general_path_leaves_no_cyclic_garbage(settings, tokens) -> None:
    """Every document is compiled on first sight, so the test above mostly runs plans: here an app without the
    compiled path, on a document whose general path batches a custom join per level (``Industry.majors``
    through a ``JoinLoader``, which holds its context weakly)."""
    text = (BENCH / "deep_cross_department.graphql").read_text(encoding="utf-8")
    with TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        general.headers["Authorization"] = f"Bearer {tokens[DEFAULT_CONSUMER]}"
        assert general.app.router.routes[0].endpoint.compiled is None
        found, n = _garbage_per_request(general, {"query": text})
    ours = {k: v for k, v in found.items() if k.startswith(OURS) and "testclient" not in k}
    assert not ours, f"general path: cyclic garbage per {n} requests: {ours}"
