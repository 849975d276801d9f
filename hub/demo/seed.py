"""Deterministic demo data for every department (``hub seed`` and the test suite).

``generate(scale, seed)`` is a pure function: the same scale and seed give identical rows (one
``random.Random`` per table, seeded from the seed; dates are relative to fixed years, never today).
``load_demo(pools, ...)`` truncates the departments' schemas, COPYs the rows in through each
department's own pool (so a department may live in its own database) and records the
``demo_data`` marker in ``hub.meta``.

Departments refer to each other only by national codes, and the generator keeps those consistent:
every posting's enterprise USCC is a generated enterprise, every mapped industry/occupation code
exists, every partner school exists, and so on.

Each department's tables are a mixin of ``Generator`` (``hub/demo/<dept>.py``): it reads ``self.n`` (the scale's row
counts), ``self.rng(table)`` and what earlier steps left on ``self`` (``Generator.run`` gives the order), and writes
``self.data[table]``.
"""

from __future__ import annotations

import random
from typing import Callable

from hub.demo import names as N
from hub.demo import plan
from hub.demo import random_data as R
from hub.demo import scales as S
from hub.demo.commerce import CommerceTables
from hub.demo.education import EducationTables
from hub.demo.labor import LaborTables
from hub.demo.science import ScienceTables

Progress = Callable[[str, int, int], None]


class Generator(CommerceTables, LaborTables, EducationTables, ScienceTables):
    """One run of the generator: the tables in dependency order (``run``), each made by its department's mixin."""

    def __init__(self, scale: str, seed: int, progress: Progress | None):
        if scale not in S.SCALES:
            raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(S.SCALES)}")
        self.n = S.SCALES[scale]
        self.scale = scale
        self.seed = seed
        self.progress = progress
        self.data: dict[str, list[tuple]] = {}
        self.district_codes = [c for c, _ in N.DISTRICTS]
        self.district_names = dict(N.DISTRICTS)
        # Zipf-like district weights (s = 0.9)
        self.district_pick = R.Picker(self.district_codes, [1 / (r + 1) ** 0.9 for r in range(len(N.DISTRICTS))])
        # seekers live a little more in the outer districts
        self.seeker_district_pick = R.Picker(self.district_codes,
                                            [1 / (r + 1) ** 0.6 for r in range(len(N.DISTRICTS))])

    def rng(self, name: str) -> random.Random:
        return R.rng(self.seed, name)

    def run(self) -> dict[str, list[tuple]]:
        steps = [
            ("hub.districts", self.districts), ("commerce.industries", self.industries),
            ("commerce.enterprises", self.enterprises), ("commerce.parks", self.parks),
            ("commerce.investment_projects", self.investment_projects), ("labor.occupations", self.occupations),
            ("education.schools", self.schools), ("education.majors", self.majors),
            ("labor.job_postings", self.job_postings), ("labor.job_seekers", self.job_seekers),
            ("labor.training_programs", self.training_programs), ("labor.skill_certificates", self.certificates),
            ("labor.apprenticeships", self.apprenticeships), ("science.research_projects", self.research_projects),
            ("science.tech_transfers", self.tech_transfers), ("science.innovation_platforms", self.platforms),
        ]
        for i, (name, step) in enumerate(steps):
            if self.progress:
                self.progress("generate", i, len(steps))
            step()
        plan.extend(self)  # the plan's indicators' sources (issue 16)
        if self.progress:
            self.progress("generate", len(steps), len(steps))
        return {t: self.data[t] for t in S.COLUMNS}

    def districts(self) -> None:
        rows = [(N.CITY[0], N.CITY[1], None)]
        rows += [(c, n, N.CITY[0]) for c, n in sorted(N.DISTRICTS)]
        self.data["hub.districts"] = rows


def generate(scale: str = "small", seed: int = 42, progress: Progress | None = None) -> dict[str, list[tuple]]:
    """Every table's rows (tuples in the order of ``COLUMNS[table]``); a pure function of scale and seed."""
    return Generator(scale, seed, progress).run()
