"""The plan cache's memory (hub.api.plan_cache): what one planned document keeps, for documents an attacker may send."""

from __future__ import annotations

import gc
import hashlib
import tracemalloc

from hub.api.plan_cache import MAX_DOCUMENT_CHARS, PlanCache
from hub.api.schema import build_schema
from hub.db.pools import SqlRegistry
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


def test_the_statements_plans_generate_are_bounded_too(monkeypatch) -> None:
    """A selection of columns is a statement of its own (hub.api.fused), kept in the process-wide registry
    (``SqlRegistry.generated``) after its plan has left the bounded cache: documents sent to vary the selected columns
    (``{ jobPostings { nodes { id title } } }``, ``{ ... { id headcount } }`` ...) would grow the process without
    bound. Past ``MAX_GENERATED`` statements a new selection reads every column of its SQL file (nothing new is
    kept); a selection already generated keeps its statement."""
    from itertools import combinations

    from hub.api import fused

    cache = PlanCache(build_schema(), Settings(), 2)
    first = "{ jobPostings(first: 1) { nodes { id title } } }"
    kept = cache.get(hashlib.sha256(first.encode()).hexdigest(), first).plans[None].root.nested[0].fused
    assert kept is not None and kept.name in SqlRegistry.generated
    room = 10
    monkeypatch.setattr(fused, "MAX_GENERATED", len(SqlRegistry.generated) + room)
    fields = ["headcount", "wageMin", "wageMax", "education", "skillLevel", "districtCode", "postedOn", "closesOn"]
    narrowed = 0
    for selection in list(combinations(fields, 2))[:3 * room]:
        text = "{ jobPostings(first: 1) { nodes { id %s } } }" % " ".join(selection)
        plan = cache.get(hashlib.sha256(text.encode()).hexdigest(), text).plans[None]
        narrowed += plan.root.nested[0].fused is not None
    assert narrowed == room and len(SqlRegistry.generated) == fused.MAX_GENERATED
    again = first + "  # the same selection, another document"
    assert cache.get(hashlib.sha256(again.encode()).hexdigest(), again).plans[None].root.nested[0].fused.name == kept.name



def test_a_generated_statement_is_never_replaced_by_another_selection_s(monkeypatch) -> None:
    """A selection's statement is named after its text's digest (``name#digest``, 48 bits): two selections whose
    digests collide (forced here) must not share a name, else the plan compiled first would run the other's
    statement; the second selection reads every column instead, and each plan's name stays its own text."""
    from types import SimpleNamespace

    from hub.api import fused

    class _Colliding:
        def __init__(self, _: bytes) -> None:
            pass

        def hexdigest(self) -> str:
            return "c0111de" * 9

    cache = PlanCache(build_schema(), Settings(), 10)
    monkeypatch.setattr(fused, "hashlib", SimpleNamespace(sha256=_Colliding))
    shapes = ("{ jobPostings(first: 1) { nodes { id %s } } }",  # a page alone
              "{ jobPostings(first: 1) { nodes { id %s occupation { code } } } }",  # with its nodes' joins
              "{ occupations(first: 1) { nodes { postings(first: 1) { nodes { %s } } } } }")  # a page per parent
    plans = []
    for selection, columns in (("title wageMin", ('"title"', '"wage_min"')),
                               ("headcount postedOn", ('"headcount"', '"posted_on"'))):
        for shape in shapes:
            text = shape % selection
            plans.append((text, columns, cache.get(hashlib.sha256(text.encode()).hexdigest(), text).plans[None].root))
    for text, columns, root in plans:  # every statement of every plan is its own text under its name
        todo = [root]
        while todo:
            for field in todo.pop().nested:
                if field.fused is not None:
                    assert SqlRegistry.generated[field.fused.name] == field.fused.sql, text
                if field.narrowed is not None:
                    statement = SqlRegistry.generated[field.narrowed[0].query]
                    assert all(f"p.{c}" in statement for c in columns), (text, statement)
                if field.child is not None:
                    todo.append(field.child)
