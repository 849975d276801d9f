"""Batch functions shared by several departments' specs (two-step joins through a code mapping)."""

from __future__ import annotations

from typing import Any, Sequence


async def via_codes(ctx: Any, parents: Sequence[Any], key: str, codes_loader: type, target_loader: type) -> list[list]:
    """parent -> codes (one batch) -> objects (one batch), dropping unknown codes, in mapping order."""
    keys = [getattr(p, key) for p in parents]
    unique = list(dict.fromkeys(keys))
    code_lists = dict(zip(unique, await ctx.loader(codes_loader).batch_load_fn(unique))) if unique else {}
    all_codes = list(dict.fromkeys(c for codes in code_lists.values() for c in codes))
    found = dict(zip(all_codes, await ctx.loader(target_loader).batch_load_fn(all_codes))) if all_codes else {}
    return [[found[c] for c in code_lists.get(k, []) if found.get(c) is not None] for k in keys]
