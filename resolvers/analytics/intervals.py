"""The reader's knowledge of unknown counts as integer intervals, tied by sums (parent = Σ children) and ``a <= b``
relations: what a reader doing row and column arithmetic on published tables can learn (used by the disclosure audit
of ``resolvers.analytics.disclosure``).

Hand-written: no maintained Python library does interval (row/column-sum) reasoning over a cube of tables; the loop
below is the classic "audit by bounds" of statistical disclosure control, on plain lists for speed.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

# loop below is the classic "audit by bounds" of statistical disclosure control, on plain lists for speed.

UNBOUNDED = 10 ** 15  # "no upper bound"


class Intervals:
    """Integer intervals of unknown counts, tied by sums (parent = Σ children) and ``a <= b`` relations;
    ``propagate`` tightens them as a reader doing row and column arithmetic would, until nothing changes."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.keys: list[Any] = []
        self.lo: list[int] = []
        self.hi: list[int] = []
        self.sums: list[tuple[int, list[int]]] = []
        self.at_most: list[tuple[int, int]] = []

    def reset(self) -> None:
        """Forget every bound (the sums stay)."""
        self.lo = [0] * len(self.keys)
        self.hi = [UNBOUNDED] * len(self.keys)

    def var(self, key: Any) -> int:
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.keys)
            self.keys.append(key)
            self.lo.append(0)
            self.hi.append(UNBOUNDED)
        return i

    def know(self, key: Any, lo: float, hi: float) -> None:
        i = self.var(key)
        self.lo[i] = max(self.lo[i], int(lo))
        self.hi[i] = min(self.hi[i], UNBOUNDED if hi == math.inf else int(hi))

    def add_sum(self, parent: Any, children: Iterable[Any]) -> None:
        self.sums.append((self.var(parent), [self.var(c) for c in children]))

    def add_at_most(self, a: Any, b: Any) -> None:
        self.at_most.append((self.var(a), self.var(b)))

    def bounds(self, key: Any) -> tuple[int, float]:
        i = self.index[key]
        return self.lo[i], math.inf if self.hi[i] >= UNBOUNDED else self.hi[i]

    def propagate(self) -> None:
        """Tighten every interval through the sums until a fixed point (a work list: a sum is looked at again only
        when one of its terms changed; integer bounds only shrink, so it ends)."""
        lo, hi = self.lo, self.hi
        member_of: list[list[int]] = [[] for _ in self.keys]
        for n, (p, cs) in enumerate(self.sums):
            member_of[p].append(n)
            for c in cs:
                member_of[c].append(n)
        bounded_by: list[list[int]] = [[] for _ in self.keys]
        for n, (a, b) in enumerate(self.at_most):
            bounded_by[a].append(n)
            bounded_by[b].append(n)
        pending = set(range(len(self.sums)))
        pending_at_most = set(range(len(self.at_most)))
        while pending or pending_at_most:
            touched: set[int] = set()
            for n in sorted(pending):
                p, cs = self.sums[n]
                lo_sum = 0
                hi_sum = 0
                open_ = 0
                for c in cs:
                    lo_sum += lo[c]
                    if hi[c] >= UNBOUNDED:
                        open_ += 1
                    else:
                        hi_sum += hi[c]
                if lo_sum > lo[p]:
                    lo[p] = lo_sum
                    touched.add(p)
                if not open_ and hi_sum < hi[p]:
                    hi[p] = hi_sum
                    touched.add(p)
                p_lo, p_hi = lo[p], hi[p]
                for c in cs:
                    c_open = hi[c] >= UNBOUNDED
                    if open_ - c_open == 0:
                        bound = p_lo - (hi_sum - (0 if c_open else hi[c]))
                        if bound > lo[c]:
                            lo[c] = bound
                            touched.add(c)
                    if p_hi < UNBOUNDED:
                        bound = p_hi - (lo_sum - lo[c])
                        if bound < hi[c]:
                            hi[c] = bound
                            touched.add(c)
            for n in sorted(pending_at_most):
                a, b = self.at_most[n]
                if hi[b] < hi[a]:
                    hi[a] = hi[b]
                    touched.add(a)
                if lo[a] > lo[b]:
                    lo[b] = lo[a]
                    touched.add(b)
            pending = {n for i in touched for n in member_of[i]}
            pending_at_most = {n for i in touched for n in bounded_by[i]}

    def determined(self, key: Any) -> bool:
        i = self.index.get(key)
        return i is not None and self.lo[i] == self.hi[i]
