"""The plan cache's memory (hub.api.plan_cache): what one planned document keeps, for documents an attacker may send."""

from __future__ import annotations

import gc
import hashlib
import tracemalloc

from hub.api.plan_cache import MAX_DOCUMENT_CHARS, PlanCache
from hub.api.schema import build_schema
from hub.settings import Settings


def _many_operations(seed: int) -> str:
    """A document under MAX_DOCUMENT_CHARS and the token limit made of hundreds of small query operations."""
    text, k = "", 0
    while len(text) < 16_000:
        text += f"query Q{seed}x{k}{{occupations{{nodes{{code name}}}}}}"
        k += 1
    assert len(text) < MAX_DOCUMENT_CHARS
    return text


def test_a_planned_document_costs_the_cache_memory_of_the_order_of_its_text() -> None:
    """hub.plan_cache bounds its memory by "size x MAX_DOCUMENT_CHARS": a 16 KB document of 378 operations kept
    about 4.5 MB (a plan and a generated builder per operation, the AST with its token list), so the default
    1000 entries — one request each, from any consumer — came to gigabytes."""
    settings = Settings()
    cache = PlanCache(build_schema(), settings, 10)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for seed in range(3):
            text = _many_operations(seed)
            cache.get(hashlib.sha256(text.encode()).hexdigest(), text)
        gc.collect()
        per_document = (tracemalloc.get_traced_memory()[0] - before) / 3
    finally:
        tracemalloc.stop()
    assert per_document < 20 * MAX_DOCUMENT_CHARS, per_document  # 400 KB: twenty times the largest text
